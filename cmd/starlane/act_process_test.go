package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/player"
	"github.com/starlane/starlane/sim"
	"github.com/starlane/starlane/sim/blueprint"
)

// TestActRebuildsAPort drives `starlane act` against a real controller and node:
// a loop surface's import port is mined and built again with its label, and a
// bridge created afterwards finds the rebuilt port by that label and delivers
// into it. A refused step ends the run with exit 1 and the surface's reason, and
// a step that cannot be read fails before anything joins.
func TestActRebuildsAPort(t *testing.T) {
	dir, bin := processTest(t, "multi-process test")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.WaitNodes("n1")
	n1 := c.NodeAddrs["n1"]
	c.CLI("surface", "create", "la", "--map", "loop", "--replicas", "1")
	c.CLI("surface", "create", "lb", "--map", "loop", "--replicas", "1")
	proctest.Eventually(t, 30*time.Second, "la and lb ticking", func() bool {
		a, b := getLife(c, "la"), getLife(c, "lb")
		return a.Stats != nil && a.Stats.Tick > 10 && b.Stats != nil && b.Stats.Tick > 10
	})

	act := func(steps ...string) ([]player.Outcome, string, int) {
		args := append([]string{"act", "--node", n1, "--surface", "la", "--name", "builder", "--json", "--timeout", "60s", "--controller", c.CtlAddr}, steps...)
		out, errOut, code := proctest.Run(t, bin, 90*time.Second, args...)
		var res []player.Outcome
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("act %q printed %q (stderr %q): %v", steps, out, errOut, err)
		}
		return res, errOut, code
	}

	res, errOut, code := act("mine 0,2", "build bridge-import 0,2 label=in")
	if code != 0 || len(res) != 2 || !res[0].OK || !res[1].OK {
		t.Fatalf("rebuilding the import port: exit %d, outcomes %+v\n%s", code, res, errOut)
	}
	if res[1].Entity == res[0].Entity || res[1].Entity == 0 {
		t.Errorf("the rebuilt port is entity #%d, the mined one #%d: want a new entity", res[1].Entity, res[0].Entity)
	}
	if res[1].Tick <= res[0].Tick {
		t.Errorf("the build applied at tick %d, not after the mine at %d", res[1].Tick, res[0].Tick)
	}

	c.CLI("bridge", "create", "--from", "lb:out", "--to", "la:in", "--name", "lba")
	proctest.Eventually(t, 60*time.Second, "plates delivered into the rebuilt port", func() bool {
		var b struct {
			Delivered int64 `json:"delivered"`
		}
		c.JSON(&b, "bridge", "get", "lba")
		return b.Delivered > 10
	})

	// A new bridge on the same ports counts from its creation, not the port's
	// totals (which the deleted bridge's items are in).
	var old struct {
		Exported int64 `json:"exported"`
	}
	c.JSON(&old, "bridge", "get", "lba")
	c.CLI("bridge", "delete", "lba")
	c.CLI("bridge", "create", "--from", "lb:out", "--to", "la:in", "--name", "lbb")
	var fresh struct {
		Exported int64  `json:"exported"`
		Status   string `json:"status"`
	}
	proctest.Eventually(t, 30*time.Second, "the new bridge's first report", func() bool {
		c.JSON(&fresh, "bridge", "get", "lbb")
		return fresh.Status != "waiting for both ends to report"
	})
	if old.Exported < 10 || fresh.Exported >= old.Exported {
		t.Errorf("a new bridge on lb:out shows %d exported right after its creation; the deleted one had %d", fresh.Exported, old.Exported)
	}

	// A take of more than the chest holds takes what it holds and says so.
	res, errOut, code = act("build wooden-chest 10,-5", "insert 10,-5 iron-plate 12", "take 10,-5 iron-plate 50")
	if code != 0 || len(res) != 3 || !res[2].OK {
		t.Fatalf("taking 50 plates out of a chest with 12: exit %d, outcomes %+v\n%s", code, res, errOut)
	}
	if want := "took 12 iron-plate (asked for 50; the wooden-chest held 12)"; res[2].Count != 12 || res[2].Asked != 50 || res[2].Moved != want {
		t.Errorf("taking 50 plates out of a chest with 12 reports %+v, want count 12, asked 50, moved %q", res[2], want)
	}
	if res[1].Count != 12 || res[1].Moved != "put 12 iron-plate in" {
		t.Errorf("inserting 12 plates reports %+v", res[1])
	}
	out, errOut, code := proctest.Run(t, bin, 90*time.Second, "act", "--node", n1, "--surface", "la", "--name", "builder", "--controller", c.CtlAddr,
		"insert 10,-5 iron-plate 3", "take 10,-5 iron-plate 10")
	if code != 0 || !strings.Contains(out, "take 10,-5 iron-plate 10: done at tick") || !strings.Contains(out, "took 3 iron-plate (asked for 10; the wooden-chest held 3)") {
		t.Errorf("a short take in text: exit %d, stdout %q, stderr %q; want what it took and why", code, out, errOut)
	}

	// A blueprint pasted into the running surface, built from the inventory; the
	// same paste again on the same tiles is refused (they are taken).
	bpFile := filepath.Join(t.TempDir(), "two-chests.txt")
	{
		s, err := sim.NewMap(sim.DefaultBundle(), "empty", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []int32{0, 2} {
			if _, err := s.Build(sim.BuildSpec{Name: "wooden-chest", X: x, Y: 0}); err != nil {
				t.Fatal(err)
			}
		}
		bp, err := s.ExportBlueprint(0, 0, 3, 0, sim.Vec{}, "two chests")
		if err != nil {
			t.Fatal(err)
		}
		str, err := blueprint.EncodeBlueprint(bp)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bpFile, []byte(str), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, errOut, code = act("paste " + bpFile + " 14,-8")
	if code != 0 || len(res) != 1 || !res[0].OK || res[0].Entity == 0 {
		t.Fatalf("pasting two chests: exit %d, outcomes %+v\n%s", code, res, errOut)
	}
	res, _, code = act("paste " + bpFile + " 14,-8")
	if code != 1 || len(res) != 1 || res[0].OK || !strings.Contains(res[0].Error, "collides with wooden-chest") {
		t.Errorf("pasting onto the chests just pasted: exit %d, outcomes %+v; want it refused", code, res)
	}

	// Walks there (20 tiles, more than one step) and finds nothing to mine.
	res, errOut, code = act("mine 20,0")
	if code != 1 || len(res) != 1 || res[0].OK || res[0].Error == "" {
		t.Fatalf("mining an empty tile: exit %d, outcomes %+v, want exit 1 and the refusal\n%s", code, res, errOut)
	}
	if !strings.Contains(errOut, "was refused at tick") || strings.Contains(errOut, "rpc error") {
		t.Errorf("the refusal reads %q", errOut)
	}
	t.Logf("refused as expected: %s", res[0].Error)

	// Runs right after one another under the same name: each reports what became
	// of its own steps, never a result the run before left in the recent ticks.
	var last uint64
	for i, to := range []string{"walk 30,0", "walk 26,0", "walk 30,0", "walk 26,0"} {
		res, errOut, code = act(to)
		if code != 0 || len(res) != 1 || !res[0].OK {
			t.Fatalf("run %d, %q: exit %d, outcomes %+v\n%s", i, to, code, res, errOut)
		}
		if res[0].Tick <= last {
			t.Errorf("run %d, %q reported tick %d, not after the previous run's step at %d: an earlier session's result", i, to, res[0].Tick, last)
		}
		last = res[0].Tick
	}
	// Without --node, act asks the controllers where the surface runs.
	out, errOut, code = proctest.Run(t, bin, 90*time.Second, "act", "--surface", "la", "--name", "builder", "--json", "--controller", c.CtlAddr, "walk 30,0")
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || len(res) != 1 || !res[0].OK || res[0].Tick <= last {
		t.Errorf("act without --node: exit %d, %q (%v), want the walk done after tick %d\n%s", code, out, err, last, errOut)
	}
	res, _, code = act("walk 900000,0")
	if code != 1 || len(res) != 1 || !strings.Contains(res[0].Error, "a step walks at most 1000 tiles") {
		t.Errorf("a walk of 900,000 tiles: exit %d, outcomes %+v; want it refused at once", code, res)
	}

	out, errOut, code = proctest.Run(t, bin, 10*time.Second, "act", "--node", n1, "--surface", "la", "--controller", c.CtlAddr, "mine x")
	if code != 1 || !strings.Contains(errOut, `tile "x" is not X,Y`) || strings.Contains(errOut, "joining") {
		t.Errorf("an unreadable step: exit %d, stdout %q, stderr %q; want exit 1 before joining", code, out, errOut)
	}
}
