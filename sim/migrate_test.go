package sim

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/starlane/starlane/sim/blueprint"
)

func packJSON(t *testing.T, json string) string {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(json))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return "0" + base64.StdEncoding.EncodeToString(z.Bytes())
}

// A Factorio 1.1 build: a stack inserter facing east (1.x direction 2) moves
// plates from the east chest to the west one, on a powered substation.
const legacyInserterJSON = `{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"steel-chest","position":{"x":0.5,"y":0.5}},
 {"entity_number":2,"name":"stack-inserter","position":{"x":1.5,"y":0.5},"direction":2},
 {"entity_number":3,"name":"steel-chest","position":{"x":2.5,"y":0.5}},
 {"entity_number":4,"name":"substation","position":{"x":1,"y":2}},
 {"entity_number":5,"name":"electric-energy-interface","position":{"x":3,"y":2}}
]}}`

func TestPasteMigrates1xNamesAndRuns(t *testing.T) {
	s := newTestSurface(t)
	res, err := s.Paste(packJSON(t, legacyInserterJSON), 10, 10, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Built != 5 || len(res.Renamed) != 1 || res.Renamed[0].String() != "entity stack-inserter → bulk-inserter ×1" {
		t.Fatalf("built %d, renamed %v; want 5 built and stack-inserter → bulk-inserter", res.Built, res.Renamed)
	}
	ins, _ := s.Entity(res.Entities[1])
	if ins.Name != "bulk-inserter" || ins.Dir != East {
		t.Fatalf("entity 2 is %s facing %s, want bulk-inserter facing east", ins.Name, ins.Dir)
	}
	s.Run(1)
	if _, _, err := s.doInsert(nil, 12, 10, "iron-plate", 100); err != nil {
		t.Fatal(err)
	}
	// Two plates a hand (no capacity research) every 26 ticks: 100 plates in 1,300 ticks.
	s.Run(1400)
	if got := countIn(s, res.Entities[0], "iron-plate"); got != 100 {
		t.Errorf("the migrated bulk inserter moved %d plates east to west, want all 100", got)
	}
}

// Inserter filters from both eras: a 1.1 filter inserter (whitelist, migrated to a
// fast inserter with use_filters on) and a 2.0 fast inserter with a blacklist, each
// moving from a chest of iron and copper plates. They are exported as the game
// writes them, each in its slot, kept by a save and load, and a filter the simulation cannot honour
// (by quality) is refused by name.
func TestPasteCarriesInserterFilters(t *testing.T) {
	legacy := packJSON(t, `{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"steel-chest","position":{"x":0.5,"y":0.5}},
 {"entity_number":2,"name":"filter-inserter","position":{"x":1.5,"y":0.5},"direction":2,"filters":[{"index":1,"name":"iron-plate"}]},
 {"entity_number":3,"name":"steel-chest","position":{"x":2.5,"y":0.5}},
 {"entity_number":4,"name":"substation","position":{"x":1,"y":2}},
 {"entity_number":5,"name":"electric-energy-interface","position":{"x":3,"y":2}}]}}`)
	modern := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[
 {"entity_number":1,"name":"steel-chest","position":{"x":0.5,"y":0.5}},
 {"entity_number":2,"name":"fast-inserter","position":{"x":1.5,"y":0.5},"direction":4,"use_filters":true,"filter_mode":"blacklist","filters":[{"index":2,"name":"iron-plate","quality":"normal","comparator":"="}]},
 {"entity_number":3,"name":"steel-chest","position":{"x":2.5,"y":0.5}},
 {"entity_number":4,"name":"substation","position":{"x":1,"y":2}},
 {"entity_number":5,"name":"electric-energy-interface","position":{"x":3,"y":2}}]}}`)
	s := newTestSurface(t)
	var west [2]EntityID
	for k, str := range []string{legacy, modern} {
		res, err := s.Paste(str, 0, int32(10*k), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		west[k] = res.Entities[0]
		if e, _ := s.Entity(res.Entities[1]); e.Name != "fast-inserter" {
			t.Errorf("blueprint %d built %s, want fast-inserter", k, e.Name)
		}
		for _, item := range []string{"iron-plate", "copper-plate"} {
			if _, _, err := s.doInsert(nil, 2, int32(10*k), item, 20); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Run(1400)
	for k, want := range []map[string]int64{{"iron-plate": 20, "copper-plate": 0}, {"iron-plate": 0, "copper-plate": 20}} {
		for item, n := range want {
			if got := countIn(s, west[k], item); got != n {
				t.Errorf("blueprint %d: the west chest holds %d %s, want %d", k, got, item, n)
			}
		}
	}

	back := reload(t, s)
	for _, sf := range []*Surface{s, back} {
		if _, _, err := sf.doInsert(nil, 2, 10, "iron-plate", 5); err != nil {
			t.Fatal(err)
		}
		sf.Run(300)
	}
	if s.Hash() != back.Hash() || countIn(back, west[1], "iron-plate") != 0 {
		t.Errorf("after a save and load the blacklist moved %d iron plates (hashes %x, %x)", countIn(back, west[1], "iron-plate"), back.Hash(), s.Hash())
	}

	bp, err := s.ExportBlueprint(0, 0, 3, 12, Vec{}, "filters")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, be := range bp.Entities {
		if v, ok := be.Extra.Get("filters"); ok {
			mode, _ := be.Extra.Get("filter_mode")
			got = append(got, string(v)+" "+string(mode))
		}
	}
	// Each filter keeps its slot: the 2.0 blueprint's is at index 2.
	if want := []string{`[{"index":1,"name":"iron-plate"}] `, `[{"index":2,"name":"iron-plate"}] "blacklist"`}; !slices.Equal(got, want) {
		t.Errorf("exported filters %q, want %q", got, want)
	}

	for _, tc := range []struct{ filter, want string }{
		{`"filters":[{"index":1,"name":"iron-plate","quality":"rare"}]`, "filters by quality on fast-inserter (quality is not simulated)"},
		{`"filters":[{"index":6,"name":"iron-plate"}]`, "filter index 6 is not between 1 and 5"},
		{`"filter_mode":"greylist"`, `filter_mode "\"greylist\"" is not`},
	} {
		str := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[
 {"entity_number":1,"name":"fast-inserter","position":{"x":0.5,"y":0.5},"use_filters":true,`+tc.filter+`}]}}`)
		if _, err := newTestSurface(t).Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("paste with %s: %v, want an error saying %s", tc.filter, err, tc.want)
		}
	}
	// The game writes use_filters; strings Starlane exported before it wrote the
	// key right (use_filter) keep their filters too. An unknown filter item is
	// refused, not dropped.
	for _, key := range []string{"use_filters", "use_filter"} {
		str := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[
 {"entity_number":1,"name":"fast-inserter","position":{"x":0.5,"y":0.5},"`+key+`":true,"filters":[{"index":1,"name":"copper-plate"}]}]}}`)
		s := newTestSurface(t)
		if _, err := s.Paste(str, 0, 0, 0, 0); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		bp, err := s.ExportBlueprint(-2, -2, 2, 2, Vec{}, "filters")
		if err != nil {
			t.Fatal(err)
		}
		if len(bp.Entities) != 1 {
			t.Fatalf("%s: exported %d entities", key, len(bp.Entities))
		} else if v, _ := bp.Entities[0].Extra.Get("use_filters"); string(v) != "true" {
			t.Errorf("%s: exported use_filters %q, want true", key, v)
		} else if f, _ := bp.Entities[0].Extra.Get("filters"); !strings.Contains(string(f), "copper-plate") {
			t.Errorf("%s: exported filters %s, want copper-plate", key, f)
		}
	}
	unknownItem := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[
 {"entity_number":1,"name":"fast-inserter","position":{"x":0.5,"y":0.5},"use_filters":true,"filters":[{"index":1,"name":"unobtainium-plate"}]}]}}`)
	if _, err := newTestSurface(t).Paste(unknownItem, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), "unobtainium-plate") {
		t.Errorf("a filter of an unknown item: %v, want it refused by name", err)
	}
	if _, err := newTestSurface(t).Build(BuildSpec{Name: "wooden-chest", FilterMode: "whitelist"}); err == nil || !strings.Contains(err.Error(), "only inserters") {
		t.Errorf("a chest with an item filter: %v", err)
	}
}

