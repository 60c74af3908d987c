package main

import (
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
)

// TestSilentNodeShowsStale: a node that stops reporting (SIGSTOP) is listed
// stale, and its surface shows no UPS and says for how long it has been silent,
// instead of its last figures as if live.
func TestSilentNodeShowsStale(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	// A long lease, so the node stays "up" (and must show stale) for a while.
	c := proctest.StartCluster(t, bin, dir, "--lease-ttl", "60s")
	n1 := c.StartNode("n1")
	c.WaitNodes("n1")
	c.CLI("surface", "create", "nauvis", "--map", "outpost")
	ticking := func() bool {
		var s struct {
			Stats *struct {
				Tick  uint64 `json:"tick"`
				Stale bool   `json:"stale"`
			} `json:"stats"`
		}
		c.JSON(&s, "surface", "get", "nauvis")
		return s.Stats != nil && s.Stats.Tick > 60 && !s.Stats.Stale
	}
	proctest.Eventually(t, 60*time.Second, "nauvis to tick", ticking)
	n1.Pause()
	defer n1.Resume()
	proctest.Eventually(t, 20*time.Second, "n1 listed stale", func() bool {
		var nodes []struct {
			ID    string `json:"id"`
			Stale bool   `json:"stale"`
		}
		c.JSON(&nodes, "node", "list", "--json")
		return len(nodes) == 1 && nodes[0].Stale
	})
	out := c.CLI("surface", "list")
	if !strings.Contains(out, "stale: n1 silent for") {
		t.Fatalf("surface list while n1 is silent:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "nauvis") && !strings.Contains(line, " - ") {
			t.Fatalf("a silent surface shows UPS: %q", line)
		}
	}
	if !strings.Contains(c.CLI("node", "list"), "stale") {
		t.Fatal("node list does not say stale")
	}
	n1.Resume()
	proctest.Eventually(t, 20*time.Second, "nauvis live again", ticking)
}

// TestBridgePortsAreCheckedAtCreate: a bridge naming a port its surface does
// not have, or a port of the wrong direction, is refused by `bridge create`
// with exit 1, instead of being accepted and failing later in a status column.
func TestBridgePortsAreCheckedAtCreate(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.WaitNodes("n1")
	c.CLI("surface", "create", "nauvis", "--map", "starter")
	c.CLI("surface", "create", "vulcanus", "--map", "outpost")
	for _, name := range []string{"nauvis", "vulcanus"} {
		proctest.Eventually(t, 60*time.Second, name+" to tick", func() bool {
			var s struct {
				Stats *struct{ Tick uint64 } `json:"stats"`
			}
			c.JSON(&s, "surface", "get", name)
			return s.Stats != nil && s.Stats.Tick > 0
		})
	}
	for _, tc := range []struct {
		from, to, items, want string
	}{
		{"nauvis:nosuch", "vulcanus:in", "", `source port nauvis:nosuch: surface nauvis has no entity labelled "nosuch"`},
		{"nauvis:in", "vulcanus:in", "", "port in is a bridge-import, not a bridge-export"},
		{"nauvis:out", "vulcanus:out", "", "port out is a bridge-export, not a bridge-import"},
		// A filter of unknown items would be refused by the surface and the port
		// would take any item: refused here instead.
		{"nauvis:out", "vulcanus:in", "unobtainium", `source port nauvis:out: item "unobtainium" is not in the surface's prototype bundle`},
		{"nauvis:out", "vulcanus:in", "iron-plate,nosuch,alsonot", `items "nosuch", "alsonot" are not in the surface's prototype bundle`},
		{"nauvis:out", "vulcanus:in", "iron-plate,iron-plate", `"iron-plate" is listed twice`},
	} {
		args := []string{"bridge", "create", "--from", tc.from, "--to", tc.to, "--controller", c.CtlAddr}
		if tc.items != "" {
			args = append(args, "--items", tc.items)
		}
		_, errOut, code := proctest.Run(t, bin, 30*time.Second, args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("bridge %s -> %s (items %q): exit %d, %q; want exit 1 and %q", tc.from, tc.to, tc.items, code, errOut, tc.want)
		}
	}
	c.CLI("bridge", "create", "--from", "nauvis:out", "--to", "vulcanus:in")
}
