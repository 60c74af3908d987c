package scheduler

import (
	"fmt"
	"testing"
)

// scaleState is the harness's cluster (docs/benchmarks.md, "Cluster scale"):
// nodes with 8 cores, surfaces with one standby each, placed round-robin and
// synced; with fresh set, nothing is placed yet.
func scaleState(nodes, surfaces int, fresh bool) State {
	var s State
	for i := 0; i < nodes; i++ {
		s.Nodes = append(s.Nodes, Node{ID: fmt.Sprintf("sim%03d", i), Up: true, Cores: 8})
	}
	for i := 0; i < surfaces; i++ {
		sf := Surface{Name: fmt.Sprintf("s%04d", i), Replicas: 2, TickCostUS: 20, Epoch: uint64(i + 1)}
		if !fresh {
			p, b := s.Nodes[i%nodes].ID, s.Nodes[(i+1)%nodes].ID
			sf.Primary, sf.Standbys, sf.Synced = p, []string{b}, []string{b}
			sf.ConfirmedTicks = map[string]uint64{p: 1000, b: 1000}
		}
		s.Surfaces = append(s.Surfaces, sf)
	}
	return s
}

// TestScaleStateIsStable: a placed cluster needs no change, and losing one node
// re-places exactly its primaries (on their synced standbys) — the passes the
// benchmark below times do real work.
func TestScaleStateIsStable(t *testing.T) {
	t.Parallel()
	s := scaleState(100, 3000, false)
	if p := Schedule(s); len(p.Changes) != 0 {
		t.Fatalf("a placed cluster got %d changes, first %+v", len(p.Changes), p.Changes[0])
	}
	s.Nodes[7].Up = false
	promoted := 0
	for _, c := range Schedule(s).Changes {
		if c.Assign && c.Primary != "sim007" && c.PlacementError == "" {
			promoted++
		}
	}
	if promoted < 30 {
		t.Fatalf("after losing sim007 (30 primaries, 30 standbys) %d surfaces were re-assigned, want at least 30", promoted)
	}
	fresh := scaleState(100, 3000, true)
	placed := 0
	for _, c := range Schedule(fresh).Changes {
		if c.Assign && c.Primary != "" && len(c.Standbys) == 1 {
			placed++
		}
	}
	if placed != 3000 {
		t.Fatalf("placed %d of 3000 fresh surfaces with a standby", placed)
	}
}

// BenchmarkSchedule3000 is one full scheduling pass over 3,000 surfaces on 100
// nodes: steady (nothing to do), after a node loss, and all fresh.
//
//	go test ./controller/scheduler -run '^$' -bench Schedule3000
func BenchmarkSchedule3000(b *testing.B) {
	lost := scaleState(100, 3000, false)
	lost.Nodes[7].Up = false
	for _, c := range []struct {
		name string
		s    State
	}{
		{"steady", scaleState(100, 3000, false)},
		{"node-lost", lost},
		{"fresh", scaleState(100, 3000, true)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				Schedule(c.s)
			}
		})
	}
}
