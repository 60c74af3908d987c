package blobstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
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
