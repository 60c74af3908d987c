package shard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// ReadConfirmed waits until tick from is confirmed and returns the confirmed
// records from there on, at most max. This is what leaves the shard: players' tick
// streams read it. A tick that is neither in memory nor in the log any more gives
// an error wrapping ErrTooOld.
func (s *Shard) ReadConfirmed(ctx context.Context, from uint64, max int) ([]Record, error) {
	return s.read(ctx, from, max, true)
}

// ConfirmedChanged returns a channel that is closed when the confirmed tick next
// moves, or the shard stops. Take it before reading Confirmed so that a move in
// between is not missed. A player's stream waits on it in the same select as its
// other work, instead of parking a second goroutine in ReadConfirmed; once
// Confirmed has moved, ReadConfirmed returns without waiting.
func (s *Shard) ConfirmedChanged() <-chan struct{} { return s.changed(true) }

// ReadExecuted is ReadConfirmed bounded by the executed tick instead: standby
// replication reads it, since a standby's acknowledgement is what confirms a tick.
func (s *Shard) ReadExecuted(ctx context.Context, from uint64, max int) ([]Record, error) {
	return s.read(ctx, from, max, false)
}

func (s *Shard) read(ctx context.Context, from uint64, max int, confirmed bool) ([]Record, error) {
	if max <= 0 {
		max = 1
	}
	upto := s.executed.Load
	if confirmed {
		upto = s.confirmed.Load
	}
	for {
		ch := s.changed(confirmed)
		select {
		case <-s.stop:
			return nil, ErrClosed
		default:
		}
		if s.standby.Load() {
			return nil, ErrStandby
		}
		if limit := upto(); from <= limit {
			return s.collect(from, min(limit, from+uint64(max)-1))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.stop:
			return nil, ErrClosed
		case <-ch:
			if !confirmed && s.held.Load() && upto() < from {
				return nil, ErrFrozen
			}
		}
	}
}

// collect returns records [from, to] from memory, falling back to the log.
func (s *Shard) collect(from, to uint64) ([]Record, error) {
	out := make([]Record, 0, to-from+1)
	for t := from; t <= to; t++ {
		r, ok := s.record(t)
		if !ok {
			err := s.store.Batches(t, to, func(b Batch) error {
				out = append(out, Record{Tick: b.Tick, Inputs: b.Inputs, PrevHash: b.PrevHash})
				return nil
			})
			if err != nil {
				if errors.Is(err, ErrClosed) {
					return nil, err
				}
				return nil, fmt.Errorf("%w: tick %d: %v", ErrTooOld, t, err)
			}
			return out, nil
		}
		out = append(out, r)
	}
	return out, nil
}

// LatestCheckpoint returns the newest stored checkpoint that is not past the
// confirmed tick.
func (s *Shard) LatestCheckpoint() (*Checkpoint, error) {
	return s.store.LatestCheckpoint(s.confirmed.Load())
}

// HashAfter returns the state hash after tick t, if the shard can still stream
// the ticks after t (from memory or the log): a standby whose copy ends at t with
// that hash can continue from there instead of starting over from a checkpoint.
func (s *Shard) HashAfter(t uint64) (uint64, bool) {
	ex := s.executed.Load()
	switch {
	case t > ex:
		return 0, false
	case t == ex:
		r, ok := s.record(t)
		return r.Hash, ok && r.Hash != 0
	}
	if r, ok := s.record(t + 1); ok {
		return r.PrevHash, true
	}
	var h uint64
	found := false
	if t+1 <= s.durable.Load() {
		err := s.store.Batches(t+1, t+1, func(b Batch) error { h, found = b.PrevHash, true; return nil })
		if err != nil {
			return 0, false
		}
	}
	return h, found
}

// ConfirmedState rebuilds the state at the confirmed tick from the newest checkpoint and
// the log, off the tick goroutine, for reads that must not see unconfirmed ticks.
func (s *Shard) ConfirmedState() (Simulation, error) {
	return s.stateAt(min(s.confirmed.Load(), s.durable.Load()))
}

// Replay rebuilds, from a stopped shard's store file, the state a restart would
// resume from: the newest checkpoint, read with load, then every logged tick after
// it, each checked to follow the state before it. Tools and tests read a surface's
// durable state with it (a census of items, a crash test's expectations).
func Replay(path string, load func(io.Reader) (Simulation, error)) (Simulation, error) {
	st, err := OpenStore(path)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	cp, err := st.LatestCheckpoint(^uint64(0))
	if err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, fmt.Errorf("%s holds no checkpoint", path)
	}
	s, err := load(bytes.NewReader(cp.Data))
	if err != nil {
		return nil, fmt.Errorf("load the checkpoint of tick %d: %w", cp.Tick, err)
	}
	_, last, err := st.LogRange()
	if err != nil || last <= cp.Tick {
		return s, err
	}
	err = st.Batches(cp.Tick+1, last, func(b Batch) error {
		if b.PrevHash != s.Hash() {
			return fmt.Errorf("tick %d does not follow the state before it", b.Tick)
		}
		s.Step(b.Inputs)
		return nil
	})
	return s, err
}
