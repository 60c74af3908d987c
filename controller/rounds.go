package controller

import (
	"context"
	"errors"
	"fmt"
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
	r   *raft.Raft
	max int
	// stopped is closed once Raft is shut down (nil: never). See settle.
	stopped <-chan struct{}
	mu      sync.Mutex
	active  int         // rounds in Raft
	queue   []*proposal // waiting for the next round; non-empty only if active == max
}

// maxRounds is how many rounds of proposals may be in Raft at once.
const maxRounds = 1

// apply proposes data and waits for its outcome. If ctx ends while the proposal
// is still queued, it is dropped and never proposed, and apply returns a nil
// future and ctx's error. max 0 turns rounds off.
func (q *rounds) apply(ctx context.Context, data []byte) (raft.ApplyFuture, error) {
	if q.max <= 0 {
		p := &proposal{f: q.r.ApplyLog(commandLog(data), applyTimeout)}
		q.settle(p)
		return p.f, p.f.Error()
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
		q.settle(p)
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

// settle waits for p's future, or for Raft to be shut down, whichever comes
// first; in the second case p's future becomes one that failed with
// ErrRaftShutdown. With BatchApplyCh a proposal can wait in Raft's apply
// channel when Raft shuts down, and nothing ever answers its future
// (hashicorp/raft#498): the leader's work blocked in it, and the controller's
// Shutdown waited for that forever.
func (q *rounds) settle(p *proposal) {
	if err := waitFuture(p.f, q.stopped); errors.Is(err, errShutdownWait) {
		p.f = shutdownFuture{}
	}
}

// errShutdownWait is waitFuture's error when Raft was shut down first.
var errShutdownWait = fmt.Errorf("%w before the command's outcome was known", raft.ErrRaftShutdown)

// waitFuture returns f's error, or errShutdownWait once stopped is closed if f
// has not settled by then.
func waitFuture(f raft.Future, stopped <-chan struct{}) error {
	if stopped == nil {
		return f.Error()
	}
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-stopped:
		select {
		case err := <-done:
			return err
		default:
			return errShutdownWait
		}
	}
}

// shutdownFuture is the outcome of a proposal Raft shut down without answering.
type shutdownFuture struct{}

func (shutdownFuture) Error() error          { return errShutdownWait }
func (shutdownFuture) Index() uint64         { return 0 }
func (shutdownFuture) Response() interface{} { return nil }

// commandLog is the log entry of a proposed command, with its checksum.
func commandLog(data []byte) raft.Log {
	return raft.Log{Data: data, Extensions: commandExtensions(data)}
}
