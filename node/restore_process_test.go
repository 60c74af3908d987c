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
