package shard

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/starlane/starlane/internal/wal"
)

// NodeLog is the write-ahead log every shard store of a node appends its input
// log to: one group commit (one fdatasync) per node tick covers every surface
// that ticked. A store keeps its checkpoints, players and term in its own bbolt
// file, and moves the log entries there (one transaction) when it checkpoints
// and when it closes; the node log keeps them only until then. See DESIGN.md,
// "Durability: one log per node".
type NodeLog struct {
	log  *slog.Logger
	root string // store paths are named relative to it
	wal  *wal.Log

	mu sync.Mutex
	// orphans are tails of stores that closed without moving them into their
	// file (a failed write): the next store opened at that path takes them.
	orphans map[string]*orphan
	own     int // stores attached; a private log closes with its last
	private bool
	// damaged holds the stores moved aside because the log was found damaged
	// when it opened (path -> why), until a shard tries to open one.
	damaged map[string]string
}

type orphan struct {
	stream *wal.Stream
	gen    uint64
	tail   []tailRec
}

// NodeLogOptions configure a node log.
type NodeLogOptions struct {
	// Interval is the node tick: the shortest time between two group commits
	// (appends arriving meanwhile share the next fdatasync). 0 commits at once.
	Interval time.Duration
	// IdleDelay is how long an idle tick no player or bridge watches may wait
	// for a group commit that other ticks need (0: none).
	IdleDelay time.Duration
	// SegmentBytes is the size of a log segment file (64 MiB).
	SegmentBytes int64
	Logger       *slog.Logger
	// Hook is called at each stage of every group commit (crash tests).
	Hook func(wal.Stage)
}

// OpenNodeLog opens the node's log in root/wal. Entries a previous run left in
// it (a crash, a kill -9) are first moved into the stores under root they belong
// to, so that each store holds its whole log again before any shard opens it;
// then those segments are deleted.
func OpenNodeLog(root string, opt NodeLogOptions) (*NodeLog, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(root, "wal")
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	l, err := wal.Open(dir, wal.Options{Interval: opt.Interval, IdleDelay: opt.IdleDelay, SegmentBytes: opt.SegmentBytes, Hook: opt.Hook})
	if err != nil {
		return nil, classify(err)
	}
	nl := &NodeLog{log: opt.Logger, root: abs, wal: l, orphans: map[string]*orphan{}}
	if err := nl.recover(); err != nil {
		l.Close()
		return nil, err
	}
	return nl, nil
}

// recover moves what the log's old segments hold into the stores.
func (nl *NodeLog) recover() error {
	byStream := map[string][]wal.Entry{}
	var order []string
	err := wal.Scan(nl.wal.Dir(), func(e wal.Entry) error {
		if _, ok := byStream[e.Stream]; !ok {
			order = append(order, e.Stream)
		}
		byStream[e.Stream] = append(byStream[e.Stream], e)
		return nil
	})
	var damage *wal.CorruptError
	if errors.As(err, &damage) {
		return nl.damagedLog(damage, order)
	}
	if err != nil {
		return err
	}
	keep := false
	for _, name := range order {
		path := filepath.Join(nl.root, filepath.FromSlash(name))
		if _, err := os.Stat(path); err != nil {
			continue // the copy was removed since
		}
		st, err := openStoreFile(path)
		if err != nil {
			// A damaged store is moved aside when its shard opens; its log entries
			// cannot be kept without it.
			nl.log.Warn("could not move a store's logged ticks into it", "store", path, "err", err)
			continue
		}
		n, err := st.merge(byStream[name])
		if err == nil {
			err = st.db.Close()
		} else {
			st.db.Close()
		}
		if err != nil {
			// A full disk, say: the old segments stay until the next start, and the
			// store opened in this run carries the ticks as its tail.
			nl.log.Warn("could not move a store's logged ticks into it yet; the log keeps them", "store", path, "err", err)
			keep = true
			o := &orphan{gen: ^uint64(0)}
			for _, e := range byStream[name] {
				if o.gen != e.Gen {
					o.gen, o.tail = e.Gen, nil
				}
				if len(o.tail) > 0 && e.Tick != o.tail[len(o.tail)-1].tick+1 {
					if e.Tick <= o.tail[len(o.tail)-1].tick {
						continue
					}
					break
				}
				o.tail = append(o.tail, tailRec{e.Tick, append([]byte(nil), e.Data...)})
			}
			nl.orphans[name] = o
			continue
		}
		if n > 0 {
			nl.log.Info("recovered logged ticks into a shard store", "store", path, "ticks", n)
		}
	}
	if keep {
		return nil
	}
	return nl.wal.DropRecovered()
}

