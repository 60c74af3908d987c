package sim

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// facts reads the game numbers the rates are checked against, from the repository's copy
// of the shared facts file (not from the bundle, so a bundle bug cannot hide itself).
type factsForTest struct {
	Entities struct {
		Belts map[string]struct {
			PerSecond float64 `json:"items_per_second_both_lanes"`
		} `json:"transport-belt"`
		Drills map[string]json.RawMessage `json:"mining-drill"`
		Asm    map[string]struct {
			Speed float64 `json:"crafting_speed"`
		} `json:"assembling-machine"`
	} `json:"entities"`
	Recipes map[string]struct {
		Time float64 `json:"energy_required"`
	} `json:"recipes"`
}

func loadFacts(t *testing.T) factsForTest {
	t.Helper()
	raw, err := os.ReadFile("../testdata/factorio/factorio-facts.json")
	if err != nil {
		t.Fatal(err)
	}
	var f factsForTest
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func newTestSurface(t testing.TB) *Surface {
	t.Helper()
	s, err := NewSurface(DefaultBundle(), Config{Name: "test", Planet: "nauvis", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustBuild(t testing.TB, s *Surface, sp BuildSpec) EntityID {
	t.Helper()
	id, err := s.Build(sp)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// powered builds an unlimited power source with a substation covering (x, y) ± 9.
func powered(t testing.TB, s *Surface, x, y int32) {
	t.Helper()
	mustBuild(t, s, BuildSpec{Name: "substation", X: x, Y: y})
	mustBuild(t, s, BuildSpec{Name: "electric-energy-interface", X: x + 2, Y: y})
}

func countIn(s *Surface, id EntityID, item string) int64 {
	it, _ := s.b.ItemID(item)
	var n int64
	for _, st := range s.contents(id) {
		if st.Item == it {
			n += int64(st.Count)
		}
	}
	return n
}

func TestBeltThroughputMatchesFacts(t *testing.T) {
	f := loadFacts(t)
	for _, name := range []string{"transport-belt", "fast-transport-belt", "express-transport-belt", "turbo-transport-belt"} {
		t.Run(name, func(t *testing.T) {
			s := newTestSurface(t)
			const length, block, point = 400, 120, 130
			for x := int32(0); x < length; x++ {
				mustBuild(t, s, BuildSpec{Name: name, X: x, Y: 0, Dir: East})
			}
			s.prepare()
			// Fill the first tiles of both lanes, fully compressed.
			iron, _ := s.b.ItemID("iron-plate")
			for x := int32(0); x < block; x++ {
				ni := s.nodeAt(x, 0)
				n := &s.belts[ni]
				for side := 0; side < 2; side++ {
					for k := int32(0); k < 4; k++ {
						d := (n.k+1)*TileUnits - 1 - k*itemSpacing
						if !s.laneInsert(n.lane[side], d, iron) {
							t.Fatalf("cannot place item at tile %d", x)
						}
					}
				}
			}
			// Count items past a point once the flow has reached it.
			past := func() int {
				n := 0
				for x := int32(point); x < length; x++ {
					for _, st := range s.peekNode(s.nodeAt(x, 0), nil) {
						n += int(st.Count)
					}
				}
				return n
			}
			want := f.Entities.Belts[name].PerSecond
			tilesPerSecond := want / 8 // 4 items per tile per lane, 2 lanes
			s.Run(int((point-block)/tilesPerSecond+1) * 60)
			before := past()
			s.Run(60 * 10)
			got := float64(past()-before) / 10
			if got != want {
				t.Errorf("%s carries %.2f items/s, the game carries %.2f", name, got, want)
			}
		})
	}
}

func TestElectricMiningDrillRate(t *testing.T) {
	iron, _ := DefaultBundle().ItemID("iron-ore")
	s, err := NewSurface(DefaultBundle(), Config{Name: "t", Seed: 1,
		Patches: []Patch{{Resource: iron, X: 0, Y: 0, W: 10, H: 10, Amount: 10000}}})
	if err != nil {
		t.Fatal(err)
	}
	powered(t, s, 6, 6)
	drill := mustBuild(t, s, BuildSpec{Name: "electric-mining-drill", X: 1, Y: 2, Dir: North})
	chest := mustBuild(t, s, BuildSpec{Name: "steel-chest", X: 2, Y: 1})
	_ = drill
	s.Run(60 * 10)
	a := countIn(s, chest, "iron-ore")
	s.Run(60 * 60)
	b := countIn(s, chest, "iron-ore")
	// 0.5 ore/s: mining speed 0.5 over mining time 1.
	if got := b - a; got != 30 {
		t.Errorf("electric mining drill mined %d ore in 60 s, the game mines 30", got)
	}
}

func TestAssemblingMachine1Speed(t *testing.T) {
	f := loadFacts(t)
	s := newTestSurface(t)
	powered(t, s, 5, 0)
	am := mustBuild(t, s, BuildSpec{Name: "assembling-machine-1", X: 0, Y: 0, Recipe: "iron-gear-wheel"})
	// Keep the machine fed from an infinity chest through a fast inserter.
	mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 1, Y: 4, Infinity: &InfinitySettings{
		Filters: []InfinityFilter{{Item: "iron-plate", Count: 100, Mode: "exactly"}}}})
	mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 1, Y: 3, Dir: South})
	mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 0, Y: 3, Dir: North})
	mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 0, Y: 4, Infinity: &InfinitySettings{RemoveUnfiltered: true}})
	s.Run(60 * 10)
	gears, _ := s.b.ItemID("iron-gear-wheel")
	a := s.stats.produced.total[gears]
	s.Run(60 * 60)
	b := s.stats.produced.total[gears]
	want := 60 * f.Entities.Asm["assembling-machine-1"].Speed / f.Recipes["iron-gear-wheel"].Time
	if got := float64(b - a); got != want {
		t.Errorf("assembling machine 1 made %.0f gears in 60 s, the game makes %.0f", got, want)
	}
	_ = am
}

