package sim

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/starlane/starlane/sim/blueprint"
)

func realBlueprint(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../testdata/blueprints/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

type placed struct {
	Name string
	X, Y int32
	Dir  blueprint.Direction
}

func entitiesOf(bp *blueprint.Blueprint, dx, dy int32) []placed {
	var out []placed
	for _, e := range bp.Entities {
		out = append(out, placed{e.Name, e.Position.X + dx*TileUnits, e.Position.Y + dy*TileUnits, e.Direction})
	}
	return out
}

func sortPlaced(p []placed) {
	sortSlice(p, func(a, b placed) bool {
		if a.Y != b.Y {
			return a.Y < b.Y
		}
		if a.X != b.X {
			return a.X < b.X
		}
		return a.Name < b.Name
	})
}

func TestPasteRealBlueprintsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		file   string
		dx, dy int32
	}{
		{"belt_balancer_4x4.txt", 0, 0},
		{"belt_balancer_4x4.txt", 17, -9},
		{"underground_lint_2_0_72.txt", 3, 4},
	} {
		t.Run(tc.file, func(t *testing.T) {
			str := realBlueprint(t, tc.file)
			o, err := blueprint.Decode(str)
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := o.Select(0)
			s := newTestSurface(t)
			res, err := s.Paste(str, tc.dx, tc.dy, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if res.Built != len(orig.Entities) || s.EntityCount() != len(orig.Entities) {
				t.Fatalf("built %d of %d entities", res.Built, len(orig.Entities))
			}
			s.Run(60) // the pasted belts run
			// Export relative to where the paste put the blueprint's origin.
			origin := Vec{tc.dx*TileUnits + res.Shift.X, tc.dy*TileUnits + res.Shift.Y}
			bp, err := s.ExportBlueprint(-1000, -1000, 1000, 1000, origin, "export")
			if err != nil {
				t.Fatal(err)
			}
			exported, err := blueprint.EncodeBlueprint(bp)
			if err != nil {
				t.Fatal(err)
			}
			back, err := blueprint.Decode(exported)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := back.Select(0)
			want := entitiesOf(orig, 0, 0)
			have := entitiesOf(got, 0, 0)
			sortPlaced(want)
			sortPlaced(have)
			if d := cmp.Diff(want, have); d != "" {
				t.Errorf("export(paste(s)) differs from s (-want +got):\n%s", d)
			}
			sum := blueprint.Inspect(back, s.b.Has)
			if sum.Entities != len(orig.Entities) || len(sum.Unsupported) != 0 {
				t.Errorf("inspect of the export: %+v", sum)
			}
		})
	}
}

func TestPasteRefusesUnknownEntitiesUnlessSkipped(t *testing.T) {
	s := newTestSurface(t)
	str := realBlueprint(t, "oil_processing_1_1.txt")
	_, err := s.Paste(str, 0, 0, 0, 0)
	// Fluids are simulated; the combinators and lamps are not.
	if err == nil || !strings.Contains(err.Error(), "constant-combinator ×4") || !strings.Contains(err.Error(), "small-lamp ×5") {
		t.Fatalf("paste of the oil build: %v, want a refusal listing the unknown entities", err)
	}
	if s.EntityCount() != 0 {
		t.Fatalf("a refused paste built %d entities", s.EntityCount())
	}
	res, err := s.Paste(str, 0, 0, 0, PasteSkipUnknown)
	if err != nil {
		t.Fatal(err)
	}
	// Everything but the 4 combinators and 5 lamps is simulated.
	if res.Built != 233 || res.Skipped["small-lamp"] != 5 {
		t.Fatalf("skip-unknown paste built %d, skipped %v", res.Built, res.Skipped)
	}
}

