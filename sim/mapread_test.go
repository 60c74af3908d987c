package sim

import (
	"slices"
	"testing"
)

// The map readers agree with the per-tile and per-entity views they stand in for.
func TestMapReadersAgreeWithTileAndEntityViews(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Run(900)
	// An area that cuts through entities and chunks (starter spans about 0..37 × -22..7)
	// and reaches into never-generated chunks.
	x0, y0, x1, y1 := int32(-40), int32(-9), int32(30), int32(70)
	s.TilesIn(x0, y0, x1, y1, func(x, y int32, ent EntityID, res ItemID, amount uint32) {
		r, a := s.ResourceAt(x, y)
		if ent != s.EntityAt(x, y) || res != r || amount != a {
			t.Fatalf("TilesIn at %d,%d: entity %d, %d×%d; EntityAt/ResourceAt say %d, %d×%d", x, y, ent, res, amount, s.EntityAt(x, y), r, a)
		}
	})
	var got, want []EntityID
	s.EntitiesIn(x0, y0, x1, y1, func(e EntityInfo) bool { got = append(got, e.ID); return true })
	s.Entities(func(e EntityInfo) bool {
		if e.X <= x1 && e.Y <= y1 && e.X+e.W > x0 && e.Y+e.H > y0 {
			want = append(want, e.ID)
		}
		return true
	})
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("EntitiesIn found %d entities %v, want %d %v", len(got), got, len(want), want)
	}
	if len(want) < 10 {
		t.Fatalf("only %d entities in the area; the test needs a cut through the factory", len(want))
	}

	items := 0
	s.BeltItems(func(it BeltItem) bool {
		items++
		if s.EntityAt(it.X, it.Y) != it.Belt {
			t.Errorf("belt item %v lies on a tile of entity %d", it, s.EntityAt(it.X, it.Y))
		}
		if e, _ := s.Entity(it.Belt); e.Kind != KindBelt && e.Kind != KindUnderground && e.Kind != KindSplitter || e.Dir != it.Dir {
			t.Errorf("belt item %v: entity %+v is not the belt it names", it, e)
		}
		return true
	})
	if items == 0 {
		t.Error("no item on the starter's belts after 900 ticks")
	}
	poles := 0
	s.PowerPoles(func(p PoleInfo) bool {
		poles++
		if e, ok := s.Entity(p.Entity); !ok || e.Kind != KindPole || p.Network < 0 {
			t.Errorf("pole %+v: entity %+v", p, e)
		}
		return true
	})
	if poles == 0 {
		t.Error("no poles on the starter map")
	}
}
