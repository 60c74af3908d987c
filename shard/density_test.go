package shard

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/wal"
)

// TestManySurfacesShareOneNodeLog is the short form of the density benchmark as
// a test of behaviour: 100 surfaces at 60 UPS on one node log all tick and
// confirm, the log groups their ticks into far fewer commits than ticks, and
// after a stop and a reopen every surface is at or after its confirmed tick with
// every input it was given applied exactly once.
func TestManySurfacesShareOneNodeLog(t *testing.T) {
	t.Parallel()
	const surfaces, inputs = 100, 30
	root := t.TempDir()
	var commits atomic.Int64
	nl, err := OpenNodeLog(root, NodeLogOptions{Interval: time.Second / 60, IdleDelay: 100 * time.Millisecond, Hook: func(s wal.Stage) {
		if s == wal.BeforeWrite {
			commits.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := func(i int, nl *NodeLog) Config {
		c := testConfig(filepath.Join(root, "shards", fmt.Sprint(i)))
		c.Name, c.UPS, c.CheckpointEvery, c.NodeLog = fmt.Sprintf("s%d", i), 60, 60, nl
		return c
	}
	shards := make([]*Shard, surfaces)
	for i := range shards {
		if shards[i], err = Open(cfg(i, nl)); err != nil {
			t.Fatal(err)
		}
		shards[i].Start()
	}
	// Half the surfaces get an input every few ticks; the others stay idle.
	for range inputs {
		for i := 0; i < surfaces; i += 2 {
			if err := shards[i].Submit(Input{Player: 1, Data: []byte{1}}, 0); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	target := make([]uint64, surfaces)
	for i, s := range shards {
		target[i] = s.Executed() + 30
	}
	if !waitFor(60*time.Second, func() bool {
		for i, s := range shards {
			if s.Confirmed() < target[i] {
				return false
			}
		}
		return true
	}) {
		for i, s := range shards {
			if s.Confirmed() < target[i] {
				t.Fatalf("s%d confirmed only tick %d (err %v)", i, s.Confirmed(), s.Stats().Err)
			}
		}
	}
	var ticks uint64
	confirmed := make([]uint64, surfaces)
	hashes := make([]uint64, surfaces)
	for i, s := range shards {
		ticks += s.Executed()
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		confirmed[i] = s.Confirmed()
		hashes[i], _ = s.HashAt(confirmed[i])
	}
	if err := nl.Close(); err != nil {
		t.Fatal(err)
	}
	if c := commits.Load(); c*10 > int64(ticks) {
		t.Errorf("%d surface-ticks took %d group commits: the node log does not group them", ticks, c)
	}
	t.Logf("%d surface-ticks in %d group commits", ticks, commits.Load())

	nl, err = OpenNodeLog(root, NodeLogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	for i := range shards {
		s, err := Open(cfg(i, nl))
		if err != nil {
			t.Fatal(err)
		}
		if s.Executed() < confirmed[i] {
			t.Fatalf("s%d reopened at tick %d, below its confirmed tick %d", i, s.Executed(), confirmed[i])
		}
		if h, ok := s.HashAt(confirmed[i]); ok && h != hashes[i] {
			t.Fatalf("s%d has hash %016x at tick %d after the reopen, %016x before", i, h, confirmed[i], hashes[i])
		}
		s.Start()
		var applied uint64
		if err := s.Inspect(func(sim Simulation) { applied = sim.(*fakeSim).counters[1] }); err != nil {
			t.Fatal(err)
		}
		want := uint64(0)
		if i%2 == 0 {
			want = inputs
		}
		if applied != want {
			t.Errorf("s%d applied %d inputs, %d were given", i, applied, want)
		}
		s.Stop()
	}
}
