package shard

import (
	"context"
	"fmt"
	"time"
)

// Checkpoint asks for a checkpoint now (the console's /save) instead of at the
// next multiple of Config.CheckpointEvery, and waits until one after the tick
// executed at the call is durable and confirmed, so that it is what a restart or
// a standby would start from. It returns that checkpoint's tick. Taking it does
// not change the simulation, only when its state is written.
func (s *Shard) Checkpoint(ctx context.Context) (uint64, error) {
	if s.IsStandby() {
		return 0, ErrStandby
	}
	from := s.Executed()
	s.ckptNow.Store(true)
	s.kick()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		if t := s.ckptTick.Load(); t > from && s.Confirmed() >= t {
			return t, nil
		}
		if err := s.err(); err != nil {
			return 0, err
		}
		select {
		case <-ctx.Done():
			if s.Fenced() {
				return 0, fmt.Errorf("no checkpoint: %w", ErrFenced)
			}
			return 0, fmt.Errorf("no checkpoint after tick %d yet: %w", from, ctx.Err())
		case <-s.stop:
			return 0, ErrClosed
		case <-poll.C:
		}
	}
}
