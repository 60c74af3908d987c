package shard

import (
	"context"
	"testing"
	"time"
)

// TestCheckpointNow: a checkpoint asked for between two periodic ones is taken
// right after the current tick, is durable and confirmed when Checkpoint returns,
// and is what a restart loads.
func TestCheckpointNow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.CheckpointEvery = 1_000_000
	s := openStarted(t, cfg)
	if !waitFor(5*time.Second, func() bool { return s.Confirmed() >= 20 }) {
		t.Fatal("the shard does not tick")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	from := s.Executed()
	tick, err := s.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tick <= from || tick > from+50 || s.CheckpointTick() != tick {
		t.Fatalf("checkpoint at tick %d (asked after tick %d; newest checkpoint %d)", tick, from, s.CheckpointTick())
	}
	cp, err := s.LatestCheckpoint()
	if err != nil || cp.Tick != tick {
		t.Fatalf("latest checkpoint %+v, %v; want tick %d", cp, err, tick)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	if r.CheckpointTick() != tick {
		t.Fatalf("after a restart the newest checkpoint is at tick %d, want %d", r.CheckpointTick(), tick)
	}
}
