package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// A blob written in two tries (the first interrupted) is whole once committed;
// content that does not match its name is refused and not kept.
func TestResumeCommitAndRefuse(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("starlane"), 10000)
	h := hashOf(data)
	w, err := s.Append(h, 0, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data[:1000])
	w.Close()
	if _, ok := s.Size(h); ok {
		t.Fatal("a partial blob counts as stored")
	}
	if got := s.Partial(h); got != 1000 {
		t.Fatalf("partial = %d, want 1000", got)
	}
	w, err = s.Append(h, 1000, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[1000:]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("wrote past the limit")
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	r, size, err := s.Open(h, 40)
	if err != nil || size != int64(len(data)) {
		t.Fatalf("open: %v, size %d", err, size)
	}
	rest, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(rest, data[40:]) {
		t.Fatal("read from an offset returned other bytes")
	}

	wrong := hashOf([]byte("something else"))
	w, _ = s.Append(wrong, 0, 100)
	w.Write([]byte("not it"))
	if err := w.Commit(); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("commit of mismatched content: %v", err)
	}
	if _, ok := s.Size(wrong); ok || s.Partial(wrong) != 0 {
		t.Fatal("mismatched content was kept")
	}
	if _, err := s.Append("../escape", 0, 10); err == nil {
		t.Fatal("a name that is not a hash was accepted")
	}
	list, _ := s.List()
	if len(list) != 1 || list[0] != h {
		t.Fatalf("list = %v", list)
	}
	if err := s.Delete(h); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Size(h); ok {
		t.Fatal("deleted blob still there")
	}
}

// A blob changed on disk is read through OpenChecked up to, never including,
// its last bytes: the read that would return them says ErrHashMismatch, from
// any offset, and Quarantine moves it out of the store without deleting it. An
// intact blob reads whole.
func TestCheckedReadWithholdsTheEndOfADamagedBlob(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 300000) // 4.8 MB, several chunks
	h, err := s.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	read := func(offset int64) ([]byte, error) {
		r, _, err := s.OpenChecked(h, offset)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		var got []byte
		buf := make([]byte, 1<<20)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				return got, nil
			}
			if err != nil {
				return got, err
			}
		}
	}
	if got, err := read(0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("intact blob: %d bytes, %v", len(got), err)
	}

	bad := append([]byte(nil), data...)
	bad[2000000] ^= 0xff
	if err := os.WriteFile(filepath.Join(s.dir, h), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 3000000, int64(len(data))} {
		got, err := read(off)
		if !errors.Is(err, ErrHashMismatch) {
			t.Fatalf("damaged blob from %d: %v; want a hash mismatch", off, err)
		}
		if off+int64(len(got)) >= int64(len(data)) && off < int64(len(data)) {
			t.Fatalf("damaged blob from %d: its last bytes were returned", off)
		}
	}
	r, _, err := s.OpenChecked(h, int64(len(data)))
	if !errors.Is(err, ErrHashMismatch) {
		t.Fatal(err)
	}
	moved, err := r.Quarantine(time.Unix(1, 0))
	r.Close()
	if err != nil || moved == "" {
		t.Fatalf("quarantine: %q, %v", moved, err)
	}
	if kept, _ := os.ReadFile(moved); !bytes.Equal(kept, bad) {
		t.Fatal("the quarantined file is not the damaged blob")
	}
	if _, ok := s.Size(h); ok {
		t.Fatal("the damaged blob is still in the store")
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Fatalf("list = %v", list)
	}
}