func TestPasteIsAllOrNothing(t *testing.T) {
	s := newTestSurface(t)
	str := realBlueprint(t, "belt_balancer_4x4.txt")
	if _, err := s.Paste(str, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	n := s.EntityCount()
	// Overlapping the first paste by one tile: refused entirely.
	if _, err := s.Paste(str, 1, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "collides") {
		t.Fatalf("overlapping paste: %v", err)
	}
	if s.EntityCount() != n {
		t.Fatalf("a rejected paste changed the entity count from %d to %d", n, s.EntityCount())
	}
	// As a player action the character must carry the items: the starter kit has 10
	// splitters, the balancer needs 6, so the first paste works and the second does not.
	s.Step([]Input{{Player: 1, Data: EncodeAction(Action{Kind: ActJoin, Name: "p"})}})
	splitter, _ := s.b.ItemID("splitter")
	before := slotsCount(s.findPlayer(1).inv, splitter)
	s.Step([]Input{{Player: 1, Data: EncodeAction(PasteAction(str, 0, 30, 0, 0))}})
	if r := s.LastResults()[0]; r.Err != "" {
		t.Fatalf("player paste rejected: %s", r.Err)
	}
	if got := slotsCount(s.findPlayer(1).inv, splitter); got != before-6 {
		t.Fatalf("the paste used %d splitters from the inventory, want 6", before-got)
	}
	n = s.EntityCount()
	s.Step([]Input{{Player: 1, Data: EncodeAction(PasteAction(str, 0, 60, 0, 0))}})
	if r := s.LastResults()[0]; !strings.Contains(r.Err, "missing splitter ×2") {
		t.Fatalf("second player paste: %q, want it refused for 2 missing splitters", r.Err)
	}
	if s.EntityCount() != n {
		t.Fatalf("a refused paste built %d entities", s.EntityCount()-n)
	}
}

// TestPastedBalancerBalances feeds one input of the real 4×4 balancer blueprint and checks
// that its four outputs each get a quarter of the items.
func TestPastedBalancerBalances(t *testing.T) {
	s := newTestSurface(t)
	res, err := s.Paste(realBlueprint(t, "belt_balancer_4x4.txt"), 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Shift != (Vec{128, 128}) {
		t.Fatalf("shift %v, want half a tile each way", res.Shift)
	}
	// The balancer occupies tiles x -2..1, y -4..3 and runs north.
	for x := int32(-2); x <= 1; x++ {
		for y := int32(4); y <= 40; y++ {
			mustBuild(t, s, BuildSpec{Name: "transport-belt", X: x, Y: y, Dir: North})
		}
		for y := int32(-5); y >= -60; y-- {
			mustBuild(t, s, BuildSpec{Name: "transport-belt", X: x, Y: y, Dir: North})
		}
	}
	s.prepare()
	iron, _ := s.b.ItemID("iron-plate")
	fed := 0
	for y := int32(4); y <= 40; y++ {
		n := &s.belts[s.nodeAt(-2, y)]
		for side := 0; side < 2; side++ {
			for k := int32(0); k < 4; k++ {
				if s.laneInsert(n.lane[side], (n.k+1)*TileUnits-1-k*itemSpacing, iron) {
					fed++
				}
			}
		}
	}
	s.Run(60 * 60)
	total := 0
	var out [4]int
	for i, x := range []int32{-2, -1, 0, 1} {
		for y := int32(-5); y >= -60; y-- {
			for _, st := range s.peekNode(s.nodeAt(x, y), nil) {
				out[i] += int(st.Count)
			}
		}
		total += out[i]
	}
	t.Logf("fed %d, outputs %v", fed, out)
	if total != fed {
		t.Fatalf("fed %d items, %d reached the outputs", fed, total)
	}
	for i, n := range out {
		if n < fed/4-fed/20 || n > fed/4+fed/20 {
			t.Errorf("output %d got %d of %d items; a 4x4 balancer gives each output a quarter: %v", i, n, fed, out)
		}
	}
}

func TestPasteUnknownRecipesAndItems(t *testing.T) {
	// A 2.0 blueprint of an assembling machine making kovarex enrichment (the bundle has no
	// such recipe) and a splitter filtering an unknown item.
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "assembling-machine-2", Position: blueprint.Position{X: 384, Y: 384}, Recipe: "kovarex-enrichment-process"},
		{Number: 2, Name: "splitter", Position: blueprint.Position{X: 1024, Y: 128}, Filter: &blueprint.ItemFilter{Name: "uranium-238"}},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSurface(t)
	if _, err := s.Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "recipe kovarex-enrichment-process ×1") || !strings.Contains(err.Error(), "item uranium-238 ×1") {
		t.Fatalf("paste with unknown recipe and item: %v", err)
	}
	res, err := s.Paste(str, 0, 0, 0, PasteSkipUnknown)
	if err != nil {
		t.Fatal(err)
	}
	if res.Built != 2 || res.Skipped["recipe kovarex-enrichment-process"] != 1 {
		t.Fatalf("skip-unknown paste: %+v", res)
	}
	if info, _ := s.Entity(res.Entities[0]); info.Recipe != "" {
		t.Fatalf("the machine was built with recipe %q", info.Recipe)
	}
}