func TestInserterChestToChestCycle(t *testing.T) {
	// An inserter turns at its rotation speed (turns per tick): half a turn takes
	// ceil(0.5/speed) ticks, so a yellow inserter (0.014) cycles in 72 ticks, 0.83 items/s
	// as the wiki lists.
	raw, err := os.ReadFile("../testdata/factorio/factorio-facts.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Entities struct {
			Inserter map[string]json.RawMessage `json:"inserter"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	cycle := func(name string) int {
		var in struct {
			Rotation float64 `json:"rotation_speed"`
		}
		json.Unmarshal(f.Entities.Inserter[name], &in)
		return 2 * int(math.Ceil(0.5/in.Rotation-1e-9))
	}
	for _, tc := range []struct {
		name  string
		ticks int
	}{{"inserter", cycle("inserter")}, {"fast-inserter", cycle("fast-inserter")}, {"long-handed-inserter", cycle("long-handed-inserter")}} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestSurface(t)
			powered(t, s, 5, 0)
			reach := int32(1)
			if tc.name == "long-handed-inserter" {
				reach = 2
			}
			mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 0, Y: 0, Infinity: &InfinitySettings{
				Filters: []InfinityFilter{{Item: "iron-plate", Count: 100, Mode: "exactly"}}}})
			mustBuild(t, s, BuildSpec{Name: tc.name, X: 0, Y: reach, Dir: North})
			out := mustBuild(t, s, BuildSpec{Name: "steel-chest", X: 0, Y: 2 * reach})
			s.Run(200)
			a := countIn(s, out, "iron-plate")
			s.Run(tc.ticks * 50)
			b := countIn(s, out, "iron-plate")
			if b-a != 50 {
				t.Errorf("%s moved %d items in %d ticks, want 50 (one per %d ticks)", tc.name, b-a, tc.ticks*50, tc.ticks)
			}
		})
	}
}

func TestPowerShortageSlowsMachinesInProportion(t *testing.T) {
	// One solar panel at noon gives 60 kW; an assembling machine 1 asks 75 kW while
	// working plus its 2.5 kW drain, so the network is satisfied to 60/77.5 and the machine
	// crafts at that fraction of its speed.
	s := newTestSurface(t)
	mustBuild(t, s, BuildSpec{Name: "assembling-machine-1", X: 0, Y: 0, Recipe: "iron-gear-wheel"})
	mustBuild(t, s, BuildSpec{Name: "small-electric-pole", X: 3, Y: 1})
	mustBuild(t, s, BuildSpec{Name: "solar-panel", X: 4, Y: 0})
	s.prepare()
	_, _, err := s.doInsert(nil, 0, 0, "iron-plate", 100)
	if err != nil {
		t.Fatal(err)
	}
	gears, _ := s.b.ItemID("iron-gear-wheel")
	s.Run(600) // 10 s, well before dusk
	got := float64(s.stats.produced.total[gears])
	want := 10 * 60.0 / 77.5 // gears per second at full power is 1
	if got < want-1 || got > want+1 {
		t.Errorf("made %.0f gears in 10 s on a 60/77.5 satisfied network, want about %.1f", got, want)
	}
	if sat := float64(s.nets[0].sat) / SatOne; sat < 0.76 || sat > 0.79 {
		t.Errorf("satisfaction %.3f, want 60/77.5 = 0.774", sat)
	}
}

func TestBurnerFurnaceBurnsCoalByFuelValue(t *testing.T) {
	// A stone furnace uses 90 kW; coal holds 4 MJ: one coal lasts 44.4 s of smelting.
	s := newTestSurface(t)
	furnace := mustBuild(t, s, BuildSpec{Name: "stone-furnace", X: 0, Y: 0})
	s.prepare()
	if _, _, err := s.doInsert(nil, 0, 0, "coal", 5); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.doInsert(nil, 0, 0, "iron-ore", 50); err != nil {
		t.Fatal(err)
	}
	coal, _ := s.b.ItemID("coal")
	s.Run(60 * 100) // 100 s of smelting: 3.2 s per plate at speed 1
	burnt := s.stats.consumed.total[coal]
	if burnt != 3 { // 100 s / 44.4 s per coal, rounded up: the third coal is burning
		t.Errorf("burnt %d coal in 100 s, want 3", burnt)
	}
	if n := countIn(s, furnace, "iron-plate"); n != 31 { // 100 / 3.2
		t.Errorf("smelted %d plates in 100 s, want 31", n)
	}
}
