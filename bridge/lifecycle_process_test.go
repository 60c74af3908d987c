package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/sim"
)

// TestStopStartKeepsBridgedItems: two loop surfaces bridged both ways; each is
// stopped for a while (its bridges pause: the other side's exports wait in its
// outbox) and started again, then both are stopped and the census of their
// final saves must still count the 4,000 plates the maps started with, with
// every exported plate delivered or in flight.
func TestStopStartKeepsBridgedItems(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a controller and two nodes")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.StartNode("n2")
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "a", "--map", "loop", "--replicas", "1")
	c.CLI("surface", "create", "b", "--map", "loop", "--replicas", "1")
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
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool {
		return delivered("ab") > 0 && delivered("ba") > 0
	})
	for _, s := range []string{"a", "b"} {
		c.CLI("surface", "stop", s)
		time.Sleep(2 * time.Second) // the other surface keeps exporting into its outbox
		c.CLI("surface", "start", s)
		ab, ba := delivered("ab"), delivered("ba")
		proctest.Eventually(t, 60*time.Second, "both bridges to flow again after "+s+" started", func() bool {
			return delivered("ab") > ab+10 && delivered("ba") > ba+10
		})
	}
	stopped := map[string]census{}
	for _, s := range []string{"a", "b"} {
		var stop struct {
			Save string `json:"save"`
		}
		proctest.JSON(t, bin, &stop, "surface", "stop", s, "--json", "--controller", c.CtlAddr)
		file := filepath.Join(dir, s+".sav")
		c.CLI("save", "download", stop.Save, "--out", file)
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sim.Load(sim.DefaultBundle(), f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		stopped[s] = censusOf(st)
	}
	a, b := stopped["a"], stopped["b"]
	flightAB, flightBA := inflight(a, b), inflight(b, a)
	plates := a.items["iron-plate"] + b.items["iron-plate"] + flightAB["iron-plate"] + flightBA["iron-plate"]
	t.Logf("a: %d plates at tick %d, b: %d at tick %d, in flight a->b %d, b->a %d; a->b exported %d delivered %d",
		a.items["iron-plate"], a.tick, b.items["iron-plate"], b.tick, flightAB["iron-plate"], flightBA["iron-plate"], a.exported["iron-plate"], b.delivered["iron-plate"])
	if plates != 4000 {
		t.Fatalf("%d plates exist after stops and starts, the maps started with 4000", plates)
	}
	// With both ends stopped, a bridge says it is paused and why (both ends named),
	// and keeps the counts the sender last reported: what it had exported by then,
	// no more than the final save holds, never zeros.
	var ab struct {
		bridgeGet
		Paused          string `json:"paused"`
		ItemsAsOfUnixMs int64  `json:"items_as_of_unix_ms"`
		Status          string `json:"status"`
	}
	proctest.JSON(t, bin, &ab, "bridge", "get", "ab", "--json", "--controller", c.CtlAddr)
	if ab.Paused != "source a is stopped (starlane surface start a); destination b is stopped (starlane surface start b)" || !strings.HasPrefix(ab.Status, "paused: ") ||
		ab.Exported <= 0 || ab.Exported > a.exported["iron-plate"] || ab.ItemsAsOfUnixMs == 0 {
		t.Errorf("bridge ab with both surfaces stopped: %+v; want it paused with the sender's last counts (a exported %d)", ab, a.exported["iron-plate"])
	}
	for _, tc := range []struct {
		name     string
		from, to census
		flight   map[string]int64
	}{{"a->b", a, b, flightAB}, {"b->a", b, a, flightBA}} {
		if got := tc.to.delivered["iron-plate"] + tc.flight["iron-plate"]; got != tc.from.exported["iron-plate"] {
			t.Errorf("%s: %d exported, but %d delivered and %d in flight", tc.name, tc.from.exported["iron-plate"], tc.to.delivered["iron-plate"], tc.flight["iron-plate"])
		}
	}
}

// TestRollbackAcrossBridgesIsCounted: after a is rolled back to an older save,
// the deliveries it had received (and acknowledged) since are gone from it;
// the rollback says exactness across bridges is not guaranteed, and the loss
// shows as lost_seqs on the receiving end instead of vanishing silently.
func TestRollbackAcrossBridgesIsCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a controller and two nodes")
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.StartNode("n2")
	c.WaitNodes("n1", "n2")
	c.CLI("surface", "create", "a", "--map", "loop", "--replicas", "1")
	c.CLI("surface", "create", "b", "--map", "loop", "--replicas", "1")
	c.CLI("bridge", "create", "--from", "a:out", "--to", "b:in", "--name", "ab")
	c.CLI("bridge", "create", "--from", "b:out", "--to", "a:in", "--name", "ba")
	type end struct {
		LostSeqs int64  `json:"lost_seqs"`
		LastSeq  uint64 `json:"last_seq"`
		Error    string `json:"error"`
	}
	type get struct {
		Delivered int64 `json:"delivered"`
		Receiver  *end  `json:"receiver"`
	}
	bridge := func(name string) get {
		var g get
		out, _, code := proctest.Run(t, bin, 10*time.Second, "bridge", "get", name, "--json", "--controller", c.CtlAddr)
		if code != 0 || jsonUnmarshal(out, &g) != nil {
			return get{Delivered: -1}
		}
		return g
	}
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool {
		return bridge("ab").Delivered > 0 && bridge("ba").Delivered > 0
	})
	var stop struct {
		Save string `json:"save"`
	}
	proctest.JSON(t, bin, &stop, "surface", "stop", "a", "--json", "--controller", c.CtlAddr)
	mark := func(name string) uint64 {
		if g := bridge(name); g.Receiver != nil {
			return g.Receiver.LastSeq
		}
		return 0
	}
	c.CLI("surface", "start", "a")
	ba := bridge("ba").Delivered
	var abMark uint64
	proctest.Eventually(t, 60*time.Second, "ab's receiver to see a's save at its mark", func() bool { abMark = mark("ab"); return abMark > 0 })
	// a sends well over an outbox's credit of stacks after its save, so that the
	// rolled-back a is further behind b's mark than it can send in one go.
	proctest.Eventually(t, 120*time.Second, "a to take more plates from b and send 100 stacks more to b after its save", func() bool {
		return bridge("ba").Delivered > ba+20 && mark("ab") > abMark+100
	})
	abMark = mark("ab")
	out, errOut, code := proctest.Run(t, bin, time.Minute, "surface", "rollback", "a", "--to", stop.Save, "--yes", "--controller", c.CtlAddr)
	if code != 0 || !strings.Contains(errOut, "exactness across a rollback is not guaranteed") || !strings.Contains(out, "rolled a back to save "+stop.Save) {
		t.Fatalf("rollback: exit %d\n%s%s", code, out, errOut)
	}
	proctest.Eventually(t, 60*time.Second, "the deliveries a lost counted as lost_seqs on ba", func() bool {
		g := bridge("ba")
		return g.Receiver != nil && g.Receiver.LostSeqs > 0
	})
	t.Logf("ba after the rollback: %d stacks counted lost", bridge("ba").Receiver.LostSeqs)
	// ab goes on: a's re-exports under numbers b already applied are dropped as
	// duplicates until a's numbers pass b's mark, and then b applies new ones.
	for deadline := time.Now().Add(120 * time.Second); mark("ab") <= abMark; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			out, _, _ := proctest.Run(t, bin, 10*time.Second, "bridge", "get", "ab", "--json", "--controller", c.CtlAddr)
			t.Fatalf("b applied nothing from the rolled-back a beyond its mark %d in 2 minutes: %s", abMark, out)
		}
	}
}