// Settings the simulation does not carry are refused by name, not dropped: an
// inserter's filter by quality, circuit conditions, quality. With
// --skip-unknown the entities are built without them and the paste says so.
func TestPasteRefusesSettingsItCannotSimulate(t *testing.T) {
	raw := func(v string) json.RawMessage { return json.RawMessage(v) }
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "fast-inserter", Position: blueprint.Position{X: 128, Y: 128},
			Extra: blueprint.Fields{{Key: "use_filters", Value: raw("true")}, {Key: "filters", Value: raw(`[{"index":1,"name":"iron-plate","quality":"rare"}]`)}}},
		{Number: 2, Name: "stone-furnace", Position: blueprint.Position{X: 2816, Y: 256}, Extra: blueprint.Fields{{Key: "bar", Value: raw("5")}}},
		{Number: 3, Name: "inserter", Position: blueprint.Position{X: 640, Y: 128},
			Extra: blueprint.Fields{{Key: "control_behavior", Value: raw(`{"circuit_enabled":true}`)}}},
		{Number: 4, Name: "assembling-machine-2", Position: blueprint.Position{X: 1408, Y: 384}, Quality: "rare"},
		{Number: 5, Name: "assembling-machine-2", Position: blueprint.Position{X: 2176, Y: 384}, Recipe: "iron-gear-wheel", RecipeQuality: "epic"},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSurface(t)
	_, err = s.Paste(str, 0, 0, 0, 0)
	for _, want := range []string{
		"filters by quality on fast-inserter (quality is not simulated)",
		"inventory limit (bar) on stone-furnace (only chests' limits are simulated)",
		"circuit settings on inserter (circuit networks are not simulated)",
		"assembling-machine-2 of quality rare (quality is not simulated)",
		"recipe iron-gear-wheel of quality epic (quality is not simulated)",
		"--skip-unknown",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("paste: %v, want a refusal naming %q", err, want)
		}
	}
	if s.EntityCount() != 0 {
		t.Fatalf("a refused paste built %d entities", s.EntityCount())
	}
	res, err := s.Paste(str, 0, 0, 0, PasteSkipUnknown)
	if err != nil {
		t.Fatal(err)
	}
	if res.Built != 5 || len(res.Skipped) != 5 {
		t.Fatalf("skip-unknown paste: built %d, skipped %v", res.Built, res.Skipped)
	}
}

// A 2.0 blueprint made with Space Age is refused naming each Space Age prototype as
// such (not as an unknown name): its entities (stack-inserter is Space Age's new
// inserter in a 2.0 string, not 1.x's, which a 1.x string renames to
// bulk-inserter) and its recipes.
func TestPasteNamesSpaceAgePrototypes(t *testing.T) {
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "foundry", Position: blueprint.Position{X: 640, Y: 640}},
		{Number: 2, Name: "stack-inserter", Position: blueprint.Position{X: 1664, Y: 128}},
		{Number: 3, Name: "assembling-machine-2", Position: blueprint.Position{X: 2432, Y: 384}, Recipe: "tungsten-carbide"},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newTestSurface(t).Paste(str, 0, 0, 0, 0)
	for _, want := range []string{
		"foundry ×1 (a Space Age entity; Starlane simulates the base game without Space Age)",
		"stack-inserter ×1 (a Space Age entity;",
		"recipe tungsten-carbide ×1 (a Space Age recipe;",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("paste: %v, want %q", err, want)
		}
	}
	if _, err := newTestSurface(t).Build(BuildSpec{Name: "foundry"}); err == nil || !strings.Contains(err.Error(), "cannot build foundry: a Space Age entity") {
		t.Errorf("build a foundry: %v", err)
	}
}

// Every name a paste refuses says why: a base-game prototype the bundle does not
// simulate is not a mod's name or a typo, and a parameterised blueprint's
// placeholder recipe is neither. The same reasons come with PasteSkipUnknown.
func TestPasteSaysWhyEachNameIsRefused(t *testing.T) {
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "radar", Position: blueprint.Position{X: 384, Y: 384}},
		{Number: 2, Name: "kr-advanced-assembling-machine", Position: blueprint.Position{X: 1664, Y: 384}},
		{Number: 3, Name: "assembling-machine-2", Position: blueprint.Position{X: 2432, Y: 384}, Recipe: "medium-electric-pole"},
		{Number: 4, Name: "assembling-machine-2", Position: blueprint.Position{X: 3200, Y: 384}, Recipe: "parameter-0"},
		{Number: 5, Name: "assembling-machine-2", Position: blueprint.Position{X: 3968, Y: 384}, Recipe: "kr-imersite-gear-wheel"},
		{Number: 6, Name: "assembling-machine-2", Position: blueprint.Position{X: 4736, Y: 384}, Recipe: "rocket-control-unit"},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"radar ×1 (a base-game entity Starlane does not simulate)",
		"kr-advanced-assembling-machine ×1 (no Factorio 2.0 entity has this name: a mod's, or misspelt)",
		"recipe medium-electric-pole ×1 (a base-game recipe Starlane does not simulate)",
		"recipe parameter-0 ×1 (a blueprint parameter, which the game asks a value for when the blueprint is placed; Starlane pastes no parameters)",
		"recipe kr-imersite-gear-wheel ×1 (no Factorio 2.0 recipe has this name: a mod's, or misspelt)",
		"recipe rocket-control-unit ×1 (a Factorio 1.1 recipe that 2.0 removed)",
	}
	_, err = newTestSurface(t).Paste(str, 0, 0, 0, 0)
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("paste: %v\nwant %q", err, w)
		}
	}
	res, err := newTestSurface(t).Paste(str, 0, 0, 0, PasteSkipUnknown)
	if err != nil {
		t.Fatal(err)
	}
	b := DefaultBundle()
	for _, w := range want {
		key, _, _ := strings.Cut(w, " ×")
		if res.Skipped[key] != 1 {
			t.Errorf("skipped %v, want %s once", res.Skipped, key)
		}
		if got := b.UnknownReason(key); !strings.HasSuffix(w, "("+got+")") {
			t.Errorf("UnknownReason(%q) = %q, want the refusal's %q", key, got, w)
		}
	}
	if _, err := newTestSurface(t).Build(BuildSpec{Name: "radar"}); err == nil || !strings.Contains(err.Error(), "cannot build radar: a base-game entity Starlane does not simulate") {
		t.Errorf("build a radar: %v", err)
	}
}

