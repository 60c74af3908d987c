package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// TestCorruptStoreRestoresFromAutosave: a surface with no standby whose store on
// its node is corrupt (both meta pages), with no other copy anywhere, is
// restored from its newest autosave; the event names the tick it resumed at and
// the ticks lost, and the damaged file stays moved aside.
func TestCorruptStoreRestoresFromAutosave(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1", "--checkpoint-every", "120")
	c.WaitNodes("n1")
	dumpOnFailure2(t, c)
	c.CLI("surface", "create", "c", "--node", "n1", "--replicas", "1", "--autosave-every", "1s")
	proctest.Eventually(t, 60*time.Second, "c past tick 300 with autosaves", func() bool {
		var saves []struct{ Tick uint64 }
		c.JSON(&saves, "surface", "saves", "c", "--json")
		return len(saves) >= 2 && faultSurfaceOf(t, c, "c").tick() > 300
	})
	c.Nodes["n1"].Stop()
	store := filepath.Join(dir, "n1", "shards", "c", "shard.db")
	_, last := logTicks(t, store)
	smash(t, store, 16, 48)
	smash(t, store, int64(os.Getpagesize())+16, 48)
	c.Nodes["n1"].Restart(t)
	proctest.Eventually(t, 60*time.Second, "a surface.restored event for c", func() bool {
		return hasEvent(faultSurfaceOf(t, c, "c"), "surface.restored", "copy on n1 is corrupt or gone")
	})
	var msg string
	for _, e := range faultSurfaceOf(t, c, "c").Events {
		if e.Kind == "surface.restored" {
			msg = e.Message
		}
	}
	t.Logf("event: %s (the store's log reached tick %d)", msg, last)
	if !strings.Contains(msg, "resumes at tick ") || !strings.Contains(msg, "are lost") {
		t.Fatalf("restore event %q does not say where it resumed and what was lost", msg)
	}
	ticking(t, c, 60*time.Second, "c", "n1", 0)
	if m, _ := filepath.Glob(store + ".corrupt-*"); len(m) != 1 {
		t.Errorf("the corrupt store was not kept aside: %v", m)
	}
}

func dumpOnFailure2(t *testing.T, c *proctest.Cluster) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for name, p := range map[string]*proctest.Process{"controller": c.Controller, "n1": c.Nodes["n1"]} {
			lines := strings.Split(p.Log(), "\n")
			t.Logf("--- %s (last lines)\n%s", name, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
}

// TestDamagedNodeLogIsNotReplayedSilently: n1 is killed, and its write-ahead log
// is damaged in the middle (frames that were durable, valid frames after them).
// Started again, n1 must not run the surface from what is left of its log, which
// would resume it before ticks it had confirmed as if they never happened: it
// moves the copies on the log aside, the surface is restored from its newest
// autosave with the loss stated, and the damaged segment is kept.
func TestDamagedNodeLogIsNotReplayedSilently(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1", "--checkpoint-every", "600")
	c.WaitNodes("n1")
	dumpOnFailure2(t, c)
	c.CLI("surface", "create", "w", "--node", "n1", "--replicas", "1", "--autosave-every", "2s")
	proctest.Eventually(t, 60*time.Second, "w past tick 400 with autosaves", func() bool {
		var saves []struct{ Tick uint64 }
		c.JSON(&saves, "surface", "saves", "w", "--json")
		return len(saves) >= 2 && faultSurfaceOf(t, c, "w").tick() > 400
	})
	c.Nodes["n1"].Kill()
	segs, _ := filepath.Glob(filepath.Join(dir, "n1", "wal", "*.wal"))
	var seg string
	var size int64
	for _, p := range segs {
		if fi, err := os.Stat(p); err == nil && fi.Size() > size {
			seg, size = p, fi.Size()
		}
	}
	if size < 4096 {
		t.Fatalf("no write-ahead log segment with frames in it: %v (largest %d bytes)", segs, size)
	}
	for _, f := range []float64{0.5, 0.8} {
		smash(t, seg, int64(float64(size)*f), 4)
	}
	c.Nodes["n1"].Restart(t)
	proctest.Eventually(t, 60*time.Second, "a surface.restored event for w", func() bool {
		return hasEvent(faultSurfaceOf(t, c, "w"), "surface.restored", "copy on n1 is corrupt or gone")
	})
	if !strings.Contains(c.Nodes["n1"].Log(), "write-ahead log is damaged") {
		t.Error("n1's log does not say its write-ahead log is damaged")
	}
	ticking(t, c, 60*time.Second, "w", "n1", 0)
	if m, _ := filepath.Glob(seg + ".corrupt-*"); len(m) != 1 {
		t.Errorf("the damaged segment was not kept aside: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "n1", "shards", "w", "shard.db.corrupt-*")); len(m) != 1 {
		t.Errorf("w's store on the damaged log was not moved aside: %v", m)
	}
}
