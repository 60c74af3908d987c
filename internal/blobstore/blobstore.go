// Package blobstore keeps content-addressed files (saves, prototype bundles) in
// a directory, named by their sha256. A blob is written to a partial file that
// survives restarts (so a transfer resumes where it stopped), checked against
// its hash, synced and renamed into place: a blob in the store is always whole
// and correct.
package blobstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrHashMismatch is returned when written content does not match its name.
var ErrHashMismatch = errors.New("content does not match its sha256")

// Store is a directory of blobs.
type Store struct {
	dir string
}

// Open opens (creating) the store in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// ValidHash reports whether h is a sha256 in lowercase hex.
func ValidHash(h string) bool {
	return len(h) == 64 && strings.Trim(h, "0123456789abcdef") == ""
}

func (s *Store) path(h string) string { return filepath.Join(s.dir, h) }
func (s *Store) part(h string) string { return filepath.Join(s.dir, h+".part") }

// Size returns the size of blob h and whether the store holds it.
func (s *Store) Size(h string) (int64, bool) {
	if !ValidHash(h) {
		return 0, false
	}
	st, err := os.Stat(s.path(h))
	if err != nil {
		return 0, false
	}
	return st.Size(), true
}

// Open opens blob h for reading from offset.
func (s *Store) Open(h string, offset int64) (io.ReadCloser, int64, error) {
	f, size, err := s.openFile(h, offset)
	if err != nil {
		return nil, 0, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// openFile opens blob h's file at its start and returns it with its size,
// refusing an offset outside it.
func (s *Store) openFile(h string, offset int64) (*os.File, int64, error) {
	if !ValidHash(h) {
		return nil, 0, fs.ErrNotExist
	}
	f, err := os.Open(s.path(h))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if offset < 0 || offset > st.Size() {
		f.Close()
		return nil, 0, fmt.Errorf("offset %d is outside blob %s of %d bytes", offset, h[:12], st.Size())
	}
	return f, st.Size(), nil
}

// ReadAll returns the content of blob h.
func (s *Store) ReadAll(h string) ([]byte, error) {
	if !ValidHash(h) {
		return nil, fs.ErrNotExist
	}
	return os.ReadFile(s.path(h))
}

// Partial returns how many bytes of blob h a previous, interrupted transfer
// left (0 when none).
func (s *Store) Partial(h string) int64 {
	if !ValidHash(h) {
		return 0
	}
	st, err := os.Stat(s.part(h))
	if err != nil {
		return 0
	}
	return st.Size()
}

// A Writer appends to a partial blob; Commit checks and stores it.
type Writer struct {
	s    *Store
	h    string
	f    *os.File
	max  int64
	size int64
}

// Append opens blob h's partial file to append from offset (which must be what
// Partial returned, or 0 to start over), accepting at most max bytes in all.
func (s *Store) Append(h string, offset, max int64) (*Writer, error) {
	if !ValidHash(h) {
		return nil, fmt.Errorf("%q is not a sha256", h)
	}
	flags := os.O_CREATE | os.O_WRONLY
	if offset == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(s.part(h), flags, 0o600)
	if err != nil {
		return nil, err
	}
	if offset > 0 {
		st, err := f.Stat()
		if err != nil || st.Size() < offset {
			f.Close()
			return nil, fmt.Errorf("blob %s: cannot resume at %d", h[:12], offset)
		}
		if err := f.Truncate(offset); err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &Writer{s: s, h: h, f: f, max: max, size: offset}, nil
}

// Write appends p.
func (w *Writer) Write(p []byte) (int, error) {
	if w.size+int64(len(p)) > w.max {
		return 0, fmt.Errorf("blob %s is over the %d byte limit", w.h[:12], w.max)
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// Size is how many bytes the partial blob holds.
func (w *Writer) Size() int64 { return w.size }

// Close closes the partial file, keeping it for a later resume.
func (w *Writer) Close() error { return w.f.Close() }

// Discard closes and deletes the partial file: what it holds came from a copy
// known damaged, so resuming it elsewhere would only fail the hash check.
func (w *Writer) Discard() {
	w.f.Close()
	os.Remove(w.s.part(w.h))
}

// Commit checks the partial blob against its hash, syncs it and moves it into
// place. A mismatch deletes the partial file: resuming it cannot help.
func (w *Writer) Commit() error {
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		w.f.Close()
		return err
	}
	sum := sha256.New()
	r, err := os.Open(w.s.part(w.h))
	if err != nil {
		w.f.Close()
		return err
	}
	_, err = io.Copy(sum, r)
	r.Close()
	w.f.Close()
	if err != nil {
		return err
	}
	if hex.EncodeToString(sum.Sum(nil)) != w.h {
		os.Remove(w.s.part(w.h))
		return fmt.Errorf("blob %s: %w", w.h[:12], ErrHashMismatch)
	}
	if err := os.Rename(w.s.part(w.h), w.s.path(w.h)); err != nil {
		return err
	}
	return syncDir(w.s.dir)
}

// Put stores data under its own hash and returns the hash.
func (s *Store) Put(data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	if _, ok := s.Size(h); ok {
		return h, nil
	}
	w, err := s.Append(h, 0, int64(len(data)))
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return "", err
	}
	return h, w.Commit()
}

// Delete removes blob h (and any partial transfer of it).
func (s *Store) Delete(h string) error {
	if !ValidHash(h) {
		return nil
	}
	os.Remove(s.part(h))
	if err := os.Remove(s.path(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// List returns the hashes of the whole blobs, sorted.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if ValidHash(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
