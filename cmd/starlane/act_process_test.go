package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/player"
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

	// Walks there (20 tiles, more than one step) and finds nothing to mine.
	res, errOut, code = act("mine 20,0")
	if code != 1 || len(res) != 1 || res[0].OK || res[0].Error == "" {
		t.Fatalf("mining an empty tile: exit %d, outcomes %+v, want exit 1 and the refusal\n%s", code, res, errOut)
	}
	if !strings.Contains(errOut, "was refused at tick") || strings.Contains(errOut, "rpc error") {
		t.Errorf("the refusal reads %q", errOut)
	}
	t.Logf("refused as expected: %s", res[0].Error)

	out, errOut, code := proctest.Run(t, bin, 10*time.Second, "act", "--node", n1, "--surface", "la", "--controller", c.CtlAddr, "mine x")
	if code != 1 || !strings.Contains(errOut, `tile "x" is not X,Y`) || strings.Contains(errOut, "joining") {
		t.Errorf("an unreadable step: exit %d, stdout %q, stderr %q; want exit 1 before joining", code, out, errOut)
	}
}