func TestPasteCarriesModulesFromBothEras(t *testing.T) {
	// 1.1 writes module requests as {"name": count} and calls efficiency modules
	// effectivity modules; 2.0 writes where each goes.
	legacy := packJSON(t, `{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"assembling-machine-3","position":{"x":1.5,"y":1.5},"recipe":"iron-gear-wheel","items":{"productivity-module-3":2,"effectivity-module-2":2}},
 {"entity_number":2,"name":"beacon","position":{"x":1.5,"y":4.5},"items":{"speed-module-3":2}},
 {"entity_number":3,"name":"substation","position":{"x":4,"y":1}},
 {"entity_number":4,"name":"electric-energy-interface","position":{"x":4,"y":4}}]}}`)
	modern := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954142211,"entities":[
 {"entity_number":1,"name":"assembling-machine-3","position":{"x":1.5,"y":1.5},"recipe":"iron-gear-wheel","items":[
   {"id":{"name":"productivity-module-3"},"items":{"in_inventory":[{"inventory":4,"stack":0},{"inventory":4,"stack":1}]}},
   {"id":{"name":"efficiency-module-2"},"items":{"in_inventory":[{"inventory":4,"stack":2},{"inventory":4,"stack":3}]}}]},
 {"entity_number":2,"name":"beacon","position":{"x":1.5,"y":4.5},"items":[{"id":{"name":"speed-module-3"},"items":{"in_inventory":[{"inventory":1,"stack":0},{"inventory":1,"stack":1}]}}]},
 {"entity_number":3,"name":"substation","position":{"x":4,"y":1}},
 {"entity_number":4,"name":"electric-energy-interface","position":{"x":4,"y":4}}]}}`)
	for name, str := range map[string]string{"1.1": legacy, "2.0": modern} {
		s := newTestSurface(t)
		res, err := s.Paste(str, 0, 0, 0, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info, _ := s.Modules(res.Entities[0])
		// 2 × 10 % productivity; speed 2 × -15 % plus one beacon's 150 %.
		if len(info.Modules) != 4 || info.Beacons != 1 || info.Effect.Productivity != 20 || info.Effect.Speed != 120 {
			t.Errorf("%s: modules %+v", name, info)
		}
	}
	s := newTestSurface(t)
	_, err := s.Paste(packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954142211,"entities":[
 {"entity_number":1,"name":"assembling-machine-3","position":{"x":1.5,"y":1.5},"items":[
   {"id":{"name":"quality-module-3","quality":"legendary"},"items":{"in_inventory":[{"inventory":4,"stack":0}]}}]}]}}`), 0, 0, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "quality-module-3 (quality is not simulated)") {
		t.Errorf("paste with a quality module: %v, want a refusal naming it", err)
	}
}

