package shard

import "sync"

// sequencer collects inputs from sessions and bridges and hands them to the tick
// loop in arrival order. An input asks for a tick ("not before"); one that arrives
// late goes into the next tick instead, so a slow client never stalls the surface.
type sequencer struct {
	mu      sync.Mutex
	pending []pendingInput
	max     int
	perTick int
}

type pendingInput struct {
	in     Input
	target uint64
}

func (q *sequencer) init(maxPending, perTick int) {
	q.max, q.perTick = maxPending, perTick
}

func (q *sequencer) submit(in Input, target uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= q.max {
		return ErrBusy
	}
	q.pending = append(q.pending, pendingInput{in: in, target: target})
	return nil
}

// take removes the inputs due at tick t (target <= t), at most perTick, keeping the
// order in which they arrived.
func (q *sequencer) take(t uint64) []Input {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil
	}
	var out []Input
	keep := q.pending[:0]
	for _, p := range q.pending {
		if p.target <= t && len(out) < q.perTick {
			out = append(out, p.in)
		} else {
			keep = append(keep, p)
		}
	}
	clear(q.pending[len(keep):])
	q.pending = keep
	return out
}

func (q *sequencer) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// takePlayers removes every pending input of a player (not the bridges' and the
// console's, player 0) and returns them in arrival order.
func (q *sequencer) takePlayers() []pendingInput {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []pendingInput
	keep := q.pending[:0]
	for _, p := range q.pending {
		if p.in.Player != 0 {
			out = append(out, p)
		} else {
			keep = append(keep, p)
		}
	}
	clear(q.pending[len(keep):])
	q.pending = keep
	return out
}
