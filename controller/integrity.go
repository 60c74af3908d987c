package controller

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/boltcheck"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// A controller never applies a log entry it cannot trust, and never starts from a
// log it cannot read: a skipped committed entry would make this member's state
// differ from its peers' (and it could win an election). See DESIGN.md,
// "Damaged storage".

// extTag starts raft.Log.Extensions of every command this version proposes; a
// CRC-32C of the command follows. bbolt has no checksums of its own, so without
// it a few flipped bytes inside a value decode as a different, valid command.
var extTag = []byte("slc1")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// commandExtensions returns the Extensions a proposed command carries.
func commandExtensions(data []byte) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), extTag...), crc32.Checksum(data, castagnoli))
}

// verifyCommand checks a command log entry: its checksum (entries written by
// versions before the checksum have none) and that it decodes.
func verifyCommand(data, ext []byte) (*pb.Command, error) {
	if len(ext) == len(extTag)+4 && string(ext[:len(extTag)]) == string(extTag) {
		if want, got := binary.BigEndian.Uint32(ext[len(extTag):]), crc32.Checksum(data, castagnoli); want != got {
			return nil, fmt.Errorf("checksum mismatch (stored %08x, content %08x)", want, got)
		}
	}
	var cmd pb.Command
	if err := proto.Unmarshal(data, &cmd); err != nil {
		return nil, fmt.Errorf("undecodable: %v", err)
	}
	return &cmd, nil
}

// checkBudget bounds the structure check of raft.db at start.
const checkBudget = 30 * time.Second

// StorageError is a controller's Raft storage that cannot be used: a damaged
// raft.db, or a committed entry that does not verify. Its message names the file
// and says how to recover.
type StorageError struct {
	ID    string
	File  string
	Index uint64 // the entry, if one entry is at fault
	Err   error
}

func (e *StorageError) Error() string {
	what := "cannot be read"
	if e.Index != 0 {
		what = fmt.Sprintf("holds a committed entry at index %d that cannot be applied", e.Index)
	}
	return fmt.Sprintf("controller %s: the Raft log %s %s: %v. This controller does not serve from it. "+
		"To recover, if it is one of several controllers, rebuild it from its peers: start it again with the same flags plus "+
		"--rebuild-from-peers --join PEER_API_ADDR and an admin operator token in STARLANE_TOKEN (the damaged files are moved aside, never deleted, and it rejoins as a new member "+
		"and copies the state from the others). If it was the only controller, keep this data dir for inspection and restore your last backup "+
		"(`starlane cluster snapshot restore FILE --yes`) into a new controller in another data dir.",
		e.ID, e.File, what, e.Err)
}

func (e *StorageError) Unwrap() error { return e.Err }

// ErrStorage is wrapped by every StorageError, for errors.Is.
var ErrStorage = errors.New("damaged")

// checkStoreFile runs the structure check on a bbolt file (an unmigrated
// raft.db, the WAL's wal-meta.db) before bbolt opens it.
func (c *Controller) checkStoreFile(path string) error {
	err := boltcheck.Check(path, checkBudget)
	switch {
	case errors.Is(err, boltcheck.ErrBudget):
		c.log.Warn("bbolt structure check cut short; opening the file unchecked", "file", path, "budget", checkBudget)
		return nil
	case err != nil:
		return &StorageError{ID: c.id, File: path, Err: fmt.Errorf("%w: %w", ErrStorage, err)}
	}
	return nil
}

// verifyLog reads every entry of the opened log and checks each command; a bbolt
// panic or fault while reading is a damaged file, not a crash.
func (c *Controller) verifyLog(store interface {
	raft.LogStore
	raft.StableStore
}, path string) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = &StorageError{ID: c.id, File: path, Err: fmt.Errorf("%w: reading it: %v", ErrStorage, r)}
		}
	}()
	first, err := store.FirstIndex()
	if err != nil {
		return &StorageError{ID: c.id, File: path, Err: fmt.Errorf("%w: %v", ErrStorage, err)}
	}
	last, err := store.LastIndex()
	if err != nil {
		return &StorageError{ID: c.id, File: path, Err: fmt.Errorf("%w: %v", ErrStorage, err)}
	}
	if _, err := store.GetUint64([]byte("CurrentTerm")); err != nil && !errors.Is(err, raftboltdb.ErrKeyNotFound) {
		return &StorageError{ID: c.id, File: path, Err: fmt.Errorf("%w: the current term: %v", ErrStorage, err)}
	}
	start := time.Now()
	for i := first; i != 0 && i <= last; i++ {
		var l raft.Log
		if err := store.GetLog(i, &l); err != nil {
			return &StorageError{ID: c.id, File: path, Index: i, Err: fmt.Errorf("%w: %v", ErrStorage, err)}
		}
		if l.Index != i {
			return &StorageError{ID: c.id, File: path, Index: i, Err: fmt.Errorf("%w: the entry says it is index %d", ErrStorage, l.Index)}
		}
		if l.Type == raft.LogCommand {
			if _, err := verifyCommand(l.Data, l.Extensions); err != nil {
				return &StorageError{ID: c.id, File: path, Index: i, Err: fmt.Errorf("%w: %v", ErrStorage, err)}
			}
		}
	}
	if last >= first && first != 0 {
		c.log.Info("raft log verified", "entries", last-first+1, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// quarantine moves the Raft log (raft-wal/, or an unmigrated raft.db) and the snapshots aside (timestamped, never deleted)
// for --rebuild-from-peers.
func (c *Controller) quarantine() error {
	stamp := c.now().UTC().Format("20060102T150405Z")
	for _, name := range []string{boltLogName, walDirName, "snapshots"} {
		from := filepath.Join(c.cfg.DataDir, name)
		if _, err := os.Stat(from); errors.Is(err, os.ErrNotExist) {
			continue
		}
		to := from + ".damaged-" + stamp
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("move %s aside: %w", from, err)
		}
		c.log.Warn("moved damaged Raft storage aside", "from", from, "to", to)
	}
	return nil
}

// leaveThroughPeers asks the cluster, through the --join addresses, to remove this
// controller from the Raft configuration, so that it comes back as a new
// non-voting member that copies the state before it may vote: a voter that lost
// its log could otherwise help elect a leader that lacks committed entries.
func (c *Controller) leaveThroughPeers() error {
	cl, err := ctlclient.Dial(c.cfg.Join, c.cfg.TLS)
	if err != nil {
		return err
	}
	defer cl.Close()
	cl.Token = c.cfg.RebuildToken
	ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
	defer cancel()
	c.log.Info("asking the other controllers to drop this member before it rejoins", "join", c.cfg.Join)
	rid := ctlclient.NewRequestID()
	err = cl.Cluster(ctx, func(ctx context.Context, cc pb.ClusterServiceClient) error {
		_, err := cc.RemoveController(ctx, &pb.RemoveControllerRequest{RequestId: rid, Id: c.id})
		return err
	})
	if status.Code(err) == codes.NotFound {
		return nil
	}
	if status.Code(err) == codes.PermissionDenied || status.Code(err) == codes.Unauthenticated {
		return fmt.Errorf("rebuild from peers: dropping this member needs an admin operator token, and the others refused this one (%s): set STARLANE_TOKEN (or --admin-token) to an admin token (the first was printed at bootstrap; `starlane token create --role admin` makes more)", status.Code(err))
	}
	if err != nil {
		return fmt.Errorf("rebuild from peers: the other controllers at %v did not drop this member: %w", c.cfg.Join, err)
	}
	return nil
}
