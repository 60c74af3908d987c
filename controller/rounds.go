package controller

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// proposal is one command waiting to enter Raft.
type proposal struct {
	data  []byte
	state atomic.Int32 // proposalQueued, proposalTaken or proposalAbandoned
	// wake gets nil when f has settled, or the round (which includes this
	// proposal) whose futures this proposal's goroutine must wait for.
	wake chan []*proposal
	f    raft.ApplyFuture
}

const (
	proposalQueued int32 = iota
	proposalTaken
	proposalAbandoned
)

// rounds admits proposals to Raft in rounds (group commit): at most max rounds
// are in Raft at a time, and whatever arrives meanwhile waits and enters together
// as the next round once one has been applied. Raft's leader loop then finds a
// whole round in its apply channel and writes and replicates it as one batch, so
// under load every member makes fewer, larger log writes (each a bbolt commit
// with two fdatasyncs) and fewer AppendEntries round trips per write. A lone
// writer finds no round in flight and goes straight through.
//
// Without it, hashicorp/raft dispatches whatever is in its apply channel as soon
// as its leader loop is free, so 64 concurrent writers spread over four or five
// small batches in flight. With max 1, the 64-client benchmark's batches double
// in size and the members spend about 15 % less CPU per write (docs/benchmarks.md);
// max 2 or 3 saved nothing.
//
// The log and its entries are unchanged: every command is still its own Raft
// entry with its own index and future.
type rounds struct {
	r      *raft.Raft
	max    int
	mu     sync.Mutex
	active int         // rounds in Raft
	queue  []*proposal // waiting for the next round; non-empty only if active == max
}

// maxRounds is how many rounds of proposals may be in Raft at once.
const maxRounds = 1

// apply proposes data and waits for its outcome. If ctx ends while the proposal
// is still queued, it is dropped and never proposed, and apply returns a nil
// future and ctx's error. max 0 turns rounds off.
func (q *rounds) apply(ctx context.Context, data []byte) (raft.ApplyFuture, error) {
	if q.max <= 0 {
		f := q.r.ApplyLog(commandLog(data), applyTimeout)
		return f, f.Error()
	}
	p := &proposal{data: data}
	q.mu.Lock()
	if q.active < q.max {
		q.active++
		q.mu.Unlock()
		p.state.Store(proposalTaken)
		p.f = q.r.ApplyLog(commandLog(data), applyTimeout)
		q.wait([]*proposal{p}, p)
		return p.f, p.f.Error()
	}
	p.wake = make(chan []*proposal, 1)
	q.queue = append(q.queue, p)
	q.mu.Unlock()
	var round []*proposal
	select {
	case round = <-p.wake:
	case <-ctx.Done():
		if p.state.CompareAndSwap(proposalQueued, proposalAbandoned) {
			return nil, ctx.Err()
		}
		round = <-p.wake // already taken into a round: wait for the outcome
	}
	if round != nil {
		q.wait(round, p)
	}
	return p.f, p.f.Error()
}

// wait waits for every future of round (proposed already), tells the others
// their outcome, and then starts the next round from the queue, handing the
// waiting for it to its first proposal.
func (q *rounds) wait(round []*proposal, self *proposal) {
	for _, p := range round {
		p.f.Error()
		if p != self {
			p.wake <- nil
		}
	}
	q.mu.Lock()
	next := q.queue[:0:0]
	for _, p := range q.queue {
		if p.state.CompareAndSwap(proposalQueued, proposalTaken) {
			next = append(next, p)
		}
	}
	q.queue = nil
	if len(next) == 0 {
		q.active--
		q.mu.Unlock()
		return
	}
	q.mu.Unlock()
	for _, p := range next {
		p.f = q.r.ApplyLog(commandLog(p.data), applyTimeout)
	}
	next[0].wake <- next
}

// commandLog is the log entry of a proposed command, with its checksum.
func commandLog(data []byte) raft.Log {
	return raft.Log{Data: data, Extensions: commandExtensions(data)}
}
