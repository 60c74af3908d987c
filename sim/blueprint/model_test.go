package blueprint

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// roundTrip encodes o and decodes the result, failing on any difference.
func roundTrip(t *testing.T, o *Object) *Object {
	t.Helper()
	s, err := Encode(o)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	back := mustDecode(t, s)
	if diff := cmp.Diff(o, back); diff != "" {
		t.Fatalf("decode(encode(x)) differs (-want +got):\n%s", diff)
	}
	return back
}

func TestLegacyConnectionsBecomeWires(t *testing.T) {
	t.Parallel()
	// A Factorio 1.1 layout: two poles, a power switch between them, and two
	// combinators wired red input-to-output and green, each wire listed at
	// both ends as the game does, plus one only listed at one end.
	o := mustDecodeJSON(t, `{"blueprint":{"version":`+v11+`,"entities":[
		{"entity_number":1,"name":"medium-electric-pole","position":{"x":0.5,"y":0.5},"neighbours":[2]},
		{"entity_number":2,"name":"medium-electric-pole","position":{"x":6.5,"y":0.5},"neighbours":[1]},
		{"entity_number":3,"name":"power-switch","position":{"x":3,"y":3},
		 "connections":{"Cu0":[{"entity_id":1,"wire_id":0}],"Cu1":[{"entity_id":2}]}},
		{"entity_number":4,"name":"arithmetic-combinator","position":{"x":0.5,"y":5},"direction":2,
		 "connections":{"2":{"red":[{"entity_id":5,"circuit_id":1}]},"1":{"green":[{"entity_id":5,"circuit_id":2}]}}},
		{"entity_number":5,"name":"decider-combinator","position":{"x":2.5,"y":5},"direction":2,
		 "connections":{"1":{"red":[{"entity_id":4,"circuit_id":2}]},"2":{"green":[{"entity_id":4}]}}}
	]}}`)
	bp := o.Blueprint
	want := []Wire{
		{1, Copper, 2, Copper},
		{1, Copper, 3, Copper},
		{2, Copper, 3, PowerSwitchRightCopper},
		{4, CircuitGreen, 5, CombinatorOutputGreen},
		{4, CombinatorOutputRed, 5, CircuitRed},
	}
	if diff := cmp.Diff(want, bp.Wires); diff != "" {
		t.Fatalf("wires (-want +got):\n%s", diff)
	}
	if bp.Entities[3].Direction != East {
		t.Errorf("1.x direction 2 read as %v, want east", bp.Entities[3].Direction)
	}
	if got := Inspect(o, nil).Wires; got != 5 {
		t.Errorf("inspect counts %d wires, want 5", got)
	}
	// Written back as 1.x, read again: the same wires.
	s, err := Encode(o)
	if err != nil {
		t.Fatal(err)
	}
	text := string(unpack(t, s))
	for _, frag := range []string{`"neighbours":[2]`, `"Cu0":[{"entity_id":1,"wire_id":0}]`, `"Cu1":[{"entity_id":2,"wire_id":0}]`, `"direction":2`} {
		if !strings.Contains(text, frag) {
			t.Errorf("1.x JSON lacks %s:\n%s", frag, text)
		}
	}
	if strings.Contains(text, `"wires"`) {
		t.Errorf("1.x blueprint written with a 2.0 wire list:\n%s", text)
	}
	roundTrip(t, o)
}

func TestWiresIn2xFormat(t *testing.T) {
	t.Parallel()
	bp := mustDecode(t, realStrings(t)["rs_latch_2_0"]).Blueprint
	// From the string: pole 3's copper to the switch's left, the switch's
	// right copper to pole 6, and combinator 4's green output fed back.
	for _, w := range []Wire{{3, Copper, 5, Copper}, {5, PowerSwitchRightCopper, 6, Copper}, {4, CircuitGreen, 4, CombinatorOutputGreen}} {
		found := false
		for _, x := range bp.Wires {
			found = found || x == w
		}
		if !found {
			t.Errorf("wire %+v missing from %+v", w, bp.Wires)
		}
	}
	// Turning a 2.0 blueprint into a 1.x one writes the same wires the 1.x
	// way (switch copper as Cu0/Cu1, combinator wires at both ends).
	bp.Version = MakeVersion(1, 1, 110, 0)
	o := roundTrip(t, &Object{Kind: KindBlueprint, Blueprint: bp})
	if n := len(o.Blueprint.Wires); n != 7 {
		t.Errorf("%d wires after going through 1.x, want 7", n)
	}
}

