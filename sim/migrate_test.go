package sim

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"strings"
	"testing"
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
	if _, err := s.doInsert(nil, 12, 10, "iron-plate", 100); err != nil {
		t.Fatal(err)
	}
	// Two plates a hand (no capacity research) every 26 ticks: 100 plates in 1,300 ticks.
	s.Run(1400)
	if got := countIn(s, res.Entities[0], "iron-plate"); got != 100 {
		t.Errorf("the migrated bulk inserter moved %d plates east to west, want all 100", got)
	}
}

func TestPasteRefusesInserterFiltersItCannotHonour(t *testing.T) {
	str := packJSON(t, `{"blueprint":{"item":"blueprint","version":281479275675648,"entities":[
 {"entity_number":1,"name":"filter-inserter","position":{"x":0.5,"y":0.5},"filters":[{"index":1,"name":"iron-plate"}]}]}}`)
	s := newTestSurface(t)
	_, err := s.Paste(str, 0, 0, 0, 0)
	if err == nil || !strings.Contains(err.Error(), "filters on fast-inserter") {
		t.Fatalf("paste of a filter inserter: %v, want a refusal naming the filters", err)
	}
	res, err := s.Paste(str, 0, 0, 0, PasteSkipUnknown)
	if err != nil || res.Built != 1 {
		t.Fatalf("with skip-unknown: built %d, %v; want the inserter without filters", res.Built, err)
	}
	if e, _ := s.Entity(res.Entities[0]); e.Name != "fast-inserter" {
		t.Errorf("built %s, want fast-inserter", e.Name)
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
