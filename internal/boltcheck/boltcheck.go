// Package boltcheck checks the structure of a bbolt file before bbolt opens it.
//
// bbolt trusts its file: a corrupt page makes it panic with an assertion, often in
// a goroutine of its own where no recover can catch it (opening a store written
// with NoFreelistSync walks every page that way), and a truncated file or a page
// number past the end makes it read outside its memory map, which kills the process
// with a fault. Check reads the file with ordinary, bounds-checked reads and walks
// the same structure bbolt would — both meta pages, the bucket trees, inline
// buckets, overflow pages — so that a corrupt file is an error the caller can act
// on (quarantine it, refuse to start with a clear message) instead of a crash loop.
package boltcheck

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"
)

// ErrCorrupt is wrapped by every error Check returns for a file whose content is
// not a consistent bbolt database.
var ErrCorrupt = errors.New("corrupt")

// ErrBudget means the check ran out of time before it finished; the part it read
// was consistent.
var ErrBudget = errors.New("consistency check ran out of time")

// bbolt's on-disk layout (go.etcd.io/bbolt, file format version 2, little endian
// on every platform Starlane builds for).
const (
	magic          = 0xED0CDAED
	version        = 2
	pageHeaderSize = 16
	metaSize       = 64 // magic, version, page size, flags, root (pgid, seq), freelist, pgid, txid, checksum
	elemSize       = 16 // branch and leaf page elements are both 16 bytes
	bucketHdrSize  = 16
	flagBranch     = 0x01
	flagLeaf       = 0x02
	flagMeta       = 0x04
	flagFreelist   = 0x10
	leafBucket     = 0x01
	noFreelist     = ^uint64(0)
	maxPageSize    = 1 << 16
)

type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64
	txid     uint64
}

type checker struct {
	f        io.ReaderAt
	size     int64
	pageSize int64
	hwm      uint64
	seen     map[uint64]bool
	deadline time.Time
	pages    int
}

// Check verifies the bbolt file at path: two valid meta pages, a file long
// enough for every page the newest valid meta counts, and bucket trees whose pages
// are in range, referenced once, of the right type, with elements inside their
// page and keys in order. It gives up with ErrBudget after budget (0: no limit).
// A missing file is not an error (bbolt creates it); an empty one is corrupt.
func Check(path string, budget time.Duration) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c := &checker{f: f, size: fi.Size(), seen: map[uint64]bool{}}
	if budget > 0 {
		c.deadline = time.Now().Add(budget)
	}
	return c.run()
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

func (c *checker) run() error {
	if c.size == 0 {
		return corrupt("the file is empty")
	}
	m0, err0 := c.readMeta(0, 0)
	ps := int64(os.Getpagesize())
	if err0 == nil {
		ps = int64(m0.pageSize)
	}
	m1, err1 := c.readMeta(ps, 1)
	if err0 != nil && err1 != nil && ps != 4096 {
		m1, err1 = c.readMeta(4096, 1)
	}
	// Both meta pages must be valid. bbolt would open a file with one damaged
	// meta page from the other, which is the transaction before: if the damaged
	// one was the newer, what the last transaction committed (and its caller was
	// told was durable) would silently be gone.
	switch {
	case err0 != nil && err1 != nil:
		return corrupt("both meta pages are invalid (page 0: %v; page 1: %v)", err0, err1)
	case err0 != nil:
		return corrupt("meta page 0 is invalid (%v): opening from page 1 would go back to the transaction before and lose what the last one committed", err0)
	case err1 != nil:
		return corrupt("meta page 1 is invalid (%v): opening from page 0 would go back to the transaction before and lose what the last one committed", err1)
	}
	m := m0
	if m1.txid > m0.txid {
		m = m1
	}
	c.pageSize, c.hwm = int64(m.pageSize), m.hwm
	if need := int64(m.hwm) * c.pageSize; c.size < need {
		return corrupt("the file is %d bytes, its meta page counts %d pages of %d bytes (%d bytes): it was truncated", c.size, m.hwm, c.pageSize, need)
	}
	c.seen[0], c.seen[1] = true, true
	if m.freelist != noFreelist {
		if err := c.checkFreelist(m.freelist); err != nil {
			return err
		}
	}
	return c.bucket(m.root, "root")
}

