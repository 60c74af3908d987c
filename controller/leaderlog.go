package controller

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// The leader writes its log in parallel with replication (the Raft thesis,
// §10.2.1). hashicorp/raft writes a new entry to the leader's log store, waits
// for the write, counts the leader towards the entry's commit, and only then
// sends it to the followers, so a lone write waited for the leader's fdatasync
// and then a follower's. Here, while this controller leads a cluster of more
// than one voter, the log store accepts the leader's entries into memory at
// once and writes them (one group commit for whatever has queued) on a
// goroutine of its own; Raft replicates them at once.
//
// Raft then counts the leader towards commits before its own copy is durable,
// so "committed" can run ahead of "durable on a majority". Nothing acts on a
// commit until it is durable on a majority:
//   - the leader's FSM applies an entry (and so answers its client) only once
//     the leader's own copy is durable (gatedFSM); the followers that acked it
//     had made theirs durable before acking, so a majority has it;
//   - the followers learn a commit index no higher than the leader's durable
//     index (commitCap caps LeaderCommitIndex in every AppendEntries), so no
//     follower applies an entry that is durable on a minority only.
//
// If the leader dies before its write completes, its entries may be lost with
// it, but none was applied anywhere or answered; a follower that has them may
// lead and commit them (a client that saw no answer retries with its request
// ID) or a follower without them may lead and overwrite them: both are what
// Raft allows for entries that were never committed. The leader itself never
// loses an entry while it runs: they stay in memory until written, so it
// votes and replicates as if they were on disk, as Raft requires.
//
// A failed write (a full disk) is retried on the writer goroutine until it
// succeeds; meanwhile every new write is synchronous (and fails, so Raft makes
// the leader step down, as before) and leadership is handed to another voter.
// A lone voter, a follower and a candidate write synchronously, as before.
type leaderLog struct {
	store raft.LogStore // what is underneath: reads, and the writes themselves

	// leading says whether writes may be asynchronous: this member leads a
	// cluster of more than one voter. It is asked from Raft's own goroutine,
	// the one that changes its state, so the answer holds for the call.
	leading func() bool
	// onFail is called (on its own goroutine) when an asynchronous write fails.
	onFail func(error)

	mu      sync.Mutex
	cond    *sync.Cond // signalled when durable, err or the queue changes
	queue   []*raft.Log
	writing []*raft.Log // taken off queue by the writer, being written
	durable uint64      // the highest index known to be on disk
	err     error       // the last asynchronous write's error, until one succeeds
	closed  bool
	// abandoned: waitDurable no longer waits (the controller is stopping).
	abandoned bool
	wake      chan struct{}
	done      chan struct{}
}

func newLeaderLog(store raft.LogStore, leading func() bool, onFail func(error)) (*leaderLog, error) {
	last, err := store.LastIndex()
	if err != nil {
		return nil, err
	}
	w := &leaderLog{store: store, leading: leading, onFail: onFail, durable: last,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	go w.run()
	return w, nil
}

// Close stops the writer once what is queued is written (or has failed).
func (w *leaderLog) Close() {
	w.mu.Lock()
	w.closed = true
	w.cond.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}

// IsMonotonic passes on the store's promise (raft-wal's) that the log has no gaps.
func (w *leaderLog) IsMonotonic() bool {
	m, ok := w.store.(raft.MonotonicLogStore)
	return ok && m.IsMonotonic()
}

func (w *leaderLog) StoreLog(l *raft.Log) error { return w.StoreLogs([]*raft.Log{l}) }

// StoreLogs queues the leader's entries, or writes synchronously (after what
// is queued) in every other case.
func (w *leaderLog) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	w.mu.Lock()
	if w.err == nil && !w.closed && w.leading() {
		w.queue = append(w.queue, logs...)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
		return nil
	}
	defer w.mu.Unlock()
	if err := w.drainLocked(); err != nil {
		return err
	}
	if err := w.store.StoreLogs(logs); err != nil {
		return err
	}
	w.durable = logs[len(logs)-1].Index
	w.cond.Broadcast()
	return nil
}

// drainLocked waits until nothing is queued or being written; it returns the
// writer's error if its last write failed (what is queued is then not on disk).
func (w *leaderLog) drainLocked() error {
	for (len(w.queue) > 0 || len(w.writing) > 0) && w.err == nil {
		w.cond.Wait()
	}
	return w.err
}

