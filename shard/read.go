package shard

import (
	"context"
	"errors"
	"fmt"
)

// ReadConfirmed waits until tick from is confirmed and returns the confirmed
// records from there on, at most max. This is what leaves the shard: players' tick
// streams read it. A tick that is neither in memory nor in the log any more gives
// an error wrapping ErrTooOld.
func (s *Shard) ReadConfirmed(ctx context.Context, from uint64, max int) ([]Record, error) {
	return s.read(ctx, from, max, true)
}

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
		if limit := upto(); from <= limit {
			return s.collect(from, min(limit, from+uint64(max)-1))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.stop:
			return nil, ErrClosed
		case <-ch:
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
				out = append(out, Record{Tick: b.Tick, Inputs: b.Inputs})
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
