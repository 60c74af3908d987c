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

// A chunk generated for a build holds the same resources as map generation gives each of
// its tiles, whether a patch covers it whole (a cleared base, an ore field) or in part,
// and a footprint across chunk edges is occupied and freed on every tile.
func TestBuiltChunksKeepTheGeneratedResources(t *testing.T) {
	b := DefaultBundle()
	iron, _ := b.ItemID("iron-ore")
	coal, _ := b.ItemID("coal")
	cfg := Config{Name: "test", Planet: "nauvis", Seed: 3, Patches: []Patch{
		{X: -100, Y: -100, W: 300, H: 300},                             // cleared: whole chunks and edges
		{Resource: iron, X: 32, Y: 32, W: 64, H: 32, Amount: 500},      // exactly two chunks
		{Resource: coal, X: 40, Y: 50, W: 10, H: 30, Amount: 700},      // part of a chunk, over the iron
		{Resource: coal, X: 150, Y: -70, W: 100, H: 100, Amount: 900},  // whole chunks and past the clearing
		{Resource: iron, X: -300, Y: 90, W: 1000, H: 1000, Amount: 10}, // under the clearing: loses there
	}}
	fresh, err := NewSurface(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSurface(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A 3×3 panel astride each chunk corner of the area generates the chunks around it.
	var ids []EntityID
	for y := int32(-127); y < 260; y += 32 {
		for x := int32(-127); x < 260; x += 32 {
			id, err := s.Build(BuildSpec{Name: "solar-panel", X: x - 2, Y: y - 2})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			for dy := int32(-2); dy <= 0; dy++ {
				for dx := int32(-2); dx <= 0; dx++ {
					if s.EntityAt(x+dx, y+dy) != id {
						t.Fatalf("tile %d,%d: entity %d, want the panel %d", x+dx, y+dy, s.EntityAt(x+dx, y+dy), id)
					}
				}
			}
			if _, err := s.Build(BuildSpec{Name: "accumulator", X: x - 1, Y: y}); err == nil {
				t.Fatalf("an accumulator over the panel at %d,%d was built", x-2, y-2)
			}
		}
	}
	for y := int32(-160); y < 300; y++ {
		for x := int32(-160); x < 300; x++ {
			r, a := s.ResourceAt(x, y)
			if wr, wa := fresh.ResourceAt(x, y); r != wr || a != wa {
				t.Fatalf("tile %d,%d: %d×%d in a built chunk, map generation says %d×%d", x, y, r, a, wr, wa)
			}
		}
	}
	for _, id := range ids {
		if _, err := s.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if id := s.EntityAt(31, 31); id != 0 {
		t.Fatalf("tile 31,31 still holds entity %d after its panel was removed", id)
	}
}