// damagedLog handles a log found damaged when it opened: frames that were
// durable (their ticks confirmed, maybe replicated, bridged, seen by players)
// are lost, and which stores they belonged to cannot be told. Running any store
// on it from what is left would resume a surface before ticks it confirmed, as
// if they never happened. So every store on the log is moved aside as corrupt
// (kept for the operator), the damaged segment too, and each shard opening one
// of them fails with ErrStoreCorrupt and the reason: its surface continues from
// a standby, or is restored from its newest autosave, with the loss stated.
func (nl *NodeLog) damagedLog(damage *wal.CorruptError, streams []string) error {
	now := time.Now()
	why := fmt.Sprintf("the node's write-ahead log was found damaged (%v) and this copy's logged ticks cannot be trusted", damage)
	paths := map[string]bool{}
	for _, name := range streams {
		paths[filepath.Join(nl.root, filepath.FromSlash(name))] = true
	}
	for _, pattern := range []string{filepath.Join(nl.root, "shard.db"), filepath.Join(nl.root, "shards", "*", "shard.db")} {
		m, _ := filepath.Glob(pattern)
		for _, p := range m {
			paths[p] = true
		}
	}
	nl.damaged = map[string]string{}
	var moved []string
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		to, err := Quarantine(p, now)
		if err != nil {
			return fmt.Errorf("%s; moving the stores on it aside failed: %w", why, err)
		}
		nl.damaged[p] = fmt.Sprintf("%s; the copy was moved aside to %s", why, filepath.Base(to))
		moved = append(moved, p)
	}
	seg := damage.Segment + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(damage.Segment, seg); err != nil {
		return fmt.Errorf("%s; moving the damaged segment aside failed: %w", why, err)
	}
	nl.log.Error("the node's write-ahead log is damaged: frames that were durable are lost; every copy on it was moved aside, and its surfaces continue from a standby or their newest autosave",
		"err", damage, "segment_moved_to", seg, "copies_moved_aside", len(moved))
	return nl.wal.DropRecovered()
}

// damagedStore returns why the store at path was moved aside when the log
// opened, once ("" if it was not).
func (nl *NodeLog) damagedStore(path string) string {
	nl.mu.Lock()
	defer nl.mu.Unlock()
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	why := nl.damaged[abs]
	delete(nl.damaged, abs)
	return why
}

// Close closes the log; the stores attached to it must be closed first.
func (nl *NodeLog) Close() error { return nl.wal.Close() }

// attach connects st (opened at path) to the log: its input log goes to the
// node log from now on. A tail left by an earlier store at the same path that
// could not move it into the file is taken over.
func (nl *NodeLog) attach(st *Store) error {
	rel, err := filepath.Rel(nl.root, st.path)
	if err != nil {
		abs, _ := filepath.Abs(st.path)
		if rel, err = filepath.Rel(nl.root, abs); err != nil {
			return fmt.Errorf("store %s is not under the node's data dir %s", st.path, nl.root)
		}
	}
	name := filepath.ToSlash(rel)
	nl.mu.Lock()
	o := nl.orphans[name]
	delete(nl.orphans, name)
	nl.own++
	nl.mu.Unlock()
	st.nlog, st.streamName = nl, name
	if o != nil && o.gen == st.gen {
		// The ticks are durable in the node log under that stream: the new store
		// carries them on as its tail (no write now, which a full disk may refuse).
		st.stream = o.stream
		if st.stream == nil {
			st.stream = nl.wal.Stream(name)
		}
		st.tail = o.tail
		if len(o.tail) > 0 {
			st.tailDur = o.tail[len(o.tail)-1].tick
		}
	} else {
		if o != nil && o.stream != nil {
			o.stream.Close()
		}
		st.stream = nl.wal.Stream(name)
	}
	return st.setLogRef(filepath.Join(nl.root, "wal"), name)
}

// detach is the store's close: with its tail moved into its file, its entries
// in the node log are no longer needed; otherwise they stay for the next store
// opened at that path (or the next start of the node).
func (nl *NodeLog) detach(st *Store, moved bool) error {
	nl.mu.Lock()
	if !moved {
		st.tailMu.Lock()
		nl.orphans[st.streamName] = &orphan{stream: st.stream, gen: st.gen, tail: st.durableTailLocked()}
		st.tailMu.Unlock()
	}
	nl.own--
	last := nl.own == 0 && nl.private
	nl.mu.Unlock()
	if moved {
		st.stream.Close()
	}
	if last {
		return nl.Close()
	}
	return nil
}