// run is the writer: it writes whatever has queued as one batch (one
// fdatasync), in order, retrying a failed write until it succeeds.
func (w *leaderLog) run() {
	defer close(w.done)
	backoff := 10 * time.Millisecond
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && len(w.writing) == 0 && !w.closed {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if len(w.queue) == 0 && len(w.writing) == 0 {
			w.mu.Unlock()
			return // closed, nothing left
		}
		w.writing = append(w.writing, w.queue...)
		w.queue = nil
		batch := w.writing
		w.mu.Unlock()

		err := w.store.StoreLogs(batch)

		w.mu.Lock()
		if err == nil {
			w.durable = batch[len(batch)-1].Index
			w.writing = nil
			w.err = nil
			backoff = 10 * time.Millisecond
			w.cond.Broadcast()
			w.mu.Unlock()
			continue
		}
		first := w.err == nil
		w.err = err
		closed := w.closed
		w.cond.Broadcast()
		w.mu.Unlock()
		if closed {
			return // shutting down: what is unwritten was never durable anywhere it mattered
		}
		if first && w.onFail != nil {
			go w.onFail(err)
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// leadsCluster is leaderLog's leading for the Raft that rp will hold: it leads
// a cluster of more than one voter (a lone voter gains nothing from writing
// beside replication, and its failed write must make it step down at once).
func leadsCluster(rp *atomic.Pointer[raft.Raft]) func() bool {
	return func() bool {
		r := rp.Load()
		return r != nil && r.State() == raft.Leader && votersOf(r) > 1
	}
}

// Durable is the highest index known to be on disk.
func (w *leaderLog) Durable() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.durable
}

// waitDurable blocks until index idx is on disk; false if the store was
// closed (or stopped waiting) first.
func (w *leaderLog) waitDurable(idx uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.durable < idx && !w.closed && !w.abandoned {
		w.cond.Wait()
	}
	return w.durable >= idx
}

// abandon makes waitDurable give up: the controller is stopping, and an FSM
// waiting for a write that cannot be made (a full disk) must not hold up
// Raft's shutdown. Entries it gives up on are not applied.
func (w *leaderLog) abandon() {
	w.mu.Lock()
	w.abandoned = true
	w.cond.Broadcast()
	w.mu.Unlock()
}

// pendingLocked finds idx among the entries not yet written.
func (w *leaderLog) pendingLocked(idx uint64) *raft.Log {
	for _, q := range [2][]*raft.Log{w.writing, w.queue} {
		if len(q) > 0 && idx >= q[0].Index && idx <= q[len(q)-1].Index {
			return q[idx-q[0].Index]
		}
	}
	return nil
}

func (w *leaderLog) GetLog(idx uint64, out *raft.Log) error {
	w.mu.Lock()
	if l := w.pendingLocked(idx); l != nil {
		*out = *l
		w.mu.Unlock()
		return nil
	}
	w.mu.Unlock()
	return w.store.GetLog(idx, out)
}

func (w *leaderLog) LastIndex() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.queue); n > 0 {
		return w.queue[n-1].Index, nil
	}
	if n := len(w.writing); n > 0 {
		return w.writing[n-1].Index, nil
	}
	return w.store.LastIndex()
}

func (w *leaderLog) FirstIndex() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	first, err := w.store.FirstIndex()
	if err != nil || first != 0 {
		return first, err
	}
	// An empty store (after a snapshot was installed) with entries queued.
	if len(w.writing) > 0 {
		return w.writing[0].Index, nil
	}
	if len(w.queue) > 0 {
		return w.queue[0].Index, nil
	}
	return 0, nil
}

// DeleteRange waits for the queued entries to be written first, so the store
// sees deletes and appends in the order Raft made them.
func (w *leaderLog) DeleteRange(lo, hi uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.drainLocked(); err != nil {
		return err
	}
	if err := w.store.DeleteRange(lo, hi); err != nil {
		return err
	}
	if lo <= w.durable && hi >= w.durable {
		// The tail was dropped (a follower's conflicting suffix): what is
		// durable now ends before it, until new entries are written.
		w.durable = lo - 1
	}
	return nil
}

var errNoPreVote = errors.New("transport does not support pre-vote")

// commitCap is the transport Raft sends through: it caps the commit index
// the leader announces at what the leader's own log has made durable.
type commitCap struct {
	raft.Transport
	durable func() uint64
}

func (t *commitCap) cap(args *raft.AppendEntriesRequest) {
	if d := t.durable(); args.LeaderCommitIndex > d {
		args.LeaderCommitIndex = d
	}
}

func (t *commitCap) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	t.cap(args)
	return t.Transport.AppendEntries(id, target, args, resp)
}

func (t *commitCap) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	p, err := t.Transport.AppendEntriesPipeline(id, target)
	if err != nil {
		return nil, err
	}
	return &cappedPipeline{AppendPipeline: p, t: t}, nil
}

// RequestPreVote and Close pass on the optional interfaces Raft looks for.
func (t *commitCap) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if p, ok := t.Transport.(raft.WithPreVote); ok {
		return p.RequestPreVote(id, target, args, resp)
	}
	return errNoPreVote
}

func (t *commitCap) Close() error {
	if c, ok := t.Transport.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}

type cappedPipeline struct {
	raft.AppendPipeline
	t *commitCap
}

func (p *cappedPipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	p.t.cap(args)
	return p.AppendPipeline.AppendEntries(args, resp)
}

// gatedFSM applies an entry only once this member's copy of it is durable.
type gatedFSM struct {
	raft.BatchingFSM
	log *leaderLog
}

func (g gatedFSM) Apply(l *raft.Log) interface{} {
	return g.ApplyBatch([]*raft.Log{l})[0]
}

func (g gatedFSM) ApplyBatch(logs []*raft.Log) []interface{} {
	if len(logs) == 0 || g.log.waitDurable(logs[len(logs)-1].Index) {
		return g.BatchingFSM.ApplyBatch(logs)
	}
	// Stopping with these entries not on this member's disk: leave them
	// unapplied (the FSM is discarded with the process; a restart replays
	// what is durable).
	out := make([]interface{}, len(logs))
	for i, l := range logs {
		out[i] = &pb.CommandResult{Code: uint32(codes.Unavailable), Message: "this controller is stopping; retry", Index: l.Index}
	}
	return out
}