// An electric energy interface is Starlane's unlimited source, as the game's
// default one (500 GW out, nothing in); one a blueprint sets to draw power, or
// to give none, is a load or a dead box the simulation would turn into a
// source, so it is refused by name.
func TestPasteRefusesEnergyInterfacesThatAreNotSources(t *testing.T) {
	eei := func(extra string) string {
		return `{"blueprint":{"item":"blueprint","version":562949955256320,"entities":[{"entity_number":1,"name":"electric-energy-interface","position":{"x":1,"y":1}` + extra + `}]}}`
	}
	for _, tc := range []struct{ json, refused string }{
		{eei(`,"buffer_size":10000000000`), ""},
		{eei(`,"buffer_size":10000000000,"power_production":8333333333,"power_usage":0`), ""},
		{eei(`,"power_production":0,"power_usage":166666.66666666666`), "an electric-energy-interface set to draw power (power_usage) or to give none (not simulated: Starlane's is an unlimited source) ×1"},
		{eei(`,"power_production":0,"power_usage":0`), "an electric-energy-interface set to draw power (power_usage) or to give none"},
	} {
		checkRefusal(t, tc.json, pasteJSON(t, tc.json), tc.refused)
	}
}

// A setting the paste does not know on an entity it builds is refused by its
// key, not dropped: a later game version, or a mod, may add one that changes
// what the entity does. Settings known to change nothing here pass.
func TestPasteRefusesSettingsItDoesNotKnow(t *testing.T) {
	one := func(extra string) string {
		o, err := blueprint.DecodeJSON([]byte(`{"blueprint":{"item":"blueprint","version":562949955256320,"entities":[{"entity_number":1,"name":"inserter","position":{"x":0.5,"y":0.5}` + extra + `}]}}`))
		if err != nil {
			t.Fatal(err)
		}
		s, err := blueprint.Encode(o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	_, err := newTestSurface(t).Paste(one(`,"grab_priority":"fresh-first"`), 0, 0, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "setting grab_priority on inserter (not simulated) ×1") {
		t.Errorf("paste with an unknown setting: %v", err)
	}
	res, err := newTestSurface(t).Paste(one(`,"grab_priority":"fresh-first"`), 0, 0, 0, PasteSkipUnknown)
	if err != nil || res.Built != 1 {
		t.Errorf("paste with an unknown setting and skip-unknown: built %d, %v", res.Built, err)
	}
	if _, err := newTestSurface(t).Paste(one(`,"spoil_priority":"spoiled-first","player_description":"feeds the lab","transitional_request_index":0`), 0, 0, 0, 0); err != nil {
		t.Errorf("settings that change nothing without spoilage: %v", err)
	}
	// A 2.0 burner's fuel inventory passes when it sets nothing; fuel filters
	// or a limit on it are refused.
	if _, err := newTestSurface(t).Paste(one(`,"burner_fuel_inventory":{}`), 0, 0, 0, 0); err != nil {
		t.Errorf("an empty burner_fuel_inventory: %v", err)
	}
	_, err = newTestSurface(t).Paste(one(`,"burner_fuel_inventory":{"filters":[{"index":1,"name":"coal"}]}`), 0, 0, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "fuel filters or a fuel slot limit on inserter (not simulated) ×1") {
		t.Errorf("paste with fuel filters: %v", err)
	}
}

// Item requests other than modules (fuel, ammunition) are deliveries the game's
// robots make: the paste builds the entities empty and says which requests it
// did not fill, rather than dropping them without a word.
func TestPasteReportsRequestsItDoesNotDeliver(t *testing.T) {
	o, err := blueprint.DecodeJSON([]byte(`{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"stone-furnace","position":{"x":1,"y":1},"items":{"coal":5}},
 {"entity_number":2,"name":"boiler","position":{"x":5.5,"y":1},"items":{"coal":10}},
 {"entity_number":3,"name":"assembling-machine-2","position":{"x":10.5,"y":1.5},"recipe":"iron-gear-wheel","items":{"speed-module":2}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	str, err := blueprint.Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := newTestSurface(t).Paste(str, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"coal": 15}, res.Undelivered); diff != "" {
		t.Errorf("undelivered requests (-want +got):\n%s", diff)
	}
	if got := UndeliveredRequests(DefaultBundle(), o.Blueprint); !cmp.Equal(got, res.Undelivered) {
		t.Errorf("UndeliveredRequests = %v, the paste reported %v", got, res.Undelivered)
	}
}

// A splitter or infinity chest filter by quality is refused as inserter filters
// by quality are: with every item of normal quality, a filter for rare plates
// would match none in the game and all here.
func TestPasteRefusesSplitterAndInfinityFiltersByQuality(t *testing.T) {
	paste := func(entity string) error {
		return pasteJSON(t, `{"blueprint":{"item":"blueprint","version":562949955256320,"entities":[`+entity+`]}}`)
	}
	for _, tc := range []struct{ entity, refused string }{
		{`{"entity_number":1,"name":"splitter","position":{"x":1,"y":0.5},"filter":{"name":"iron-plate","quality":"normal","comparator":"="},"output_priority":"left"}`, ""},
		{`{"entity_number":1,"name":"splitter","position":{"x":1,"y":0.5},"filter":{"name":"iron-plate","quality":"rare","comparator":"="},"output_priority":"left"}`,
			"filters by quality on splitter (quality is not simulated) ×1"},
		{`{"entity_number":1,"name":"splitter","position":{"x":1,"y":0.5},"filter":{"name":"iron-plate","quality":"normal","comparator":"≠"},"output_priority":"left"}`,
			"filters by quality on splitter (quality is not simulated) ×1"},
		{`{"entity_number":1,"name":"infinity-chest","position":{"x":0.5,"y":0.5},"infinity_settings":{"filters":[{"index":1,"name":"iron-plate","quality":"normal","count":50,"mode":"at-least"}]}}`, ""},
		{`{"entity_number":1,"name":"infinity-chest","position":{"x":0.5,"y":0.5},"infinity_settings":{"filters":[{"index":1,"name":"iron-plate","quality":"epic","count":50,"mode":"at-least"}]}}`,
			"filters by quality on infinity-chest (quality is not simulated) ×1"},
	} {
		err := paste(tc.entity)
		checkRefusal(t, tc.entity, err, tc.refused)
	}
}

// A 2.0 request names the inventory each item goes to: modules asked into a
// machine's module inventory are installed, the same modules asked into a chest
// or a machine's input are deliveries, left undelivered like fuel.
func TestPasteInstallsOnlyModulesAskedIntoModuleSlots(t *testing.T) {
	o, err := blueprint.DecodeJSON([]byte(`{"blueprint":{"item":"blueprint","version":562949955256320,"entities":[
 {"entity_number":1,"name":"steel-chest","position":{"x":0.5,"y":0.5},
  "items":[{"id":{"name":"speed-module"},"items":{"in_inventory":[{"inventory":1,"stack":0,"count":2}]}}]},
 {"entity_number":2,"name":"assembling-machine-2","position":{"x":3.5,"y":1.5},"recipe":"speed-module",
  "items":[{"id":{"name":"speed-module"},"items":{"in_inventory":[{"inventory":4,"stack":0},{"inventory":4,"stack":1},{"inventory":2,"stack":0,"count":3}]}}]}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	str, err := blueprint.Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSurface(t)
	res, err := s.Paste(str, 0, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var installed []string
	for _, id := range res.Entities {
		if m, ok := s.Modules(id); ok {
			installed = append(installed, m.Modules...)
		}
	}
	if diff := cmp.Diff([]string{"speed-module", "speed-module"}, installed); diff != "" {
		t.Errorf("installed modules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"speed-module": 5}, res.Undelivered); diff != "" {
		t.Errorf("undelivered (-want +got):\n%s", diff)
	}
}

// A blueprint with absolute snapping goes only where the game would put it, on its
// world grid; elsewhere it is refused with a tile that is on the grid. Relative
// snapping guides only the game's cursor and does not bind an explicit offset.
func TestPasteHonoursAbsoluteSnapping(t *testing.T) {
	raw := func(v string) json.RawMessage { return json.RawMessage(v) }
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "wooden-chest", Position: blueprint.Position{X: 128, Y: 128}},
	}, Extra: blueprint.Fields{
		{Key: "snap-to-grid", Value: raw(`{"x":32,"y":16}`)},
		{Key: "absolute-snapping", Value: raw("true")},
		{Key: "position-relative-to-grid", Value: raw(`{"x":2,"y":0}`)},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSurface(t)
	for _, at := range [][2]int32{{2, 0}, {34, -16}, {-30, 48}} {
		if _, err := s.Paste(str, at[0], at[1], 0, 0); err != nil {
			t.Errorf("paste on the grid at %v: %v", at, err)
		}
	}
	for _, tc := range []struct {
		at   [2]int32
		want string
	}{
		{[2]int32{5, 3}, "paste it at a tile such as 2,0"},
		{[2]int32{-1, -1}, "paste it at a tile such as -30,-16"},
	} {
		n := s.EntityCount()
		_, err := s.Paste(str, tc.at[0], tc.at[1], 0, 0)
		if err == nil || !strings.Contains(err.Error(), "snaps to a 32×16 grid of the world (absolute snapping, offset 2,0)") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("paste off the grid at %v: %v, want it refused with %q", tc.at, err, tc.want)
		}
		if s.EntityCount() != n {
			t.Errorf("a paste refused off the grid built %d entities", s.EntityCount()-n)
		}
	}
	// The same grid without absolute snapping: any offset.
	bp.Extra = bp.Extra[:1]
	if str, err = blueprint.EncodeBlueprint(bp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paste(str, 5, 3, 0, 0); err != nil {
		t.Errorf("paste with relative snapping at 5,3: %v", err)
	}
}

// A paste that came as an action (an act paste step, an API client's ActPaste) is
// refused with the step's word for leaving the unknown out, not the command-line
// flag's; with the flag set the rest is pasted.
func TestPasteActionRefusalNamesTheStepsSkipUnknown(t *testing.T) {
	bp := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "wooden-chest", Position: blueprint.Position{X: 128, Y: 128}},
		{Number: 2, Name: "constant-combinator", Position: blueprint.Position{X: 640, Y: 128}},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSurface(t)
	s.Step([]Input{{Player: 0, Data: EncodeAction(PasteAction(str, 0, 0, 0, 0))}})
	got := s.LastResults()[0].Err
	if !strings.Contains(got, "constant-combinator") || !strings.Contains(got, "add skip-unknown to the paste step") || strings.Contains(got, "--skip-unknown") {
		t.Errorf("refused paste action: %q, want the combinator named and the step's skip-unknown", got)
	}
	if s.EntityCount() != 0 {
		t.Fatalf("a refused paste built %d entities", s.EntityCount())
	}
	s.Step([]Input{{Player: 0, Data: EncodeAction(PasteAction(str, 0, 0, 0, PasteSkipUnknown))}})
	if got := s.LastResults()[0].Err; got != "" || s.EntityCount() != 1 {
		t.Errorf("paste action with PasteSkipUnknown: %q, %d entities; want the chest alone", got, s.EntityCount())
	}
}

// Nothing is built off the map: a build, a paste offset near the int32 range (which
// used to wrap around and overlap) and a walk are refused whole, the map's edge
// tiles are usable, and a negative book index is refused instead of meaning 0.
func TestBuildAndPasteStayOnTheMap(t *testing.T) {
	s := newTestSurface(t)
	str := realBlueprint(t, "belt_balancer_4x4.txt")
	for _, at := range [][2]int32{{MapRadius, 0}, {0, -MapRadius - 1}, {1<<31 - 3, 0}, {-1 << 31, -1 << 31}} {
		if _, err := s.Paste(str, at[0], at[1], 0, 0); err == nil || !strings.Contains(err.Error(), "outside the map") {
			t.Errorf("paste at %v: %v; want it refused as outside the map", at, err)
		}
	}
	for _, sp := range []BuildSpec{{Name: "wooden-chest", X: MapRadius, Y: 0}, {Name: "assembling-machine-1", X: MapRadius - 2, Y: 0},
		{Name: "splitter", X: 1<<31 - 1, Y: 0}, {Name: "wooden-chest", X: 0, Y: -1 << 31}} {
		if _, err := s.Build(sp); err == nil || !strings.Contains(err.Error(), "outside the map") {
			t.Errorf("build %+v: %v; want it refused as outside the map", sp, err)
		}
	}
	if s.EntityCount() != 0 {
		t.Fatalf("%d entities built off the map", s.EntityCount())
	}
	for _, sp := range []BuildSpec{{Name: "wooden-chest", X: MapRadius - 1, Y: MapRadius - 1}, {Name: "assembling-machine-1", X: -MapRadius, Y: -MapRadius}} {
		if _, err := s.Build(sp); err != nil {
			t.Errorf("build at the map's edge %+v: %v", sp, err)
		}
	}
	if _, err := s.Paste(str, MapRadius-10, MapRadius-10, 0, 0); err != nil {
		t.Errorf("paste just inside the edge: %v", err)
	}
	if _, err := s.Paste(str, 0, 0, -1, 0); err == nil || !strings.Contains(err.Error(), "index -1") {
		t.Errorf("paste with index -1: %v; want it refused", err)
	}

	s.Step([]Input{{Player: 1, Data: EncodeAction(Action{Kind: ActJoin, Name: "p"})}})
	pos := s.findPlayer(1).pos
	far := Vec{pos.X - (1<<31 - 1) + TileUnits, pos.Y}
	s.Step([]Input{{Player: 1, Data: EncodeAction(Action{Kind: ActMove, X: far.X, Y: far.Y})}})
	if r := s.LastResults()[0]; r.Err == "" {
		t.Errorf("a walk across the int32 range was accepted; the character is at %v", s.findPlayer(1).pos)
	}
}

// Paste errors name entities by their entity_number, as the blueprint and the game
// do, not by their place in the list.
func TestPasteErrorsNameEntityNumbers(t *testing.T) {
	s := newTestSurface(t)
	centre := func(x int32) blueprint.Position { return blueprint.Position{X: x*256 + 128, Y: 128} }
	bp := &blueprint.Blueprint{Version: blueprint.MakeVersion(2, 0, 72, 0), Entities: []blueprint.Entity{
		{Number: 7, Name: "wooden-chest", Position: centre(0)},
		{Number: 42, Name: "iron-chest", Position: centre(5)},
		{Number: 99, Name: "steel-chest", Position: centre(5)},
	}}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "entities 42 (iron-chest) and 99 (steel-chest) overlap") {
		t.Fatalf("overlapping paste: %v; want it to name entities 42 and 99", err)
	}
	if _, err := s.Build(BuildSpec{Name: "wooden-chest", X: 0, Y: 0}); err != nil {
		t.Fatal(err)
	}
	bp.Entities = bp.Entities[:2]
	if str, err = blueprint.EncodeBlueprint(bp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "blueprint entity 7:") {
		t.Fatalf("paste onto a chest: %v; want it to name entity 7", err)
	}
}

// Modules survive an export: an assembler's, a beacon's, a drill's and a lab's
// modules are written as 2.0 item requests at their slots (the game's module
// inventories; which slot holds which module is not simulated, so they come
// back in request order), and pasting the export builds the same modules again. A request
// for more modules than slots is refused with the count asked.
func TestExportKeepsModules(t *testing.T) {
	mods := func(inv int, names ...string) []blueprint.ItemRequest {
		var out []blueprint.ItemRequest
		for slot, n := range names {
			i := slices.IndexFunc(out, func(q blueprint.ItemRequest) bool { return q.Name == n })
			if i < 0 {
				i = len(out)
				out = append(out, blueprint.ItemRequest{Name: n})
			}
			out[i].Count++
			out[i].Slots = append(out[i].Slots, blueprint.InventorySlot{Inventory: inv, Stack: slot, Count: 1})
		}
		return out
	}
	src := &blueprint.Blueprint{Version: blueprint.Version20, Entities: []blueprint.Entity{
		{Number: 1, Name: "assembling-machine-3", Position: blueprint.Position{X: 3 * TileUnits / 2, Y: 3 * TileUnits / 2}, Recipe: "iron-gear-wheel",
			Items: mods(4, "productivity-module-3", "productivity-module-3", "productivity-module-3", "speed-module-3")},
		{Number: 2, Name: "beacon", Position: blueprint.Position{X: 3*TileUnits + 3*TileUnits/2, Y: 3 * TileUnits / 2}, Items: mods(1, "speed-module-3", "speed-module-3")},
		{Number: 3, Name: "electric-mining-drill", Position: blueprint.Position{X: 3 * TileUnits / 2, Y: 6*TileUnits + 3*TileUnits/2}, Items: mods(2, "efficiency-module", "productivity-module")},
		{Number: 4, Name: "lab", Position: blueprint.Position{X: 6*TileUnits + 3*TileUnits/2, Y: 6*TileUnits + 3*TileUnits/2}, Items: mods(3, "speed-module-2")},
	}}
	str, err := blueprint.EncodeBlueprint(src)
	if err != nil {
		t.Fatal(err)
	}
	modulesOf := func(s *Surface) map[string][]string {
		out := map[string][]string{}
		s.Entities(func(e EntityInfo) bool {
			if info, ok := s.Modules(e.ID); ok {
				out[e.Name] = info.Modules
			}
			return true
		})
		return out
	}
	s := newTestSurface(t)
	if _, err := s.Paste(str, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	want := modulesOf(s)
	if len(want["assembling-machine-3"]) != 4 || len(want["beacon"]) != 2 || len(want["electric-mining-drill"]) != 2 || len(want["lab"]) != 1 {
		t.Fatalf("pasted modules: %v", want)
	}
	bp, err := s.ExportBlueprint(-100, -100, 100, 100, Vec{}, "modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range bp.Entities {
		var orig *blueprint.Entity
		for i := range src.Entities {
			if src.Entities[i].Name == be.Name {
				orig = &src.Entities[i]
			}
		}
		if d := cmp.Diff(orig.Items, be.Items); d != "" {
			t.Errorf("%s exported with other item requests (-pasted +exported):\n%s", be.Name, d)
		}
	}
	exported, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	again := newTestSurface(t)
	if _, err := again.Paste(exported, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, modulesOf(again)); d != "" {
		t.Errorf("paste(export) has other modules (-first paste +second):\n%s", d)
	}

	src.Entities = src.Entities[:1]
	src.Entities[0].Items = []blueprint.ItemRequest{{Name: "speed-module", Count: 20}}
	str, err = blueprint.EncodeBlueprint(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestSurface(t).Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "20 modules, assembling-machine-3 has 4 module slots") {
		t.Errorf("20 modules in 4 slots: %v, want the 20 asked in the refusal", err)
	}
}

// A circuit wire is refused by name like the circuit entities (circuit networks
// are not simulated), and left out and listed with --skip-unknown; a copper wire
// between poles is no refusal, as poles join by reach here.
func TestPasteRefusesCircuitWires(t *testing.T) {
	chests := []blueprint.Entity{
		{Number: 1, Name: "iron-chest", Position: blueprint.Position{X: TileUnits / 2, Y: TileUnits / 2}},
		{Number: 2, Name: "iron-chest", Position: blueprint.Position{X: 3 * TileUnits / 2, Y: TileUnits / 2}},
	}
	wired, err := blueprint.EncodeBlueprint(&blueprint.Blueprint{Version: blueprint.Version20, Entities: chests,
		Wires: []blueprint.Wire{{SourceEntity: 1, SourceConnector: blueprint.CircuitRed, TargetEntity: 2, TargetConnector: blueprint.CircuitRed}}})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSurface(t)
	if _, err := s.Paste(wired, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "circuit wire (circuit networks are not simulated) ×1") {
		t.Fatalf("paste of two chests with a red wire: %v, want the wire refused by name", err)
	}
	res, err := s.Paste(wired, 0, 0, 0, PasteSkipUnknown)
	if err != nil || res.Built != 2 || res.Skipped["circuit wire (circuit networks are not simulated)"] != 1 {
		t.Fatalf("paste with --skip-unknown: %+v %v, want both chests built and the wire listed as left out", res, err)
	}
	poles := []blueprint.Entity{
		{Number: 1, Name: "small-electric-pole", Position: blueprint.Position{X: TileUnits / 2, Y: 20*TileUnits + TileUnits/2}},
		{Number: 2, Name: "small-electric-pole", Position: blueprint.Position{X: 5*TileUnits + TileUnits/2, Y: 20*TileUnits + TileUnits/2}},
	}
	copper, err := blueprint.EncodeBlueprint(&blueprint.Blueprint{Version: blueprint.Version20, Entities: poles,
		Wires: []blueprint.Wire{{SourceEntity: 1, SourceConnector: blueprint.Copper, TargetEntity: 2, TargetConnector: blueprint.Copper}}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := newTestSurface(t).Paste(copper, 0, 0, 0, 0); err != nil || res.Built != 2 {
		t.Fatalf("paste of two poles with a copper wire: %+v %v", res, err)
	}
}

// checkRefusal fails t unless err is nil where refused is empty, or names
// refused where it is not; what names the case in a failure.
func checkRefusal(t *testing.T, what string, err error, refused string) {
	t.Helper()
	switch {
	case refused == "" && err != nil:
		t.Errorf("%s: %v", what, err)
	case refused != "" && (err == nil || !strings.Contains(err.Error(), refused)):
		t.Errorf("%s: %v, want a refusal naming %q", what, err, refused)
	}
}

// pasteJSON pastes the blueprint whose JSON is js onto a fresh test surface at
// 0,0 and returns the paste's error.
func pasteJSON(t *testing.T, js string) error {
	t.Helper()
	o, err := blueprint.DecodeJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	str, err := blueprint.Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newTestSurface(t).Paste(str, 0, 0, 0, 0)
	return err
}
