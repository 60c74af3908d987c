package shard

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCorruptStoreIsQuarantined damages a stopped shard's store where bbolt used
// to panic or fault (a page of the log, a meta page pair, a truncation) and checks
// that Open fails with ErrStoreCorrupt instead of crashing, moves the file aside
// with a timestamp (never deleting it), and that the next Open starts a new copy.
func TestCorruptStoreIsQuarantined(t *testing.T) {
	t.Parallel()
	damages := map[string]func(t *testing.T, path string){
		"log root page": func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var root uint64
			_ = db.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket(bucketLog).RootPage()); return nil })
			db.Close()
			overwrite(t, path, int64(root)*int64(os.Getpagesize()), 8192)
		},
		"both meta pages": func(t *testing.T, path string) {
			overwrite(t, path, 16, 48)
			overwrite(t, path, int64(os.Getpagesize())+16, 48)
		},
		"truncated": func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := testConfig(dir)
			cfg.CheckpointEvery = 50
			s := openStarted(t, cfg)
			if !waitFor(5*time.Second, func() bool { return s.Confirmed() >= 200 }) {
				t.Fatal("no ticks")
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "shard.db")
			damage(t, path)
			cfg.Now = func() time.Time { return time.Date(2026, 12, 6, 19, 30, 0, 0, time.UTC) }
			_, err := Open(cfg)
			if !errors.Is(err, ErrStoreCorrupt) {
				t.Fatalf("Open of a damaged store: %v, want ErrStoreCorrupt", err)
			}
			moved := path + ".corrupt-20261206T193000Z-standby" // opened without a primary term
			if !strings.Contains(err.Error(), moved) {
				t.Errorf("the error does not say where the file went: %v", err)
			}
			if _, err := os.Stat(moved); err != nil {
				t.Errorf("the damaged store was not kept: %v", err)
			}
			cfg.Now = nil
			s2, err := Open(cfg)
			if err != nil {
				t.Fatalf("Open after quarantine: %v", err)
			}
			defer s2.Stop()
			if s2.Executed() != 0 {
				t.Errorf("a new copy starts at tick 0, this one at %d", s2.Executed())
			}
		})
	}
}

// A store moved aside when it was opened as a term's primary holds back a fresh
// start of that same term (its history is on other copies, newer than the save
// the term began from), but not a later term's start from a save: a surface
// stopped and started again, or restored, on the node whose copy was once
// damaged.
func TestQuarantineHoldsBackOnlyItsOwnTerm(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Term, cfg.Fresh = 7, true
	s := openStarted(t, cfg)
	if !waitFor(5*time.Second, func() bool { return s.Confirmed() >= 100 }) {
		t.Fatal("no ticks")
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shard.db")
	overwrite(t, path, 16, 48)
	overwrite(t, path, int64(os.Getpagesize())+16, 48)
	if _, err := Open(cfg); !errors.Is(err, ErrStoreCorrupt) {
		t.Fatalf("Open of a damaged store: %v, want ErrStoreCorrupt", err)
	}
	if _, err := Open(cfg); !errors.Is(err, ErrNoState) {
		t.Fatalf("a fresh start of term 7 after its store was moved aside: %v, want ErrNoState", err)
	}
	cfg.Term = 9
	s2, err := Open(cfg)
	if err != nil {
		t.Fatalf("a fresh start of term 9 on the node whose term-7 copy was moved aside: %v", err)
	}
	s2.Stop()
	// A store moved aside without its term (the node's whole log was damaged)
	// holds back every fresh start, as before.
	if err := os.WriteFile(path+".corrupt-20261206T193000Z", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	cfg.Term = 11
	if _, err := Open(cfg); !errors.Is(err, ErrNoState) {
		t.Fatalf("a fresh start beside a store moved aside with no term: %v, want ErrNoState", err)
	}
}

// A damaged page met while running (not on open) is an error from the store,
// not a panic that takes the node down.
func TestStorePanicIsAnError(t *testing.T) {
	t.Parallel()
	st, err := OpenStore(filepath.Join(t.TempDir(), "shard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.view(func(*bolt.Tx) error { panic("assertion failed: Page expected to be: 65") })
	if !errors.Is(err, ErrStoreCorrupt) {
		t.Fatalf("a panic in a transaction gave %v", err)
	}
	if _, err := st.Term(); err != nil {
		t.Fatalf("the store is usable after a recovered panic: %v", err)
	}
}

func overwrite(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(binary.LittleEndian.Uint32([]byte{byte(i), byte(i >> 8), 0x5a, 0xa5}) * 2654435761 >> 24)
	}
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedStoreCreationIsNotCorrupt: a node killed while a new surface's
// store was being created leaves at most a half-made file beside shard.db, never
// an empty shard.db that the next start would take for a damaged store and move
// aside (TestKillDuringGroupCommit hit it when a kill landed while the last of its
// shards was still opening).
func TestInterruptedStoreCreationIsNotCorrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "shard.db")
	// What a creation killed before bbolt wrote its first pages leaves.
	if err := os.WriteFile(path+".new", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(testConfig(dir))
	if err != nil {
		t.Fatalf("Open after an interrupted creation: %v", err)
	}
	defer s.Stop()
	if _, err := os.Stat(path + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the half-made file is still there: %v", err)
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 0 {
		t.Errorf("a store was moved aside: %v", m)
	}
}