func (c *checker) readMeta(off int64, id uint64) (meta, error) {
	buf := make([]byte, pageHeaderSize+metaSize)
	if _, err := c.f.ReadAt(buf, off); err != nil {
		return meta{}, fmt.Errorf("unreadable: %v", err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(buf); got != id {
		return meta{}, fmt.Errorf("identifies as page %d", got)
	}
	if le.Uint16(buf[8:])&flagMeta == 0 {
		return meta{}, fmt.Errorf("not a meta page (flags %#x)", le.Uint16(buf[8:]))
	}
	b := buf[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(b[:56])
	if le.Uint32(b) != magic {
		return meta{}, errors.New("bad magic")
	}
	if v := le.Uint32(b[4:]); v != version {
		return meta{}, fmt.Errorf("version %d", v)
	}
	if h.Sum64() != le.Uint64(b[56:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	m := meta{pageSize: le.Uint32(b[8:]), root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]), hwm: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}
	if m.pageSize < 512 || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0 {
		return meta{}, fmt.Errorf("page size %d", m.pageSize)
	}
	if m.hwm < 3 || m.root < 2 || m.root >= m.hwm {
		return meta{}, fmt.Errorf("root page %d of %d pages", m.root, m.hwm)
	}
	return m, nil
}

// page reads page id with its overflow pages, checking its header.
func (c *checker) page(id uint64, want uint16, from string) ([]byte, error) {
	if !c.deadline.IsZero() && c.pages%64 == 0 && time.Now().After(c.deadline) {
		return nil, ErrBudget
	}
	c.pages++
	if id < 2 || id >= c.hwm {
		return nil, corrupt("%s points to page %d, outside 2..%d", from, id, c.hwm-1)
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := c.f.ReadAt(hdr, int64(id)*c.pageSize); err != nil {
		return nil, corrupt("page %d: %v", id, err)
	}
	le := binary.LittleEndian
	if got := le.Uint64(hdr); got != id {
		return nil, corrupt("page %d (from %s) identifies as page %d", id, from, got)
	}
	flags, overflow := le.Uint16(hdr[8:]), uint64(le.Uint32(hdr[12:]))
	if flags != flagBranch && flags != flagLeaf && flags != flagMeta && flags != flagFreelist || flags&want == 0 {
		return nil, corrupt("page %d (from %s) has flags %#x, want %#x", id, from, flags, want)
	}
	if id+overflow >= c.hwm {
		return nil, corrupt("page %d runs over %d pages past the last page %d", id, overflow, c.hwm-1)
	}
	for i := id; i <= id+overflow; i++ {
		if c.seen[i] {
			return nil, corrupt("page %d is referenced twice (again from %s)", i, from)
		}
		c.seen[i] = true
	}
	buf := make([]byte, int64(overflow+1)*c.pageSize)
	if _, err := c.f.ReadAt(buf, int64(id)*c.pageSize); err != nil {
		return nil, corrupt("page %d: %v", id, err)
	}
	return buf, nil
}

func (c *checker) checkFreelist(id uint64) error {
	buf, err := c.page(id, flagFreelist, "the meta page's freelist")
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	n, start := uint64(le.Uint16(buf[10:])), uint64(pageHeaderSize)
	if n == 0xFFFF {
		n, start = le.Uint64(buf[pageHeaderSize:]), pageHeaderSize+8
	}
	if start+8*n > uint64(len(buf)) {
		return corrupt("freelist page %d counts %d ids, more than it holds", id, n)
	}
	for i := uint64(0); i < n; i++ {
		if p := le.Uint64(buf[start+8*i:]); p < 2 || p >= c.hwm {
			return corrupt("freelist page %d lists page %d, outside 2..%d", id, p, c.hwm-1)
		}
	}
	return nil
}

// bucket walks the tree rooted at page root.
func (c *checker) bucket(root uint64, name string) error {
	buf, err := c.page(root, flagBranch|flagLeaf, "bucket "+name)
	if err != nil {
		return err
	}
	_, err = c.node(buf, root, name, nil, nil)
	return err
}

// node checks one branch or leaf page (buf holds it with its overflow; id is 0
// for an inline bucket's page) whose keys must lie in [lo, hi) (nil: unbounded),
// as bbolt's own check requires, and returns its subtree's largest key.
func (c *checker) node(buf []byte, id uint64, name string, lo, hi []byte) ([]byte, error) {
	le := binary.LittleEndian
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	where := fmt.Sprintf("page %d of bucket %s", id, name)
	if id == 0 {
		where = "inline bucket " + name
	}
	if flags != flagBranch && flags != flagLeaf {
		return nil, corrupt("%s has flags %#x, neither branch nor leaf", where, flags)
	}
	if pageHeaderSize+count*elemSize > len(buf) {
		return nil, corrupt("%s counts %d elements, more than fit", where, count)
	}
	var prev []byte
	for i := 0; i < count; i++ {
		eoff := pageHeaderSize + i*elemSize
		e := buf[eoff : eoff+elemSize]
		var key, val []byte
		var child uint64
		var eflags uint32
		switch {
		case flags&flagBranch != 0:
			pos, ksize := int(le.Uint32(e)), int(le.Uint32(e[4:]))
			child = le.Uint64(e[8:])
			if eoff+pos+ksize > len(buf) || pos < 0 || ksize < 0 {
				return nil, corrupt("%s: element %d's key lies outside the page", where, i)
			}
			key = buf[eoff+pos : eoff+pos+ksize]
		case flags&flagLeaf != 0:
			eflags = le.Uint32(e)
			pos, ksize, vsize := int(le.Uint32(e[4:])), int(le.Uint32(e[8:])), int(le.Uint32(e[12:]))
			if pos < 0 || ksize < 0 || vsize < 0 || eoff+pos+ksize+vsize > len(buf) {
				return nil, corrupt("%s: element %d's key or value lies outside the page", where, i)
			}
			key = buf[eoff+pos : eoff+pos+ksize]
			val = buf[eoff+pos+ksize : eoff+pos+ksize+vsize]
		default:
			return nil, corrupt("%s has flags %#x, neither branch nor leaf", where, flags)
		}
		if i > 0 && bytes.Compare(prev, key) >= 0 || i == 0 && lo != nil && bytes.Compare(lo, key) > 0 || hi != nil && bytes.Compare(key, hi) >= 0 {
			return nil, corrupt("%s: keys out of order at element %d", where, i)
		}
		prev = key
		if flags&flagBranch != 0 {
			cb, err := c.page(child, flagBranch|flagLeaf, where)
			if err != nil {
				return nil, err
			}
			next := hi
			if i+1 < count {
				ne := buf[eoff+elemSize:]
				npos, nks := int(le.Uint32(ne)), int(le.Uint32(ne[4:]))
				if npos < 0 || nks < 0 || eoff+elemSize+npos+nks > len(buf) {
					return nil, corrupt("%s: element %d's key lies outside the page", where, i+1)
				}
				next = buf[eoff+elemSize+npos : eoff+elemSize+npos+nks]
			}
			maxKey, err := c.node(cb, child, name, key, next)
			if err != nil {
				return nil, err
			}
			prev = maxKey
			continue
		}
		if eflags&leafBucket == 0 {
			continue
		}
		sub := name + "/" + printable(key)
		if len(val) < bucketHdrSize {
			return nil, corrupt("%s: bucket %s has a short header", where, sub)
		}
		if r := le.Uint64(val); r != 0 {
			if err := c.bucket(r, sub); err != nil {
				return nil, err
			}
			continue
		}
		inline := val[bucketHdrSize:]
		if len(inline) < pageHeaderSize || le.Uint16(inline[8:]) != flagLeaf {
			return nil, corrupt("%s: inline bucket %s has no leaf page", where, sub)
		}
		if _, err := c.node(inline, 0, sub, nil, nil); err != nil {
			return nil, err
		}
	}
	return prev, nil
}

func printable(b []byte) string {
	for _, x := range b {
		if x < 0x20 || x > 0x7e {
			return fmt.Sprintf("%x", b)
		}
	}
	return string(b)
}
