package boltcheck

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// When BOLTCHECK_OPEN names a file, the test binary opens it with bbolt and reads
// every key instead of running tests: a crash there is what Check must prevent.
func TestMain(m *testing.M) {
	if p := os.Getenv("BOLTCHECK_OPEN"); p != "" {
		if err := openAndRead(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func options() *bolt.Options {
	return &bolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType}
}

func openAndRead(p string) error {
	db, err := bolt.Open(p, 0o600, options())
	if err != nil {
		return err // an error is fine: no crash
	}
	defer db.Close()
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(b.Bucket(k))
			}
			_ = bytes.Clone(v)
			return nil
		})
	}
	return db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
}

// sample writes a store shaped like a shard's: a log of small records, two large
// checkpoints (overflow pages), a small inline bucket and a nested one, over
// several transactions.
func sample(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "s.db")
	db, err := bolt.Open(p, 0o600, options())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	for tx := 0; tx < 20; tx++ {
		err := db.Update(func(tx2 *bolt.Tx) error {
			lb, _ := tx2.CreateBucketIfNotExists([]byte("log"))
			cb, _ := tx2.CreateBucketIfNotExists([]byte("checkpoints"))
			mb, _ := tx2.CreateBucketIfNotExists([]byte("meta"))
			nb, _ := mb.CreateBucketIfNotExists([]byte("nested"))
			for i := 0; i < 100; i++ {
				v := make([]byte, 60+r.IntN(80))
				for j := range v {
					v[j] = byte(r.Uint32())
				}
				if err := lb.Put(fmt.Appendf(nil, "%08d", tx*100+i), v); err != nil {
					return err
				}
			}
			if tx%7 == 0 {
				big := bytes.Repeat([]byte{byte(tx)}, 40_000)
				if err := cb.Put(fmt.Appendf(nil, "%08d", tx), big); err != nil {
					return err
				}
			}
			_ = nb.Put([]byte("k"), []byte{byte(tx)})
			return mb.Put([]byte("format"), []byte{1})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestCheckAcceptsAGoodStore(t *testing.T) {
	p := sample(t, t.TempDir())
	if err := Check(p, 10*time.Second); err != nil {
		t.Fatalf("a good store: %v", err)
	}
	if err := Check(filepath.Join(t.TempDir(), "missing.db"), 0); err != nil {
		t.Fatalf("a missing file: %v", err)
	}
}

// TestCheckGuardsBbolt damages a store in many ways — 8 KiB of random bytes, 4-byte
// overwrites at random offsets, each meta page, truncation, an empty file — and
// requires, for each, that Check reports it corrupt or that bbolt opens and reads
// it without crashing (in a child process, since a bbolt crash kills its process).
func TestCheckGuardsBbolt(t *testing.T) {
	dir := t.TempDir()
	path := sample(t, dir)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := 4096
	// used is the part of the file bbolt's meta counts; logRoot the log bucket's root.
	var used, logRoot int
	db, err := bolt.Open(path, 0o600, options())
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		used, logRoot = int(tx.Size()), int(tx.Bucket([]byte("log")).RootPage())
		return nil
	})
	db.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("damage seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	type damage struct {
		name       string
		mustDetect bool
		apply      func([]byte) []byte
	}
	overwrite := func(off, n int) func([]byte) []byte {
		return func(b []byte) []byte {
			for i := off; i < off+n && i < len(b); i++ {
				b[i] = byte(r.Uint32())
			}
			return b
		}
	}
	cases := []damage{
		{"8KiB in the middle", false, overwrite(used/2/ps*ps, 8192)},
		{"the log bucket's root page", true, overwrite(logRoot*ps, 64)},
		{"meta page 0", true, overwrite(16, 48)},
		{"meta page 1", true, overwrite(ps+16, 48)},
		{"both meta pages", true, func(b []byte) []byte { overwrite(16, 48)(b); return overwrite(ps+16, 48)(b) }},
		{"truncated to half", true, func(b []byte) []byte { return b[:used/2] }},
		{"truncated mid-page", true, func(b []byte) []byte { return b[:used-ps*3-100] }},
		{"empty", true, func(b []byte) []byte { return b[:0] }},
	}
	for i := 0; i < 60; i++ {
		off := 2*ps + r.IntN(used-2*ps-4)
		cases = append(cases, damage{fmt.Sprintf("4 bytes at %d", off), false, overwrite(off, 4)})
	}
	for i := 0; i < 40; i++ {
		// Page headers: the id, flags, count and overflow bbolt trusts most.
		off := (2+r.IntN(used/ps-2))*ps + r.IntN(16)
		cases = append(cases, damage{fmt.Sprintf("page header byte at %d", off), false, overwrite(off, 1)})
	}
	detected := 0
	for _, d := range cases {
		p := filepath.Join(dir, "damaged.db")
		if err := os.WriteFile(p, d.apply(bytes.Clone(orig)), 0o600); err != nil {
			t.Fatal(err)
		}
		err := Check(p, 10*time.Second)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: %v does not wrap ErrCorrupt", d.name, err)
			}
			detected++
			continue
		}
		if d.mustDetect {
			t.Errorf("%s: not detected", d.name)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "BOLTCHECK_OPEN="+p)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 3 || err != nil && !ok {
			t.Errorf("%s: Check passed but bbolt crashed on the file: %v\n%.600s", d.name, err, out)
		}
	}
	t.Logf("%d of %d damaged stores reported corrupt; bbolt opened the rest without crashing", detected, len(cases))
}
