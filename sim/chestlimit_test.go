package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/starlane/starlane/sim/blueprint"
)

// limitedPair builds two wooden chests, each fed iron plates by a fast inserter from
// an infinity chest: the one on row 0 limited to its first slot (the game's inventory
// limit, blueprint field "bar"), the one on row 3 not. It returns the chests.
func limitedPair(t *testing.T, s *Surface) (limited, open EntityID) {
	t.Helper()
	one := int32(1)
	plates := &InfinitySettings{Filters: []InfinityFilter{{Item: "iron-plate", Count: 100, Mode: "exactly"}}}
	l := &layout{s: s}
	for _, row := range []int32{0, 3} {
		l.spec(BuildSpec{Name: "infinity-chest", X: 0, Y: row, Infinity: plates})
		l.put("fast-inserter", 1, row, West)
	}
	limited = l.spec(BuildSpec{Name: "wooden-chest", X: 2, Y: 0, Bar: &one})
	open = l.put("wooden-chest", 2, 3, North)
	l.put("substation", 4, 1, North)
	l.put("electric-energy-interface", 6, 1, North)
	if l.err != nil {
		t.Fatal(l.err)
	}
	return limited, open
}

func plates(s *Surface, id EntityID) (n int32) {
	for _, st := range s.Contents(id) {
		if s.b.ItemName(st.Item) == "iron-plate" {
			n += st.Count
		}
	}
	return n
}

// A fast inserter moves about 2.3 plates a second; in 90 s it would put some 200 into
// a chest, but into one limited to one slot only a stack (100) fits. A player may
// still put items into the limited slots.
func TestChestInventoryLimit(t *testing.T) {
	s := newTestSurface(t)
	limited, open := limitedPair(t, s)
	s.Run(60 * 90)
	if got := plates(s, limited); got != 100 {
		t.Errorf("the chest limited to one slot holds %d plates, want one stack (100)", got)
	}
	if got := plates(s, open); got <= 100 {
		t.Errorf("the open chest holds only %d plates after 90 s; the limited one's figure proves nothing", got)
	}
	if _, _, err := s.doInsert(nil, 2, 0, "copper-plate", 50); err != nil {
		t.Errorf("putting copper into the limited chest by hand: %v", err)
	}

	// The limit survives a save and load, and the surface goes on the same.
	back := reload(t, s)
	s.Run(600)
	back.Run(600)
	if s.Hash() != back.Hash() || plates(back, limited) != 100 {
		t.Errorf("after a save and load: hash %x vs %x, limited chest %d plates", back.Hash(), s.Hash(), plates(back, limited))
	}

	// A save of format 5 (before limits were saved) loads with every slot open.
	var old bytes.Buffer
	if err := s.save(&old, 5); err != nil {
		t.Fatal(err)
	}
	v5, err := Load(DefaultBundle(), bytes.NewReader(old.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	v5.Run(60 * 60)
	if got := plates(v5, limited); got <= 100 {
		t.Errorf("a format-5 save's chest took no more plates (%d): its limit should be gone", got)
	}
}

// The limit is exported in blueprints and pasted back; a limit beyond the chest or on
// what is not a chest is refused, never dropped.
func TestChestInventoryLimitInBlueprints(t *testing.T) {
	s := newTestSurface(t)
	limitedPair(t, s)
	bp, err := s.ExportBlueprint(0, 0, 6, 3, Vec{}, "limited")
	if err != nil {
		t.Fatal(err)
	}
	str, err := blueprint.EncodeBlueprint(bp)
	if err != nil {
		t.Fatal(err)
	}
	again := newTestSurface(t)
	if _, err := again.Paste(str, 0, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	again.Run(60 * 90)
	if got := plates(again, again.EntityAt(2, 0)); got != 100 {
		t.Errorf("the pasted limited chest holds %d plates, want 100", got)
	}
	if got := plates(again, again.EntityAt(2, 3)); got <= 100 {
		t.Errorf("the pasted open chest holds %d plates, want more than 100", got)
	}

	for _, tc := range []struct{ entity, want string }{
		{`{"entity_number":1,"name":"wooden-chest","position":{"x":0.5,"y":0.5},"bar":17}`, "inventory limit (bar) 17 is out of range: a wooden-chest has 16 slots (give 0 to 16)"},
		{`{"entity_number":1,"name":"wooden-chest","position":{"x":0.5,"y":0.5},"bar":"x"}`, "not a whole number"},
		{`{"entity_number":1,"name":"stone-furnace","position":{"x":1,"y":1},"bar":1}`, "inventory limit (bar) on stone-furnace (only chests' limits are simulated)"},
	} {
		str := packJSON(t, `{"blueprint":{"item":"blueprint","version":562949954076673,"entities":[`+tc.entity+`]}}`)
		if _, err := newTestSurface(t).Paste(str, 0, 0, 0, 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("paste of %s: %v, want an error saying %q", tc.entity, err, tc.want)
		}
	}
	bad := int32(-1)
	if _, err := newTestSurface(t).Build(BuildSpec{Name: "wooden-chest", Bar: &bad}); err == nil || !strings.Contains(err.Error(), "inventory limit of -1 slots") {
		t.Errorf("a build with a negative limit: %v", err)
	}
	if _, err := newTestSurface(t).Build(BuildSpec{Name: "bridge-export", Bar: new(int32)}); err == nil || !strings.Contains(err.Error(), "only chests have one") {
		t.Errorf("a port with a limit: %v", err)
	}
}