func TestLegacyBlueprintKeepsWiresItCannotExpress(t *testing.T) {
	t.Parallel()
	o := mustDecodeJSON(t, `{"blueprint":{"version":`+v11+`,"entities":[
		{"entity_number":1,"name":"a","position":{"x":0,"y":0}},
		{"entity_number":2,"name":"b","position":{"x":1,"y":0}}],
		"wires":[[2,1,1,2],[1,6,2,5]]}}`)
	want := []Wire{{1, CircuitGreen, 2, CircuitRed}, {1, PowerSwitchRightCopper, 2, Copper}}
	if diff := cmp.Diff(want, o.Blueprint.Wires); diff != "" {
		t.Fatalf("wires (-want +got):\n%s", diff)
	}
	roundTrip(t, o)
}

func TestBooksFlattenInSlotOrder(t *testing.T) {
	t.Parallel()
	// Slots listed out of order, a nested book, planners, and blueprints
	// that inherit the book's version (written after its blueprints).
	o := mustDecodeJSON(t, `{"blueprint_book":{"item":"blueprint-book","label":"Main","blueprints":[
		{"index":5,"blueprint":{"label":"five","entities":[{"entity_number":1,"name":"inserter","position":{"x":0.5,"y":0.5},"direction":2}]}},
		{"index":1,"blueprint_book":{"label":"inner","blueprints":[
			{"index":3,"blueprint":{"label":"inner three","version":`+v20+`,"entities":[{"entity_number":1,"name":"inserter","position":{"x":0.5,"y":0.5},"direction":2}]}},
			{"index":0,"deconstruction_planner":{"label":"clear","settings":{"trees_and_rocks_only":true}}}]}},
		{"index":2,"upgrade_planner":{"label":"up","settings":{"mappers":[]},"version":`+v20+`}},
		{"index":0,"blueprint":{"label":"zero","tiles":[{"name":"stone-path","position":{"x":-1,"y":2}}]}}
	],"active_index":1,"version":`+v11+`}}`)
	var labels []string
	var slots [][]int
	for i, e := range o.Blueprints() {
		if e.Index != i {
			t.Errorf("entry %d has index %d", i, e.Index)
		}
		labels = append(labels, e.Blueprint.Label)
		slots = append(slots, e.Slots)
	}
	if diff := cmp.Diff([]string{"zero", "inner three", "five"}, labels); diff != "" {
		t.Errorf("flattened order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]int{{0}, {1, 3}, {5}}, slots); diff != "" {
		t.Errorf("slots (-want +got):\n%s", diff)
	}
	five, err := o.Select(2)
	if err != nil {
		t.Fatal(err)
	}
	// "five" has no version of its own: the 1.x book's applies, so its
	// direction 2 is east. "inner three" is 2.0: its direction 2 is NE.
	if five.Version.String() != "1.1.8.0" || five.Entities[0].Direction != East {
		t.Errorf("inherited version %v, direction %v; want 1.1.8.0 and east", five.Version, five.Entities[0].Direction)
	}
	if inner, _ := o.Select(1); inner.Entities[0].Direction != NorthEast {
		t.Errorf("2.0 direction 2 read as %v, want north-east", inner.Entities[0].Direction)
	}
	if _, err := o.Select(3); err == nil || !strings.Contains(err.Error(), "the book holds 3 blueprints (indexes 0 to 2)") {
		t.Errorf("Select(3): %v", err)
	}
	sum := Inspect(o, nil)
	if sum.Kind != KindBook || sum.Label != "Main" || sum.GameVersion != "1.1.8.0" || sum.Blueprints != 3 || sum.Entities != 2 || sum.Tiles != 1 {
		t.Errorf("summary %+v", sum)
	}
	wantPlanners := []PlannerSummary{
		{Kind: KindDeconstructionPlanner, Slots: []int{1, 0}, Label: "clear", GameVersion: "1.1.8.0"},
		{Kind: KindUpgradePlanner, Slots: []int{2}, Label: "up", GameVersion: "2.0.11.3"},
	}
	if diff := cmp.Diff(wantPlanners, sum.Planners); diff != "" {
		t.Errorf("planners (-want +got):\n%s", diff)
	}
	back := roundTrip(t, o)
	if back.Book.ActiveIndex != 1 {
		t.Errorf("active_index %d after round trip", back.Book.ActiveIndex)
	}
}

func TestSelectSingleBlueprint(t *testing.T) {
	t.Parallel()
	o := mustDecode(t, realStrings(t)["belt_balancer_4x4"])
	if bp, err := o.Select(0); err != nil || bp != o.Blueprint {
		t.Errorf("Select(0) = %p, %v", bp, err)
	}
	if _, err := o.Select(1); err == nil || !strings.Contains(err.Error(), "single blueprint") {
		t.Errorf("Select(1): %v", err)
	}
}

func TestEntityFieldsBothEras(t *testing.T) {
	t.Parallel()
	legacy := mustDecodeJSON(t, `{"blueprint":{"version":`+v11+`,"entities":[
		{"entity_number":1,"name":"assembling-machine-3","position":{"x":0.5,"y":0.5},"recipe":"electronic-circuit","items":{"speed-module-3":2,"productivity-module":1}},
		{"entity_number":2,"name":"splitter","position":{"x":3,"y":0.5},"direction":6,"input_priority":"left","output_priority":"right","filter":"iron-plate"},
		{"entity_number":3,"name":"underground-belt","position":{"x":5.5,"y":0.5},"direction":4,"type":"output"},
		{"entity_number":4,"name":"infinity-chest","position":{"x":7.5,"y":0.5},"infinity_settings":{"remove_unfiltered_items":true,"filters":[{"name":"iron-plate","count":100,"mode":"at-least","index":1}]}}
	]}}`).Blueprint
	modern := mustDecodeJSON(t, `{"blueprint":{"version":`+v20+`,"entities":[
		{"entity_number":1,"name":"assembling-machine-3","position":{"x":0.5,"y":0.5},"quality":"rare","recipe":"electronic-circuit","recipe_quality":"uncommon",
		 "items":[{"id":{"name":"speed-module-3","quality":"epic"},"items":{"in_inventory":[{"inventory":4,"stack":0},{"inventory":4,"stack":1,"count":1}]}},{"id":{"name":"productivity-module"},"items":{"in_inventory":[{"inventory":4,"stack":2}]}}]},
		{"entity_number":2,"name":"splitter","position":{"x":3,"y":0.5},"direction":12,"input_priority":"left","output_priority":"right","filter":{"name":"iron-plate","quality":"normal","comparator":"="}},
		{"entity_number":3,"name":"underground-belt","position":{"x":5.5,"y":0.5},"direction":8,"type":"output"},
		{"entity_number":4,"name":"infinity-chest","position":{"x":7.5,"y":0.5},"infinity_settings":{"remove_unfiltered_items":true,"filters":[{"name":"iron-plate","quality":"normal","count":100,"mode":"at-least","index":1}]}}
	]}}`).Blueprint

	for _, bp := range []*Blueprint{legacy, modern} {
		a, s, u, c := bp.Entities[0], bp.Entities[1], bp.Entities[2], bp.Entities[3]
		if a.Recipe != "electronic-circuit" || len(a.Items) != 2 || a.Items[0].Name != "speed-module-3" || a.Items[0].Count != 2 || a.Items[1].Count != 1 {
			t.Errorf("assembler %+v", a)
		}
		if s.Direction != West || s.InputPriority != "left" || s.OutputPriority != "right" || s.Filter == nil || s.Filter.Name != "iron-plate" {
			t.Errorf("splitter %+v", s)
		}
		if u.Direction != South || u.Type != "output" {
			t.Errorf("underground %+v", u)
		}
		if c.Infinity == nil || !c.Infinity.RemoveUnfilteredItems || len(c.Infinity.Filters) != 1 ||
			!cmp.Equal(c.Infinity.Filters[0], InfinityFilter{Index: 1, Name: "iron-plate", Quality: c.Infinity.Filters[0].Quality, Count: 100, Mode: "at-least"}) {
			t.Errorf("infinity chest %+v", c.Infinity)
		}
		roundTrip(t, &Object{Kind: KindBlueprint, Blueprint: bp})
	}
	a := modern.Entities[0]
	if a.Quality != "rare" || a.RecipeQuality != "uncommon" || a.Items[0].Quality != "epic" ||
		!cmp.Equal(a.Items[0].Slots, []InventorySlot{{4, 0, 1}, {4, 1, 1}}) {
		t.Errorf("2.0 assembler %+v", a)
	}
	if f := modern.Entities[1].Filter; f.Quality != "normal" || f.Comparator != "=" {
		t.Errorf("2.0 filter %+v", f)
	}
	// A 1.x filter and 1.x module requests go back out in the 1.x shape.
	text := string(mustEncodeJSON(t, &Object{Kind: KindBlueprint, Blueprint: legacy}))
	for _, frag := range []string{`"filter":"iron-plate"`, `"items":{"speed-module-3":2,"productivity-module":1}`, `"direction":6,"input_priority"`} {
		if !strings.Contains(text, frag) {
			t.Errorf("1.x JSON lacks %s:\n%s", frag, text)
		}
	}
	if text := string(mustEncodeJSON(t, &Object{Kind: KindBlueprint, Blueprint: modern})); !strings.Contains(text, `"direction":12,"input_priority"`) {
		t.Errorf("2.0 splitter facing west not written as 12:\n%s", text)
	}
}

func mustEncodeJSON(t *testing.T, o *Object) []byte {
	t.Helper()
	b, err := EncodeJSON(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnknownFieldsKept(t *testing.T) {
	t.Parallel()
	in := `{"blueprint":{"item":"blueprint","label":"L","snap-to-grid":{"x":4,"y":4},"absolute-snapping":true,
		"entities":[{"entity_number":1,"name":"constant-combinator","position":{"x":0.5,"y":0.5},
			"control_behavior":{"sections":{"sections":[{"index":1,"filters":[{"index":1,"name":"iron-plate","count":5}]}]}},
			"tags":{"my-mod":{"deep":[1,2.50,"\u00e9"]}},"mirror":true,
			"items":[{"id":{"name":"coal"},"items":{"grid_count":3},"future":"kept"}],
			"infinity_settings":{"filters":[{"name":"coal","count":1,"index":1,"later":1}],"extra":{"a":null}},
			"filter":{"name":"coal","extra":[]}}],
		"parameters":[{"type":"number","number":"80","name":"High","variable":"x","formula":"x*2"},{"type":"id","id":"parameter-0","quality-condition":{"quality":"normal","comparator":"="}}],
		"schedules":[{"locomotives":[1]}],"version":` + v20 + `},"extra-top":[1]}`
	o := mustDecodeJSON(t, in)
	e := o.Blueprint.Entities[0]
	if v, ok := e.Extra.Get("tags"); !ok || string(v) != `{"my-mod":{"deep":[1,2.50,"\u00e9"]}}` {
		t.Errorf("tags kept as %s", v)
	}
	if p := o.Blueprint.Parameters; len(p) != 2 || p[0].Number != "80" || p[1].ID != "parameter-0" {
		t.Errorf("parameters %+v", p)
	}
	out := mustEncodeJSON(t, o)
	var want, got any
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("re-encoded JSON lost or changed fields (-in +out):\n%s", diff)
	}
	roundTrip(t, o)
}

func TestEncodeRefusesWhatItCannotWrite(t *testing.T) {
	t.Parallel()
	bp := &Blueprint{Version: MakeVersion(1, 1, 0, 0), Entities: []Entity{{Number: 1, Name: "belt", Direction: 1}}}
	if _, err := EncodeBlueprint(bp); err == nil || !strings.Contains(err.Error(), "north-north-east has no 8-way equivalent") {
		t.Errorf("odd direction in a 1.x blueprint: %v", err)
	}
	bp = &Blueprint{Version: Version20, Entities: []Entity{{Number: 1, Name: "a", Extra: Fields{{"name", json.RawMessage(`"b"`)}}}}}
	if _, err := EncodeBlueprint(bp); err == nil || !strings.Contains(err.Error(), `extra field "name" repeats a field`) {
		t.Errorf("extra repeating a typed key: %v", err)
	}
	bp = &Blueprint{Version: Version20, Entities: []Entity{{Number: 1, Name: "a", Items: []ItemRequest{{Name: "coal", Quality: "rare", Count: 3}}}}}
	if _, err := EncodeBlueprint(bp); err == nil || !strings.Contains(err.Error(), "needs a position for each item") {
		t.Errorf("2.0 request without positions: %v", err)
	}
	if _, err := Encode(&Object{Kind: KindBook}); err == nil {
		t.Error("book kind without a Book encoded")
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	bp := mustDecode(t, realStrings(t)["belt_balancer_4x4"]).Blueprint
	// Entity centres span x -2..1 and y -4..3 tiles.
	b, ok := bp.Bounds(nil)
	if !ok || b != (Box{TilePosition(-2, -4), TilePosition(1, 3)}) {
		t.Errorf("point bounds %v %v", b, ok)
	}
	// With a footprint of one tile around each centre (half a tile each way).
	half := Box{Position{-128, -128}, Position{128, 128}}
	b, _ = bp.Bounds(func(*Entity) Box { return half })
	if b != (Box{Position{-2*256 - 128, -4*256 - 128}, Position{256 + 128, 3*256 + 128}}) {
		t.Errorf("footprint bounds %v", b)
	}
	tiles := &Blueprint{Tiles: []Tile{{"stone-path", TilePosition(-1, 2)}, {"stone-path", TilePosition(3, 2)}}}
	if b, _ := tiles.Bounds(nil); b != (Box{TilePosition(-1, 2), TilePosition(4, 3)}) {
		t.Errorf("tile bounds %v", b)
	}
	if _, ok := (&Blueprint{}).Bounds(nil); ok {
		t.Error("empty blueprint has bounds")
	}
}

func TestInspectUnsupported(t *testing.T) {
	t.Parallel()
	o := mustDecode(t, realStrings(t)["oil_processing_1_1"])
	bundle := map[string]bool{"inserter": true, "steel-chest": true, "medium-electric-pole": true}
	sum := Inspect(o, func(n string) bool { return bundle[n] })
	want := map[string]int{"pipe-to-ground": 114, "pipe": 93, "oil-refinery": 8, "small-lamp": 5,
		"constant-combinator": 4, "storage-tank": 3, "chemical-plant": 2}
	if diff := cmp.Diff(want, sum.Unsupported); diff != "" {
		t.Errorf("unsupported (-want +got):\n%s", diff)
	}
	// The oil build's 11 poles are joined by 10 copper wires, each listed at
	// both ends in the 1.x string.
	if sum.Wires != 10 {
		t.Errorf("wires = %d, want 10", sum.Wires)
	}
	if n := len(Inspect(o, nil).Unsupported); n != 0 {
		t.Errorf("nil bundle reported %d unsupported names", n)
	}
}

func TestInspectJSONContract(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Inspect(mustDecode(t, realStrings(t)["rs_latch_2_0"]), func(string) bool { return false }))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kind", "label", "game_version", "blueprints", "entities", "entity_counts", "wires", "unsupported"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary JSON lacks %q: %s", k, b)
		}
	}
	if m["kind"] != "blueprint" || m["game_version"] != "2.0.12.2" || m["wires"] != 7.0 || m["entities"] != 6.0 {
		t.Errorf("summary JSON %s", b)
	}
}

// A planner, or a book of planners only, has nothing to paste: the error says
// what the string is and what to give instead, not just that no blueprint
// was found.
func TestSelectPlannerSaysWhatToPaste(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ json, want string }{
		{`{"upgrade_planner":{"item":"upgrade-planner","label":"Furnaces","settings":{},"version":` + v11 + `}}`,
			`the string is an upgrade planner ("Furnaces"), which has nothing to paste: Starlane reports planners (blueprint inspect) and never applies them; copy a blueprint, or a book holding one, out of the game`},
		{`{"deconstruction_planner":{"item":"deconstruction-planner","settings":{},"version":` + v11 + `}}`,
			`the string is a deconstruction planner, which has nothing to paste`},
		{`{"blueprint_book":{"item":"blueprint-book","label":"Tools","blueprints":[{"index":0,"upgrade_planner":{"item":"upgrade-planner","settings":{}}}],"version":` + v11 + `}}`,
			`the book "Tools" holds 1 planner and no blueprint, so it has nothing to paste`},
	} {
		_, err := mustDecodeJSON(t, tc.json).Select(0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Select(0): %v\nwant %q", err, tc.want)
		}
	}
}
