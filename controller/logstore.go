package controller

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/migrate"
	"go.etcd.io/bbolt"
)

// The Raft log and stable store is hashicorp/raft-wal in DATA_DIR/raft-wal:
// append-only segment files (one pwrite + one fdatasync per append) and a small
// bbolt file (wal-meta.db) for the segment list and Raft's term and vote. Versions
// before it kept both in DATA_DIR/raft.db (raft-boltdb, one bbolt commit — two
// fdatasyncs — per append); such a data dir is migrated on start (migrateBoltLog).
const (
	walDirName    = "raft-wal"
	boltLogName   = "raft.db"
	walLockName   = "raft-wal.lock"
	walSegmentMiB = 1
)

// logStore is what Raft needs from the log and stable store.
type logStore interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// HasRaftState reports whether dataDir already holds a controller's Raft log, in
// either layout (a bootstrapping controller then joins the cluster it had).
func HasRaftState(dataDir string) bool {
	for _, name := range []string{walDirName, boltLogName} {
		if _, err := os.Stat(filepath.Join(dataDir, name)); err == nil {
			return true
		}
	}
	return false
}

// walStore is a raft-wal WAL that surely closes its meta file: raft-wal v0.4.0's
// Close left wal-meta.db open (and bbolt's file lock held), so a controller
// restarted in the same process waited on it forever; closing twice is harmless.
// v0.4.1 is required: v0.4.0 marked the tail segment sealed on a tail truncation
// (a follower dropping a conflicting suffix) without writing its index, and such
// a log could not be read after a restart ("sealed segment has no index block").
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

func (w *walStore) Close() error {
	return errors.Join(w.WAL.Close(), w.meta.Close())
}

// openWALDir opens (or creates) the WAL in dir with the controller's settings.
func openWALDir(dir string, hl hclog.Logger) (*walStore, error) {
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithLogger(hl.Named("wal")), wal.WithSegmentSize(walSegmentMiB<<20), wal.WithMetaStore(meta))
	if err != nil {
		meta.Close()
		return nil, err
	}
	return &walStore{WAL: w, meta: meta}, nil
}

// lockDataDir takes an exclusive lock on the data dir's Raft storage, so that a
// second controller on the same dir fails at once (bbolt inside raft-wal would
// wait forever for its file lock).
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, walLockName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another controller (lock %s: %v); stop it or use another --data-dir", dir, path, err)
	}
	return f, nil
}

// openWAL checks the WAL's files (meta structure, every segment's commits) and
// opens it. A damaged WAL is a *StorageError.
func (c *Controller) openWAL(dir string, hl hclog.Logger) (*walStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	meta := filepath.Join(dir, metadb.FileName)
	if _, err := os.Stat(meta); err == nil {
		if err := c.checkStoreFile(meta); err != nil {
			return nil, err
		}
	}
	if err := checkSegments(dir); err != nil {
		return nil, &StorageError{ID: c.id, File: dir, Err: fmt.Errorf("%w: %w", ErrStorage, err)}
	}
	w, err := openWALDir(dir, hl)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), syscall.ENOSPC.Error()) {
			// Not damage: nothing was lost, and rebuilding would not help.
			return nil, fmt.Errorf("disk full: the Raft log in %s cannot be opened (%v); free space in the controller's data dir (a log segment takes %d MiB) and start it again", dir, err, walSegmentMiB)
		}
		return nil, &StorageError{ID: c.id, File: dir, Err: fmt.Errorf("%w: %v", ErrStorage, err)}
	}
	return w, nil
}

// migrateBoltLog copies a raft.db made by an earlier version (raft-boltdb) into a
// new WAL, checking it first exactly as those versions did. The copy is built
// under a temporary name and renamed into place only when complete, so a crash
// during the migration just repeats it; raft.db is then renamed to
// raft.db.migrated-TIME and kept (never deleted).
func (c *Controller) migrateBoltLog(hl hclog.Logger) error {
	old := filepath.Join(c.cfg.DataDir, boltLogName)
	dst := filepath.Join(c.cfg.DataDir, walDirName)
	if _, err := os.Stat(dst); err == nil {
		// A migration finished but stopped before moving raft.db aside.
		return c.retireBoltLog(old)
	}
	if err := c.checkStoreFile(old); err != nil {
		return err
	}
	src, err := raftboltdb.New(raftboltdb.Options{Path: old, BoltOptions: boltOptions()})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return fmt.Errorf("open raft store %s: %w (is another controller using this data dir?)", old, err)
		}
		return &StorageError{ID: c.id, File: old, Err: fmt.Errorf("%w: %v", ErrStorage, err)}
	}
	defer src.Close()
	if err := c.verifyLog(src, old); err != nil {
		return err
	}
	tmp := dst + ".migrating"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("migrate %s: %w", old, err)
	}
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return fmt.Errorf("migrate %s: %w", old, err)
	}
	w, err := openWALDir(tmp, hl)
	if err != nil {
		return fmt.Errorf("migrate %s: create the new log: %w", old, err)
	}
	first, _ := src.FirstIndex()
	last, _ := src.LastIndex()
	c.log.Info("migrating the Raft log from raft.db (raft-boltdb) to raft-wal", "file", old, "first", first, "last", last)
	ctx := context.Background()
	err = migrate.CopyLogs(ctx, w, src, 4<<20, nil)
	if err == nil {
		err = migrate.CopyStable(ctx, w, src, nil, nil, nil)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("migrate %s to %s: %w; the old file is unchanged, so starting the previous version still works", old, dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("migrate %s: %w", old, err)
	}
	if err := syncDir(c.cfg.DataDir); err != nil {
		return fmt.Errorf("migrate %s: %w", old, err)
	}
	src.Close()
	return c.retireBoltLog(old)
}

