package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/sim"
	"github.com/starlane/starlane/sim/blueprint"
)

// TestLiveSurfaceSaveAndExport runs a controller and a node as processes, exports the starter factory's plate belt from the running surface, and downloads
// the surface as a save that loads and continues.
func TestLiveSurfaceSaveAndExport(t *testing.T) {
	dir, bin := processTest(t, "starts a controller and a node")
	c := proctest.StartCluster(t, bin, dir)
	c.StartNode("n1")
	c.WaitNodes("n1")
	c.CLI("surface", "create", "nauvis", "--map", "starter")
	proctest.Eventually(t, 60*time.Second, "nauvis to tick", func() bool {
		var s struct {
			Stats *struct{ Tick uint64 } `json:"stats"`
		}
		out, _, code := proctest.Run(t, bin, 10*time.Second, "surface", "get", "nauvis", "--json", "--controller", c.CtlAddr)
		return code == 0 && jsonInto(out, &s) && s.Stats != nil && s.Stats.Tick > 120
	})

	save := filepath.Join(dir, "nauvis.sav")
	c.CLI("surface", "save", "nauvis", "--out", save)
	data, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the downloaded save does not load: %v", err)
	}
	if s.Tick() == 0 || s.EntityCount() < 50 {
		t.Fatalf("downloaded save at tick %d with %d entities", s.Tick(), s.EntityCount())
	}
	if out, errOut, code := proctest.Run(t, bin, time.Minute, "sim", "run", "--map", save, "--ticks", "60", "--json"); code != 0 || !strings.Contains(out, `"tick"`) {
		t.Fatalf("the downloaded save does not run: exit %d\n%s%s", code, out, errOut)
	}

	// The starter's plate belt runs along y = 0 from x = 0 to 19.
	str := c.CLI("blueprint", "export", "--surface", "nauvis", "--area", "0,0,19,0")
	o, err := blueprint.Decode(strings.TrimSpace(str))
	if err != nil {
		t.Fatalf("export of the running surface does not decode: %v", err)
	}
	bp, _ := o.Select(0)
	if len(bp.Entities) != 20 {
		t.Fatalf("exported %d entities from the plate belt, want 20", len(bp.Entities))
	}
	for _, e := range bp.Entities {
		if e.Name != "transport-belt" || e.Direction != blueprint.Direction(sim.East) {
			t.Errorf("exported %s facing %d, want east-facing transport belts", e.Name, e.Direction)
		}
	}
}

func jsonInto(s string, v any) bool { return json.Unmarshal([]byte(s), v) == nil }
