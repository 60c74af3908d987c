package blueprint

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRename2FollowsTheGameMigrations(t *testing.T) {
	for _, tc := range []struct {
		kind     RenameKind
		from, to string
	}{
		// 1.2.0 stack inserter rename.json, then 2.0.0.json.
		{RenameEntity, "stack-inserter", "bulk-inserter"},
		{RenameEntity, "stack-filter-inserter", "bulk-inserter"},
		{RenameEntity, "filter-inserter", "fast-inserter"},
		{RenameEntity, "logistic-chest-requester", "requester-chest"},
		{RenameEntity, "logistic-chest-passive-provider", "passive-provider-chest"},
		{RenameItem, "stack-inserter", "bulk-inserter"},
		{RenameItem, "effectivity-module-2", "efficiency-module-2"},
		{RenameItem, "empty-barrel", "barrel"},
		{RenameItem, "used-up-uranium-fuel-cell", "depleted-uranium-fuel-cell"},
		{RenameRecipe, "fill-crude-oil-barrel", "crude-oil-barrel"},
		{RenameRecipe, "effectivity-module-3", "efficiency-module-3"},
		// 2.0 kept 1.x rails as legacy rails (changelog 2.0.7).
		{RenameEntity, "straight-rail", "legacy-straight-rail"},
		{RenameEntity, "curved-rail", "legacy-curved-rail"},
		// Unchanged names stay.
		{RenameEntity, "transport-belt", "transport-belt"},
		{RenameEntity, "fast-inserter", "fast-inserter"},
		{RenameRecipe, "stack-filter-inserter", "stack-filter-inserter"},
	} {
		got, changed := Rename2(tc.kind, tc.from)
		if got != tc.to || changed != (tc.from != tc.to) {
			t.Errorf("Rename2(%s, %s) = %s, %v; want %s", tc.kind, tc.from, got, changed, tc.to)
		}
	}
}

// legacyJSON is a Factorio 1.1 blueprint in the shape the game wrote: 8-way
// directions, 1.x filter and requester settings, a module request by name.
const legacyJSON = `{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"stack-filter-inserter","position":{"x":0.5,"y":0.5},"direction":2,
  "filters":[{"index":1,"name":"iron-plate"},{"index":2,"name":"empty-barrel"}],"filter_mode":"blacklist"},
 {"entity_number":2,"name":"logistic-chest-requester","position":{"x":1.5,"y":0.5},
  "request_filters":[{"index":1,"name":"effectivity-module","count":10}],"request_from_buffers":true},
 {"entity_number":3,"name":"assembling-machine-3","position":{"x":4.5,"y":1.5},"direction":4,
  "recipe":"effectivity-module-2","items":{"speed-module-3":2,"effectivity-module":1}},
 {"entity_number":4,"name":"steel-chest","position":{"x":0.5,"y":2.5},"bar":5},
 {"entity_number":5,"name":"stack-inserter","position":{"x":1.5,"y":2.5},"direction":6}
]}}`