// retireBoltLog moves a migrated raft.db aside, keeping it.
func (c *Controller) retireBoltLog(old string) error {
	to := old + ".migrated-" + c.now().UTC().Format("20060102T150405Z")
	if err := os.Rename(old, to); err != nil {
		return fmt.Errorf("move the migrated %s aside: %w", old, err)
	}
	c.log.Warn("the Raft log now lives in raft-wal/; the old raft.db is kept and no longer used: delete it once the cluster is healthy "+
		"(an older starlane version cannot read raft-wal/, so downgrading means restoring a backup)", "kept", to)
	return syncDir(c.cfg.DataDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Segment file layout of raft-wal v0.4 (segment/format.go there): a 32-byte
// header (magic, version), then 8-byte-aligned frames of an 8-byte header (type,
// three zero bytes, length or CRC) and a padded payload. A commit frame carries the
// CRC-32C of everything written since the previous commit frame (from the start of
// the file for the first one).
const (
	segHeaderLen   = 32
	segMagic       = 0x58eb6b0d
	frameHdrLen    = 8
	frameEntry     = 1
	frameIndex     = 2
	frameCommit    = 3
	segmentFileExt = ".wal"
)

// checkSegments verifies every segment file of a WAL before raft-wal opens it.
// raft-wal assumes committed data never changes: when it reopens the tail
// segment it stops reading at the first frame that does not parse and drops a
// final commit whose CRC does not match, both as if the last write had been torn
// by a crash. A damaged byte in committed data would so silently drop
// acknowledged entries (and a member that lost them could still vote). This
// check tells the two apart: every commit's CRC must match, nothing that looks
// like a commit frame may follow the last good one, and the file must still
// have its preallocated size. A crash can only tear the last batch, which has
// no commit frame yet, so it passes; a torn batch whose commit frame reached the
// disk while an earlier sector did not is refused (safe, and rare), and then
// needs --rebuild-from-peers like any damage. A torn sector is either as it was
// (zeros: segments are preallocated) or as written, so a garbled frame header
// is damage too.
func checkSegments(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), segmentFileExt) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkSegment(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("segment %s: %w", name, err)
		}
	}
	return nil
}

func checkSegment(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) < walSegmentMiB<<20 {
		return fmt.Errorf("the file is %d bytes, shorter than its preallocated %d (truncated)", len(b), walSegmentMiB<<20)
	}
	if binary.LittleEndian.Uint64(b[0:8]) != segMagic || b[7] != 0 {
		return errors.New("bad file header")
	}
	off, crcStart, lastCommitEnd := segHeaderLen, 0, segHeaderLen
	for off+frameHdrLen <= len(b) {
		typ, n := b[off], int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		if binary.LittleEndian.Uint64(b[off:off+frameHdrLen]) == 0 {
			break // the end of the written data
		}
		if b[off+1] != 0 || b[off+2] != 0 || b[off+3] != 0 || typ > frameCommit || typ == 0 {
			// A torn write leaves a sector as it was (zeros: the file is
			// preallocated) or as written, never a garbled frame header.
			return fmt.Errorf("the frame header at offset %d is garbled", off)
		}
		if typ == frameCommit {
			if got := crc32.Checksum(b[crcStart:off], castagnoli); got != uint32(n) {
				return fmt.Errorf("the commit at offset %d does not match its checksum (stored %08x, content %08x)", off, uint32(n), got)
			}
			off += frameHdrLen
			crcStart, lastCommitEnd = off, off
			continue
		}
		next := off + frameHdrLen + n + (frameHdrLen-n%frameHdrLen)&(frameHdrLen-1)
		if next > len(b) {
			// A torn write leaves old (zero) or new sectors, never a frame
			// that claims more than the file holds.
			return fmt.Errorf("the frame at offset %d claims %d bytes, past the end of the file", off, n)
		}
		off = next
	}
	// Anything that looks like a commit frame (followed by the end of the data
	// or by another frame) past the last readable commit was committed and
	// cannot be read back.
	for at := lastCommitEnd; at+2*frameHdrLen <= len(b); at += frameHdrLen {
		if !isFrameHeader(b[at:], frameCommit) {
			continue
		}
		if after := b[at+frameHdrLen : at+2*frameHdrLen]; binary.LittleEndian.Uint64(after) == 0 || isFrameHeader(after, frameEntry) || isFrameHeader(after, frameIndex) {
			return fmt.Errorf("committed data after offset %d cannot be read (a commit frame follows at %d)", lastCommitEnd, at)
		}
	}
	return nil
}

func isFrameHeader(b []byte, typ byte) bool {
	return b[0] == typ && b[1] == 0 && b[2] == 0 && b[3] == 0
}