// Settings that change what an entity does and that the simulation does not
// model are refused by name, not pasted without them.
func TestPasteRefusesSettingsItCannotHonour(t *testing.T) {
	for _, tc := range []struct{ entity, want string }{
		{`"name":"bulk-inserter","position":{"x":0.5,"y":0.5},"override_stack_size":3`, "a hand stack size override on bulk-inserter"},
		{`"name":"fast-inserter","position":{"x":0.5,"y":0.5},"drop_position":{"x":0,"y":-1.2}`, "adjusted pickup or drop positions on fast-inserter"},
		{`"name":"assembling-machine-2","position":{"x":1.5,"y":1.5},"mirror":true`, "a mirrored assembling-machine-2"},
	} {
		str := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[{"entity_number":1,`+tc.entity+`}]}}`)
		if _, err := newTestSurface(t).Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("paste of %s: %v, want it refused naming %q", tc.entity, err, tc.want)
		}
	}
}

// A bridge port's label (what bridges find it by) survives an export and a
// paste, in the entity's tags; a paste that would label two entities alike is
// refused.
func TestPortLabelsRoundTrip(t *testing.T) {
	s := newTestSurface(t)
	if _, err := s.Build(BuildSpec{Name: "bridge-export", X: 2, Y: 2, Label: "out"}); err != nil {
		t.Fatal(err)
	}
	bp, err := s.ExportBlueprint(0, 0, 5, 5, Vec{}, "ports")
	if err != nil {
		t.Fatal(err)
	}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestSurface(t)
	if _, err := other.Paste(str, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if id, export, err := other.BridgePort("out"); err != nil || !export || id == 0 {
		t.Fatalf("the pasted port labelled out: #%d export %v, %v", id, export, err)
	}
	if _, err := other.Paste(str, 10, 0, 0, 0); err == nil || !strings.Contains(err.Error(), `label "out" is already entity #`) {
		t.Errorf("a second paste of the labelled port: %v, want refused", err)
	}
}

// 2.0 module requests name their slots: one beyond the machine's module slots,
// or a slot named twice, is refused rather than renumbered.
func TestPasteRefusesImpossibleModuleSlots(t *testing.T) {
	for _, tc := range []struct{ items, want string }{
		{`[{"id":{"name":"speed-module"},"items":{"in_inventory":[{"inventory":4,"stack":9}]}}]`, "speed-module in module slot 9, but assembling-machine-3 has 4 module slots (0 to 3)"},
		{`[{"id":{"name":"speed-module"},"items":{"in_inventory":[{"inventory":4,"stack":0},{"inventory":4,"stack":0}]}}]`, "two modules in module slot 0"},
	} {
		str := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954142211,"entities":[
 {"entity_number":1,"name":"assembling-machine-3","position":{"x":1.5,"y":1.5},"recipe":"iron-gear-wheel","items":`+tc.items+`}]}}`)
		if _, err := newTestSurface(t).Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("paste with modules %s: %v, want %q", tc.items, err, tc.want)
		}
	}
}
