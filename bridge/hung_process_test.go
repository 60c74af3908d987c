package bridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// TestPausedBridgeReceiver freezes the node of a bridge's receiving surface with
// SIGSTOP for three seconds (its sockets stay open; it answers nothing) while the
// sender keeps ticking: the sender's surface must not stall, the bridge must flow
// again once the receiver thaws, and no plate may be lost or duplicated.
func TestPausedBridgeReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1", "--checkpoint-every", "300")
	c.StartNode("n2", "--checkpoint-every", "300")
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "a", "--map", "loop", "--node", "n1")
	c.CLI("surface", "create", "b", "--map", "loop", "--node", "n2")
	c.CLI("bridge", "create", "--from", "a:out", "--to", "b:in", "--name", "ab")
	c.CLI("bridge", "create", "--from", "b:out", "--to", "a:in", "--name", "ba")
	delivered := func(name string) int64 {
		var g bridgeGet
		out, _, code := proctest.Run(t, bin, 10*time.Second, "bridge", "get", name, "--json", "--controller", c.CtlAddr)
		if code != 0 || jsonUnmarshal(out, &g) != nil {
			return -1
		}
		return g.Delivered
	}
	tickOf := func(name string) uint64 {
		var s struct {
			Stats *struct {
				Tick uint64 `json:"tick"`
			} `json:"stats"`
		}
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", name, "--json", "--controller", c.CtlAddr)
		if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.Stats == nil {
			return 0
		}
		return s.Stats.Tick
	}
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool {
		return delivered("ab") > 0 && delivered("ba") > 0
	})

	c.Nodes["n2"].Pause()
	paused := time.Now()
	t0 := tickOf("a")
	time.Sleep(3 * time.Second)
	t1 := tickOf("a")
	c.Nodes["n2"].Resume()
	// a reports through n1's heartbeats; at 60 UPS three seconds are 180 ticks.
	t.Logf("a ran %d ticks while b's node was paused for %v", t1-t0, time.Since(paused).Round(time.Millisecond))
	if t1 < t0+120 {
		t.Errorf("the sender's surface stalled while the receiver was paused: tick %d -> %d in 3s", t0, t1)
	}
	before := delivered("ab")
	proctest.Eventually(t, 30*time.Second, "the bridges to flow again after the pause", func() bool {
		return delivered("ab") > before+20 && delivered("ba") > 0
	})
	aDir, bDir := settledPrimary(t, c, dir, "a", "n1"), settledPrimary(t, c, dir, "b", "n2")
	c.Nodes["n1"].Stop()
	c.Nodes["n2"].Stop()

	a := takeCensus(t, aDir, "a")
	b := takeCensus(t, bDir, "b")
	flightAB, flightBA := inflight(a, b), inflight(b, a)
	plates := a.items["iron-plate"] + b.items["iron-plate"] + flightAB["iron-plate"] + flightBA["iron-plate"]
	if plates != 4000 {
		t.Fatalf("%d plates exist after the pause, the maps started with 4000: %d lost or duplicated", plates, 4000-plates)
	}
	if got := b.delivered["iron-plate"] + flightAB["iron-plate"]; got != a.exported["iron-plate"] {
		t.Errorf("a->b: %d exported, but %d delivered and %d in flight", a.exported["iron-plate"], b.delivered["iron-plate"], flightAB["iron-plate"])
	}
	if got := a.delivered["iron-plate"] + flightBA["iron-plate"]; got != b.exported["iron-plate"] {
		t.Errorf("b->a: %d exported, but %d delivered and %d in flight", b.exported["iron-plate"], a.delivered["iron-plate"], flightBA["iron-plate"])
	}
}
