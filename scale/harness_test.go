package scale

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// TestClusterHarnessShort is the short form of `starlane bench cluster`: three
// controller processes and a process playing 10 nodes, 100 surfaces with one
// standby each and 100 bridges. Every surface gets placed with a synced
// standby, the killed node's primaries all move to other up nodes, and at the
// end no surface or bridge is missing and every surface has a primary on an up
// node. Timings are reported, not asserted (they are benchmark figures).
func TestClusterHarnessShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four processes; runs without -short")
	}
	dir := t.TempDir()
	bin, err := proctest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Config{Bin: bin, Dir: dir, Nodes: 10, Surfaces: 100, Bridges: 100, Steady: 2 * time.Second, Progress: &progress})
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report: %+v", *rep)
	if rep.KilledPrimaries < 1 {
		t.Errorf("the killed node %s had no primaries; the re-placement was not exercised", rep.KilledNode)
	}
	if rep.RePlacedSeconds < 0 {
		t.Errorf("the %d primaries of the killed node %s were not all re-placed on up nodes", rep.KilledPrimaries, rep.KilledNode)
	}
	if rep.Lost != 0 || rep.Unplaced != 0 {
		t.Errorf("at the end %d surfaces or bridges are missing and %d surfaces have no primary on an up node", rep.Lost, rep.Unplaced)
	}
	if rep.SurfaceListCount != 100 {
		t.Errorf("surface list showed %d surfaces, want 100", rep.SurfaceListCount)
	}
}
