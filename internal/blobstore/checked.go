package blobstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// quarantineDir is where damaged blobs are moved, inside the store's directory.
// They are kept (never deleted) for an operator to look at.
const quarantineDir = "quarantine"

// A Checked reads a blob from an offset while hashing all of it: the bytes
// before the offset are hashed when it is opened, and the read that would
// return the blob's last bytes checks the hash first and returns
// ErrHashMismatch instead of them when it does not match. So a reader that
// passes every byte on has never passed on the whole of a damaged blob, and
// memory stays at one read buffer whatever the blob's size.
type Checked struct {
	s    *Store
	h    string
	f    *os.File
	sum  hash.Hash
	pos  int64
	size int64
}

// OpenChecked opens blob h for reading from offset, checking its hash as it is
// read (see Checked). A blob already known damaged at open (its hash checked
// up to offset == size) returns ErrHashMismatch with the reader, so the caller
// can Quarantine it.
func (s *Store) OpenChecked(h string, offset int64) (*Checked, int64, error) {
	f, size, err := s.openFile(h, offset)
	if err != nil {
		return nil, 0, err
	}
	c := &Checked{s: s, h: h, f: f, sum: sha256.New(), size: size}
	if _, err := io.CopyN(c.sum, f, offset); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("read blob %s: %w", h[:12], err)
	}
	c.pos = offset
	if c.pos == c.size && !c.matches() {
		return c, c.size, fmt.Errorf("blob %s: %w", h[:12], ErrHashMismatch)
	}
	return c, c.size, nil
}

func (c *Checked) matches() bool { return hex.EncodeToString(c.sum.Sum(nil)) == c.h }

// Read reads the next bytes of the blob; see Checked.
func (c *Checked) Read(p []byte) (int, error) {
	if c.pos >= c.size {
		return 0, io.EOF
	}
	if rest := c.size - c.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := io.ReadFull(c.f, p)
	c.sum.Write(p[:n])
	c.pos += int64(n)
	if err != nil {
		// The file shrank under the reader: it is not the blob it was.
		return 0, fmt.Errorf("blob %s ends after %d of its %d bytes: %w", c.h[:12], c.pos, c.size, ErrHashMismatch)
	}
	if c.pos == c.size && !c.matches() {
		return 0, fmt.Errorf("blob %s: %w", c.h[:12], ErrHashMismatch)
	}
	return n, nil
}

// Close closes the blob.
func (c *Checked) Close() error { return c.f.Close() }

// Quarantine moves the damaged blob this reader read out of the store (into
// its quarantine directory, named after the hash and the time) and returns
// where it went. It moves the file only if it is still the one this reader
// opened, so a good copy fetched meanwhile stays.
func (c *Checked) Quarantine(now time.Time) (string, error) {
	opened, err := c.f.Stat()
	if err != nil {
		return "", err
	}
	cur, err := os.Stat(c.s.path(c.h))
	if err != nil || !os.SameFile(opened, cur) {
		return "", nil
	}
	dir := filepath.Join(c.s.dir, quarantineDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	to := filepath.Join(dir, c.h+"."+now.UTC().Format("20060102T150405.000000000Z"))
	if err := os.Rename(c.s.path(c.h), to); err != nil {
		return "", err
	}
	return to, syncDir(c.s.dir)
}

// Damaged reports whether err says that a controller's copy of a blob does not
// match its hash (it answered codes.DataLoss), or that content fetched did not:
// another controller's copy may be good, and resuming this one cannot help.
func Damaged(err error) bool {
	return status.Code(err) == codes.DataLoss || errors.Is(err, ErrHashMismatch)
}

// Elsewhere reports whether a failed fetch of a blob from one controller is
// worth trying on another: that one does not hold it (yet), or its copy is
// damaged.
func Elsewhere(err error) bool {
	return status.Code(err) == codes.NotFound || Damaged(err)
}
