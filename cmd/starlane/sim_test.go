package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/starlane/starlane/sim/blueprint"
)

func TestSimRunJSONContract(t *testing.T) {
	out, _, err := runStarlane(t, "", "sim", "run", "--map", "starter", "--ticks", "7200", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for _, k := range []string{"tick", "entities", "hash", "production", "consumption", "spm", "spm_by_pack"} {
		if _, ok := got[k]; !ok {
			t.Errorf("sim run --json lacks %q", k)
		}
	}
	var sum runSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Tick != 7200 || sum.Entities < 50 || sum.Production["automation-science-pack"] == 0 || sum.SPM <= 0 {
		t.Errorf("the starter factory after two minutes: %+v", sum)
	}
}

// TestSimMapsListsEveryBuiltinMap checks that the binary lists the maps generated in
// sim and those the megabase package registers, in name order.
func TestSimMapsListsEveryBuiltinMap(t *testing.T) {
	out, _, err := runStarlane(t, "", "sim", "maps", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var maps []struct{ Name, Description string }
	if err := json.Unmarshal([]byte(out), &maps); err != nil {
		t.Fatalf("not a JSON list: %v\n%s", err, out)
	}
	var names []string
	for _, m := range maps {
		names = append(names, m.Name)
		if m.Description == "" {
			t.Errorf("map %s has no description", m.Name)
		}
	}
	want := []string{"empty", "hub", "loop", "megabase-10k", "megabase-full", "outpost", "petrochem", "starter"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("sim maps (-want +got):\n%s", diff)
	}
}

func TestSimRunSaveAndContinue(t *testing.T) {
	dir := t.TempDir()
	save := filepath.Join(dir, "starter.sav")
	// 100 ticks, saved, then 100 more equal 200 ticks in one go.
	if _, _, err := runStarlane(t, "", "sim", "run", "--map", "starter", "--ticks", "100", "--save", save); err != nil {
		t.Fatal(err)
	}
	out1, _, err := runStarlane(t, "", "sim", "run", "--map", save, "--ticks", "100", "--json")
	if err != nil {
		t.Fatal(err)
	}
	out2, _, err := runStarlane(t, "", "sim", "run", "--map", "starter", "--ticks", "200", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var a, b runSummary
	json.Unmarshal([]byte(out1), &a)
	json.Unmarshal([]byte(out2), &b)
	if a.Tick != 200 || a.Hash != b.Hash || a.FullHash != b.FullHash {
		t.Errorf("continued from a save: tick %d hash %s/%s; straight run: tick %d hash %s/%s", a.Tick, a.Hash, a.FullHash, b.Tick, b.Hash, b.FullHash)
	}
}

func TestSimRunBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.sav")
	os.WriteFile(garbage, []byte("this is not a save"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sim", "run", "--map", "nosuchmap"}, "no built-in map or save file"},
		{[]string{"sim", "run", "--map", garbage}, "not a Starlane save"},
		{[]string{"sim", "run", "--map", "empty", "--blueprint", filepath.Join(blueprintDir, "rs_latch_2_0.txt")}, "decider-combinator ×3"},
		{[]string{"sim", "run", "--map", "empty", "--blueprint", garbage}, "blueprint"},
		{[]string{"sim", "run", "--map", "empty", "--ticks", "-5"}, "must not be negative"},
		{[]string{"sim", "run", "--map", "empty", "--blueprint", filepath.Join(blueprintDir, "belt_balancer_4x4.txt"), "--at", "a,b"}, "--at"},
	} {
		_, _, err := runStarlane(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

func TestBlueprintPasteExportRoundTripThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	save := filepath.Join(dir, "b.sav")
	src := filepath.Join(blueprintDir, "belt_balancer_4x4.txt")
	out, _, err := runStarlane(t, "", "sim", "run", "--map", "empty", "--blueprint", src, "--at", "10,20", "--ticks", "1", "--save", save, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum runSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum.Blueprint == nil || sum.Blueprint.Entities != 24 {
		t.Fatalf("paste summary %+v (%v)", sum.Blueprint, err)
	}
	str := filepath.Join(dir, "export.txt")
	origin := "10.5,20.5" // --at plus the reported half-tile snap
	if _, _, err := runStarlane(t, "", "blueprint", "export", "--map", save, "--area", "0,0,30,40", "--origin", origin, "--out", str); err != nil {
		t.Fatal(err)
	}
	a, _, err := runStarlane(t, "", "blueprint", "inspect", "--json", src)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runStarlane(t, "", "blueprint", "inspect", "--json", str)
	if err != nil {
		t.Fatal(err)
	}
	var ia, ib struct {
		Entities     int            `json:"entities"`
		EntityCounts map[string]int `json:"entity_counts"`
	}
	json.Unmarshal([]byte(a), &ia)
	json.Unmarshal([]byte(b), &ib)
	if ia.Entities != ib.Entities || len(ia.EntityCounts) != len(ib.EntityCounts) {
		t.Errorf("inspect of the export %+v, of the original %+v", ib, ia)
	}
	// Same names, positions and directions.
	placed := func(path string) []string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		o, err := blueprint.Decode(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		bp, _ := o.Select(0)
		var out []string
		for _, e := range bp.Entities {
			out = append(out, fmt.Sprintf("%s@%s/%d", e.Name, e.Position, e.Direction))
		}
		slices.Sort(out)
		return out
	}
	if d := cmp.Diff(placed(src), placed(str)); d != "" {
		t.Errorf("exported entities differ from the original (-want +got):\n%s", d)
	}
}

func TestBenchJSONContract(t *testing.T) {
	out, _, err := runStarlane(t, "", "bench", "--map", "starter", "--ticks", "300", "--runs", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"entities", "ticks", "ms_per_tick_mean", "ms_per_tick_p99", "ups", "final_hash", "allocs_per_tick"} {
		if _, ok := got[k]; !ok {
			t.Errorf("bench --json lacks %q", k)
		}
	}
	var r benchResult
	json.Unmarshal([]byte(out), &r)
	if r.Ticks != 300 || r.UPS <= 0 || len(r.RunMeansMs) != 2 {
		t.Errorf("bench result %+v", r)
	}
}

func TestBenchMegabaseFull(t *testing.T) {
	out, _, err := runStarlane(t, "", "bench", "--map", "megabase-full", "--ticks", "120", "--warmup", "60", "--runs", "2", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if r.Map != "megabase-full" || r.Entities < 40000 || r.Ticks != 120 || len(r.RunMeansMs) != 2 || r.FinalHash == "" {
		t.Errorf("bench result %+v", r)
	}
}