func TestMigrateRenamesAndKeepsSettings(t *testing.T) {
	o := mustDecodeJSON(t, legacyJSON)
	bp := o.Blueprint
	if !bp.Version.Legacy() {
		t.Fatalf("version %s is not 1.x", bp.Version)
	}
	m, renamed, err := Migrate(bp)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range m.Entities {
		names = append(names, e.Name)
	}
	if diff := cmp.Diff([]string{"bulk-inserter", "requester-chest", "assembling-machine-3", "steel-chest", "bulk-inserter"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	// Directions were doubled by the decoder: 1.x east (2) is 2.0 east (4).
	if m.Entities[0].Direction != East || m.Entities[2].Direction != South || m.Entities[4].Direction != West {
		t.Errorf("directions %v %v %v, want east, south, west", m.Entities[0].Direction, m.Entities[2].Direction, m.Entities[4].Direction)
	}
	if m.Entities[2].Recipe != "efficiency-module-2" {
		t.Errorf("recipe %q, want efficiency-module-2", m.Entities[2].Recipe)
	}
	items := map[string]int64{}
	for _, it := range m.Entities[2].Items {
		items[it.Name] = it.Count
	}
	if diff := cmp.Diff(map[string]int64{"speed-module-3": 2, "efficiency-module": 1}, items); diff != "" {
		t.Errorf("module requests (-want +got):\n%s", diff)
	}
	// The filters keep their slots and mode, with item names migrated, and are
	// switched on as 2.0 writes them.
	var filters []struct {
		Index int    `json:"index"`
		Name  string `json:"name"`
	}
	raw, _ := m.Entities[0].Extra.Get("filters")
	if err := json.Unmarshal(raw, &filters); err != nil {
		t.Fatal(err)
	}
	if len(filters) != 2 || filters[0].Name != "iron-plate" || filters[1].Name != "barrel" || filters[1].Index != 2 {
		t.Errorf("filters %+v, want iron-plate and barrel in slots 1 and 2", filters)
	}
	if v, _ := m.Entities[0].Extra.Get("use_filters"); string(v) != "true" {
		t.Errorf("use_filters %q, want true", v)
	}
	if v, _ := m.Entities[0].Extra.Get("filter_mode"); string(v) != `"blacklist"` {
		t.Errorf("filter_mode %s, want blacklist kept", v)
	}
	if v, _ := m.Entities[4].Extra.Get("use_filters"); v != nil {
		t.Errorf("a stack inserter (no filters) got use_filters %s", v)
	}
	raw, _ = m.Entities[1].Extra.Get("request_filters")
	var reqs []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(raw, &reqs); err != nil || len(reqs) != 1 || reqs[0].Name != "efficiency-module" || reqs[0].Count != 10 {
		t.Errorf("request filters %s (%v), want efficiency-module ×10", raw, err)
	}
	if v, _ := m.Entities[1].Extra.Get("request_from_buffers"); string(v) != "true" {
		t.Errorf("request_from_buffers %q lost", v)
	}
	if v, _ := m.Entities[3].Extra.Get("bar"); string(v) != "5" {
		t.Errorf("chest bar %q, want 5 kept", v)
	}
	want := []string{
		"entity logistic-chest-requester → requester-chest ×1",
		"entity stack-filter-inserter → bulk-inserter ×1",
		"entity stack-inserter → bulk-inserter ×1",
		"item effectivity-module → efficiency-module ×2",
		"item empty-barrel → barrel ×1",
		"recipe effectivity-module-2 → efficiency-module-2 ×1",
	}
	var got []string
	for _, r := range renamed {
		got = append(got, r.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("renames (-want +got):\n%s", diff)
	}
	// The decoded blueprint itself is left as the string said.
	if bp.Entities[0].Name != "stack-filter-inserter" {
		t.Errorf("Migrate changed its input: %s", bp.Entities[0].Name)
	}
}

func TestMigrateLeaves20BlueprintsAlone(t *testing.T) {
	for name, str := range realStrings(t) {
		o := mustDecode(t, str)
		for _, e := range o.Blueprints() {
			m, renamed, err := Migrate(e.Blueprint)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !e.Blueprint.Version.Legacy() && m != e.Blueprint {
				t.Errorf("%s: a 2.0 blueprint was copied", name)
			}
			// None of the real strings uses a renamed prototype: the 0.17 balancer
			// and the 1.1 oil build keep every name.
			if len(renamed) != 0 {
				t.Errorf("%s: renamed %v", name, renamed)
			}
			if diff := cmp.Diff(e.Blueprint.Entities, m.Entities); diff != "" {
				t.Errorf("%s: migration changed entities:\n%s", name, diff)
			}
		}
	}
}

func TestInspectCountsMigratedNamesAsSupported(t *testing.T) {
	o := mustDecodeJSON(t, legacyJSON)
	known := map[string]bool{"bulk-inserter": true, "assembling-machine-3": true, "steel-chest": true}
	sum := Inspect(o, func(n string) bool { return known[n] })
	if diff := cmp.Diff(map[string]int{"logistic-chest-requester": 1}, sum.Unsupported); diff != "" {
		t.Errorf("unsupported (-want +got):\n%s", diff)
	}
	// An unsupported 1.x name says which 2.0 name a paste looks for (and refuses).
	if diff := cmp.Diff(map[string]string{"logistic-chest-requester": "requester-chest"}, sum.UnsupportedAs); diff != "" {
		t.Errorf("unsupported_as (-want +got):\n%s", diff)
	}
	if sum.EntityCounts["stack-inserter"] != 1 {
		t.Errorf("entity counts keep the names the string has: %v", sum.EntityCounts)
	}
	// Inspect says what a paste will rename, as Migrate does.
	_, renamed, err := Migrate(o.Blueprint)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range renamed {
		want = append(want, r.String())
	}
	slices.Sort(want)
	if len(want) == 0 || !slices.Equal(sum.Migrated, want) || !slices.Contains(sum.Migrated, "entity stack-inserter → bulk-inserter ×1") {
		t.Errorf("inspect's migrated %q, want Migrate's %q", sum.Migrated, want)
	}
	if two := Inspect(mustDecodeJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[]}}`), nil); len(two.Migrated) != 0 {
		t.Errorf("a 2.0 blueprint lists migrations %q", two.Migrated)
	}
}

// A 0.16 blueprint names the science packs and the wall as 0.16 did; the game's
// 0.17 migrations renamed them, and only blueprints older than a migration
// get it (a 1.1 string naming science-pack-1 names nothing the 1.1 game had).
func TestMigrateAppliesTheStepsTheBlueprintPredates(t *testing.T) {
	const entities = `"entities":[
 {"entity_number":1,"name":"assembling-machine-2","position":{"x":1.5,"y":1.5},"recipe":"science-pack-1"},
 {"entity_number":2,"name":"assembling-machine-2","position":{"x":4.5,"y":1.5},"recipe":"high-tech-science-pack"},
 {"entity_number":3,"name":"wall","position":{"x":0.5,"y":4.5}},
 {"entity_number":4,"name":"stack-filter-inserter","position":{"x":1.5,"y":4.5},"filters":[{"index":1,"name":"raw-wood"}]}]`
	old := mustDecodeJSON(t, `{"blueprint":{"item":"blueprint","version":`+strconv.FormatUint(uint64(MakeVersion(0, 16, 51, 0)), 10)+`,`+entities+`}}`).Blueprint
	m, renamed, err := Migrate(old)
	if err != nil {
		t.Fatal(err)
	}
	if m.Entities[0].Recipe != "automation-science-pack" || m.Entities[1].Recipe != "utility-science-pack" || m.Entities[2].Name != "stone-wall" {
		t.Errorf("0.16 blueprint migrated to recipes %q, %q and entity %q; want automation-science-pack, utility-science-pack, stone-wall",
			m.Entities[0].Recipe, m.Entities[1].Recipe, m.Entities[2].Name)
	}
	if raw, _ := m.Entities[3].Extra.Get("filters"); !strings.Contains(string(raw), `"wood"`) {
		t.Errorf("filters %s, want raw-wood renamed to wood", raw)
	}
	var got []string
	for _, r := range renamed {
		got = append(got, r.String())
	}
	want := []string{
		"entity stack-filter-inserter → bulk-inserter ×1",
		"entity wall → stone-wall ×1",
		"item raw-wood → wood ×1",
		"recipe high-tech-science-pack → utility-science-pack ×1",
		"recipe science-pack-1 → automation-science-pack ×1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("renames (-want +got):\n%s", diff)
	}

	recent := mustDecodeJSON(t, `{"blueprint":{"item":"blueprint","version":`+strconv.FormatUint(uint64(MakeVersion(1, 1, 110, 0)), 10)+`,`+entities+`}}`).Blueprint
	m, _, err = Migrate(recent)
	if err != nil {
		t.Fatal(err)
	}
	if to, _ := RenameSince(Version20, RenameEntity, "straight-rail"); to != "straight-rail" {
		t.Errorf("a 2.0 straight-rail became %s", to)
	}
	if m.Entities[0].Recipe != "science-pack-1" || m.Entities[2].Name != "wall" || m.Entities[3].Name != "bulk-inserter" {
		t.Errorf("1.1 blueprint got the 0.17 renames (%q, %q) or lost the 2.0 ones (%q)", m.Entities[0].Recipe, m.Entities[2].Name, m.Entities[3].Name)
	}
	// Inspect follows the same versions: the 0.16 wall is a stone wall.
	sum := Inspect(&Object{Kind: KindBlueprint, Blueprint: old}, func(n string) bool { return n == "stone-wall" || n == "assembling-machine-2" || n == "bulk-inserter" })
	if len(sum.Unsupported) != 0 {
		t.Errorf("inspect of the 0.16 blueprint lists unsupported %v", sum.Unsupported)
	}
}
