package bridge

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/faultproxy"
	"github.com/starlane/starlane/internal/proctest"
)

// bin is the starlane binary, built once for the multi-process tests.
var bin string

func TestMain(m *testing.M) { proctest.Main(m, &bin) }

type bridgeGet struct {
	Exported  int64 `json:"exported"`
	Delivered int64 `json:"delivered"`
	Sender    *struct {
		Connected bool   `json:"connected"`
		Error     string `json:"error"`
	} `json:"sender"`
}

// TestBridgesSurviveFaults runs two real nodes with two loop surfaces bridged both ways,
// through proxies that drop, duplicate, delay and reorder bridge messages, and meanwhile
// kills and restarts the nodes, partitions them and breaks their streams. At the end no
// plate may be lost or duplicated: the plates on both surfaces plus those in flight are
// the 4,000 the two maps started with.
func TestBridgesSurviveFaults(t *testing.T) {
	duration, minFaults := 150*time.Second, 200
	if testing.Short() {
		duration, minFaults = 25*time.Second, 30
	}
	dir := t.TempDir()
	c := proctest.StartCluster(t, bin, dir)
	const transfer = "/starlane.v1.BridgeService/Transfer"
	bind := map[string]string{"n1": proctest.FreeAddr(t), "n2": proctest.FreeAddr(t)}
	proxies := map[string]*faultproxy.Proxy{}
	for i, n := range []string{"n1", "n2"} {
		p, err := faultproxy.Start("127.0.0.1:0", bind[n], uint64(i+1), transfer)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		proxies[n] = p
		c.StartNodeAt(n, bind[n], p.Addr(), "--checkpoint-every", "300")
	}
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
	proctest.Eventually(t, 60*time.Second, "plates to cross both bridges", func() bool {
		return delivered("ab") > 0 && delivered("ba") > 0
	})

	rng := rand.New(rand.NewPCG(7, 11))
	faults := map[string]int{}
	for _, p := range proxies {
		p.SetFaults(faultproxy.Faults{Drop: 0.03, Dup: 0.03, Reorder: 0.03, Delay: 0.03, MaxDelay: 80 * time.Millisecond})
	}
	end := time.Now().Add(duration)
	for time.Now().Before(end) {
		time.Sleep(time.Duration(150+rng.IntN(450)) * time.Millisecond)
		n := []string{"n1", "n2"}[rng.IntN(2)]
		switch k := rng.IntN(10); {
		case k < 3:
			c.Nodes[n].Kill()
			time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
			c.Nodes[n].Restart(t)
			faults["kill -9 "+n]++
		case k < 4:
			c.Nodes["n1"].Kill()
			c.Nodes["n2"].Kill()
			time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
			c.Nodes["n1"].Restart(t)
			c.Nodes["n2"].Restart(t)
			faults["kill -9 both"]++
		case k < 7:
			proxies[n].Partition(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
			faults["partition "+n]++
		default:
			proxies[n].BreakStreams()
			faults["break streams "+n]++
		}
	}
	for _, p := range proxies {
		p.SetFaults(faultproxy.Faults{})
		for k, v := range p.Counts() {
			if k != "partition" && k != "break" {
				faults["message "+k] += int(v)
			}
		}
	}
	total := 0
	kinds := make([]string, 0, len(faults))
	for k, v := range faults {
		total += v
		kinds = append(kinds, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(kinds)
	t.Logf("%d faults: %s", total, strings.Join(kinds, ", "))
	if total < minFaults {
		t.Errorf("only %d faults ran, want at least %d", total, minFaults)
	}

	// Quiet again: the bridges must flow again by themselves.
	before := delivered("ab")
	proctest.Eventually(t, 60*time.Second, "the bridges to flow again after the faults", func() bool {
		return delivered("ab") > before+20
	})
	// A kill may have promoted a surface's standby on the other node; the census
	// reads the primary's store, so wait until each is back on its pinned node.
	aDir, bDir := settledPrimary(t, c, dir, "a", "n1"), settledPrimary(t, c, dir, "b", "n2")
	c.Nodes["n1"].Stop()
	c.Nodes["n2"].Stop()

	// The census of each surface's last confirmed state, rebuilt from the stopped
	// nodes' stores (checkpoint plus input log, as a restart would).
	a := takeCensus(t, aDir, "a")
	b := takeCensus(t, bDir, "b")
	flightAB, flightBA := inflight(a, b), inflight(b, a)
	plates := a.items["iron-plate"] + b.items["iron-plate"] + flightAB["iron-plate"] + flightBA["iron-plate"]
	t.Logf("a: %d plates at tick %d, b: %d at tick %d, in flight a->b %d, b->a %d; a->b exported %d delivered %d; b->a exported %d delivered %d",
		a.items["iron-plate"], a.tick, b.items["iron-plate"], b.tick, flightAB["iron-plate"], flightBA["iron-plate"],
		a.exported["iron-plate"], b.delivered["iron-plate"], b.exported["iron-plate"], a.delivered["iron-plate"])
	if plates != 4000 {
		t.Fatalf("%d plates exist after the faults, the maps started with 4000: %d lost or duplicated", plates, 4000-plates)
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

// settledPrimary waits until surface runs its primary on node pin with no move under
// way, and returns the directory of that primary's store. A kill -9 of the pinned node
// promotes the standby on the other node, and the scheduler moves the surface back
// when its node returns: until then the pinned node holds only a standby's copy, whose
// census is behind what the other surface already received.
func settledPrimary(t *testing.T, c *proctest.Cluster, dir, surface, pin string) string {
	t.Helper()
	var last string
	start, first := time.Now(), ""
	defer func() {
		if first != pin {
			t.Logf("%s ran on %q when the faults ended; back on %s %v later", surface, first, pin, time.Since(start).Round(time.Millisecond))
		}
	}()
	proctest.Eventually(t, 60*time.Second, surface+" to run on its pinned node "+pin, func() bool {
		var g struct {
			Primary     string `json:"primary"`
			Replication *struct {
				Migration *struct {
					Target string `json:"target"`
				} `json:"migration"`
			} `json:"replication"`
		}
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", surface, "--json", "--controller", c.CtlAddr)
		if code != 0 || jsonUnmarshal(out, &g) != nil {
			return false
		}
		last = g.Primary
		if first == "" {
			first = last + " "
			if g.Replication != nil && g.Replication.Migration != nil {
				first += "(moving to " + g.Replication.Migration.Target + ")"
			}
			first = strings.TrimSpace(first)
		}
		return g.Primary == pin && (g.Replication == nil || g.Replication.Migration == nil)
	})
	if last != pin {
		t.Fatalf("%s runs on %q, want %s", surface, last, pin)
	}
	return filepath.Join(dir, pin, "shards", surface)
}
