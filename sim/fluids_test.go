package sim

import (
	"sort"
	"strings"
	"testing"

	"github.com/starlane/starlane/sim/fluid"
)

// steamColumn builds the classic power column: one offshore pump feeding 20
// boilers in a row, each boiler's steam going up through two steam engines, on
// substations; loadBeacons beacons (480 kW each, whatever they do) are the load.
func steamColumn(t *testing.T, loadBeacons int) *Surface {
	t.Helper()
	s := newTestSurface(t)
	mustBuild(t, s, BuildSpec{Name: "offshore-pump", X: -1, Y: 1, Dir: West})
	for k := int32(0); k < 20; k++ {
		mustBuild(t, s, BuildSpec{Name: "boiler", X: 3 * k, Y: 0})
		mustBuild(t, s, BuildSpec{Name: "steam-engine", X: 3 * k, Y: -5})
		mustBuild(t, s, BuildSpec{Name: "steam-engine", X: 3 * k, Y: -10})
	}
	for _, x := range []int32{0, 16, 32, 48} {
		mustBuild(t, s, BuildSpec{Name: "substation", X: x, Y: -13})
	}
	mustBuild(t, s, BuildSpec{Name: "medium-electric-pole", X: 56, Y: -13})
	mustBuild(t, s, BuildSpec{Name: "medium-electric-pole", X: 63, Y: -13})
	// The load: rows of ten beacons with a row of medium poles under each.
	for i := 0; i < loadBeacons; i++ {
		r, c := int32(i/10), int32(i%10)
		mustBuild(t, s, BuildSpec{Name: "beacon", X: 70 + 3*c, Y: -40 + 4*r})
	}
	for r := int32(0); r < 8; r++ {
		for x := int32(70); x <= 100; x += 6 {
			mustBuild(t, s, BuildSpec{Name: "medium-electric-pole", X: x, Y: -40 + 4*r + 3})
		}
	}
	s.Step(nil)
	for k := int32(0); k < 20; k++ {
		if _, _, err := s.doInsert(nil, 3*k, 0, "coal", 50); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestSteamPowerColumn(t *testing.T) {
	// From the facts file: an offshore pump gives 1200 water/s (pumping_speed 20 a
	// tick), a boiler turns 60 water/s into steam at 1.8 MW, a steam engine uses 30
	// steam/s for 900 kW. So 1 pump → 20 boilers → 40 engines: 1200 water/s, 1200
	// steam/s, 36 MW, 9 coal/s. The load is 80 beacons: 38.4 MW, so the network is
	// satisfied to 36/38.4 = 0.9375.
	s := steamColumn(t, 80)
	water, _ := s.b.ItemID("water")
	steam, _ := s.b.ItemID("steam")
	coal, _ := s.b.ItemID("coal")
	s.Run(600)
	w0, st0, c0 := s.stats.produced.total[water], s.stats.produced.total[steam], s.stats.consumed.total[coal]
	s.Run(3600)
	dw := s.stats.produced.total[water] - w0
	dst := s.stats.produced.total[steam] - st0
	dc := s.stats.consumed.total[coal] - c0
	if dw < 71_900 || dw > 72_000 {
		t.Errorf("water pumped in a minute: %d, want 72,000 (1200/s)", dw)
	}
	if dst < 71_900 || dst > 72_000 {
		t.Errorf("steam made in a minute: %d, want 72,000 (20 boilers × 60/s)", dst)
	}
	if dc < 538 || dc > 542 {
		t.Errorf("coal burned in a minute: %d, want 540 (20 × 1.8 MW / 4 MJ × 60 s)", dc)
	}
	p := s.Power()
	if len(p.Satisfaction) != 1 {
		t.Fatalf("%d networks, want 1: %+v", p.Networks, p)
	}
	if sat := p.Satisfaction[0]; sat < 0.93 || sat > 0.945 {
		t.Errorf("satisfaction %.4f, want 36 MW / 38.4 MW = 0.9375", sat)
	}
}

func TestSteamFollowsTheLoad(t *testing.T) {
	// A light load (20 beacons, 9.6 MW) uses 320 steam/s of the column's 1200,
	// and the network is fully satisfied.
	s := steamColumn(t, 20)
	steam, _ := s.b.ItemID("steam")
	s.Run(600)
	st0 := s.stats.consumed.total[steam]
	s.Run(3600)
	if d := s.stats.consumed.total[steam] - st0; d < 19_150 || d > 19_250 {
		t.Errorf("steam used in a minute at 9.6 MW: %d, want 19,200 (9.6 MW / 30 kJ)", d)
	}
	if sat := s.Power().Satisfaction[0]; sat != 1 {
		t.Errorf("satisfaction %.4f, want 1", sat)
	}
}

// fill puts fluid into the segment of an entity's first box (test setup).
func fill(t *testing.T, s *Surface, id EntityID, name string, units int64) {
	t.Helper()
	s.prepare()
	f, _ := s.b.ItemID(name)
	seg := s.seg(s.fnodeSeg[s.nodeOf(id, 0)])
	if got := seg.Put(fluid.ID(f), fluid.Amount(units)*fluid.Unit); got != fluid.Amount(units)*fluid.Unit {
		t.Fatalf("filled %d of %d %s", got/fluid.Unit, units, name)
	}
}

func segAmount(s *Surface, id EntityID, box int8) (string, int64) {
	seg := s.seg(s.fnodeSeg[s.nodeOf(id, box)])
	return s.b.ItemName(ItemID(seg.Fluid)), int64(seg.Amount / fluid.Unit)
}

func oilSurface(t *testing.T) *Surface {
	t.Helper()
	crude, _ := DefaultBundle().ItemID("crude-oil")
	// Crude oil at 200 %: 600,000 on one tile gives a pumpjack 20/s.
	s, err := NewSurface(DefaultBundle(), Config{Name: "oil", Seed: 1, Patches: []Patch{{X: -50, Y: -50, W: 150, H: 150},
		{Resource: crude, X: 1, Y: 11, W: 1, H: 1, Amount: 600_000}}})
	if err != nil {
		t.Fatal(err)
	}
	powered(t, s, 8, 0)
	mustBuild(t, s, BuildSpec{Name: "substation", X: 8, Y: 14})
	return s
}

// A pumpjack stands only on crude oil, as in the game: off the field it is refused
// with the tile to move it to, not built to pump nothing.
func TestPumpjackNeedsCrudeOilUnderIt(t *testing.T) {
	s := oilSurface(t)
	_, err := s.Build(BuildSpec{Name: "pumpjack", X: 4, Y: 10})
	if err == nil || !strings.Contains(err.Error(), "no crude oil under its centre tile 5,11") {
		t.Fatalf("pumpjack off the oil: %v, want it refused naming its centre tile", err)
	}
	n := s.EntityCount()
	mustBuild(t, s, BuildSpec{Name: "pumpjack", X: 0, Y: 10})
	if s.EntityCount() != n+1 {
		t.Fatalf("%d entities after building a pumpjack on the oil, want %d", s.EntityCount(), n+1)
	}
}

func TestBasicOilProcessing(t *testing.T) {
	// A pumpjack on a 200 % tile pumps 20 crude/s; a refinery doing basic oil
	// processing turns 100 crude into 45 petroleum gas every 5 s: 20 crude/s in,
	// 9 petroleum/s (540 a minute) out, into a storage tank.
	s := oilSurface(t)
	pj := mustBuild(t, s, BuildSpec{Name: "pumpjack", X: 0, Y: 10})
	// Pumpjack output (1, -1) north of its centre → the tile above its east column;
	// pipes lead it to the refinery's second input, (1, 2) south of the refinery.
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 2, Y: 9})
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 2, Y: 8})
	ref := mustBuild(t, s, BuildSpec{Name: "oil-refinery", X: -1, Y: 3, Recipe: "basic-oil-processing"})
	// Petroleum comes out of the third output, (2, -2) north: up a pipe into a tank.
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 3, Y: 2})
	// A tank's south connection is its bottom-right tile facing south.
	tank := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 1, Y: -1})
	s.Step(nil)
	if f, _ := segAmount(s, pj, 0); f != "" && f != "crude-oil" {
		t.Fatalf("pumpjack segment holds %s", f)
	}
	crude, _ := s.b.ItemID("crude-oil")
	gas, _ := s.b.ItemID("petroleum-gas")
	s.Run(1200)
	c0, g0 := s.stats.produced.total[crude], s.stats.produced.total[gas]
	s.Run(3600)
	if d := s.stats.produced.total[crude] - c0; d < 1190 || d > 1210 {
		t.Errorf("crude pumped in a minute: %d, want 1,200", d)
	}
	if d := s.stats.produced.total[gas] - g0; d < 535 || d > 545 {
		t.Errorf("petroleum made in a minute: %d, want 540", d)
	}
	if f, n := segAmount(s, tank, 0); f != "petroleum-gas" || n < 500 {
		t.Errorf("the tank holds %d %s, want petroleum gas", n, f)
	}
	_ = ref
}

func TestAdvancedOilProcessingAndCracking(t *testing.T) {
	// Advanced oil processing: 100 crude + 50 water → 25 heavy, 45 light, 55
	// petroleum every 5 s. Inputs come from tanks (water in the first input box,
	// crude in the second), outputs go to three tanks.
	s := oilSurface(t)
	ref := mustBuild(t, s, BuildSpec{Name: "oil-refinery", X: 0, Y: 0, Recipe: "advanced-oil-processing"})
	// Inputs at (-1, 2) and (1, 2) south of the centre: the refinery's tiles (1, 4)
	// and (3, 4), facing south. Water comes down a pipe from a tank's east side;
	// crude oil through a pair of pipes-to-ground from a tank further south.
	for y := int32(5); y <= 8; y++ {
		mustBuild(t, s, BuildSpec{Name: "pipe", X: 1, Y: y})
	}
	water := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: -2, Y: 6})
	mustBuild(t, s, BuildSpec{Name: "pipe-to-ground", X: 3, Y: 5, Dir: North})
	mustBuild(t, s, BuildSpec{Name: "pipe-to-ground", X: 3, Y: 9, Dir: South})
	crude := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 3, Y: 10})
	// Outputs at (-2,-2), (0,-2), (2,-2): tiles (0,0), (2,0), (4,0) facing north,
	// each up pipes into its own tank.
	var outs []EntityID
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 0, Y: -1})
	outs = append(outs, mustBuild(t, s, BuildSpec{Name: "storage-tank", X: -2, Y: -4}))
	for y := int32(-1); y >= -6; y-- {
		mustBuild(t, s, BuildSpec{Name: "pipe", X: 2, Y: y})
	}
	outs = append(outs, mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 0, Y: -9}))
	for y := int32(-1); y >= -4; y-- {
		mustBuild(t, s, BuildSpec{Name: "pipe", X: 4, Y: y})
	}
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 5, Y: -4})
	outs = append(outs, mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 6, Y: -4}))
	s.Step(nil)
	fill(t, s, water, "water", 20_000)
	fill(t, s, crude, "crude-oil", 20_000)
	s.Run(6000) // 100 s: 20 crafts
	for i, want := range []struct {
		name string
		n    int64
	}{{"heavy-oil", 500}, {"light-oil", 900}, {"petroleum-gas", 1100}} {
		f, n := segAmount(s, outs[i], 0)
		if f != want.name || n < want.n-55 || n > want.n {
			t.Errorf("output %d: %d %s, want %d %s after 100 s (20 crafts)", i+1, n, f, want.n, want.name)
		}
	}
	// 20 crafts done and the 21st started (its ingredients taken at the start).
	if _, n := segAmount(s, water, 0); n != 20_000-21*50 {
		t.Errorf("water left %d, want 18,950 after 20 crafts and one started", n)
	}
	_ = ref
}

func TestChemicalPlantPlasticAndSulfur(t *testing.T) {
	// Plastic: 20 petroleum + 1 coal → 2 plastic a second (120 a minute); sulfur: 30
	// water + 30 petroleum → 2 sulfur a second.
	for _, tc := range []struct {
		recipe, product string
		fluids          []string // in input box order
	}{
		{"plastic-bar", "plastic-bar", []string{"petroleum-gas"}},
		{"sulfur", "sulfur", []string{"water", "petroleum-gas"}},
	} {
		t.Run(tc.recipe, func(t *testing.T) {
			s := oilSurface(t)
			mustBuild(t, s, BuildSpec{Name: "chemical-plant", X: 0, Y: 0, Recipe: tc.recipe})
			// Inputs at (-1,-1) and (1,-1) north: tiles (0,0) and (2,0), each to a tank above.
			mustBuild(t, s, BuildSpec{Name: "pipe", X: 0, Y: -1})
			mustBuild(t, s, BuildSpec{Name: "pipe", X: -1, Y: -1})
			tanks := []EntityID{
				mustBuild(t, s, BuildSpec{Name: "storage-tank", X: -4, Y: -3}),
			}
			mustBuild(t, s, BuildSpec{Name: "pipe", X: 2, Y: -1})
			mustBuild(t, s, BuildSpec{Name: "pipe", X: 2, Y: -2})
			tanks = append(tanks, mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 0, Y: -5}))
			// Coal in, product out on the east side.
			mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 4, Y: 0, Infinity: &InfinitySettings{
				Filters: []InfinityFilter{{Item: "coal", Count: 50, Mode: "exactly"}}}})
			mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 3, Y: 0, Dir: East})
			mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 3, Y: 2, Dir: West})
			mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: 4, Y: 2, Infinity: &InfinitySettings{RemoveUnfiltered: true}})
			s.Step(nil)
			for k, f := range tc.fluids {
				fill(t, s, tanks[k], f, 20_000)
			}
			id, _ := s.b.ItemID(tc.product)
			s.Run(600)
			a := s.stats.produced.total[id]
			s.Run(3600)
			if d := s.stats.produced.total[id] - a; d < 118 || d > 122 {
				t.Errorf("%s made in a minute: %d, want 120", tc.product, d)
			}
		})
	}
}

func TestFluidsSurviveSaveAndLoad(t *testing.T) {
	s := steamColumn(t, 50)
	s.Run(700)
	l := reload(t, s)
	if l.FullHash() != s.FullHash() {
		t.Fatal("loaded state differs")
	}
	for i := 0; i < 900; i++ {
		s.Step(nil)
		l.Step(nil)
		if s.Hash() != l.Hash() {
			t.Fatalf("tick %d after load: hashes differ", i)
		}
	}
	if l.FullHash() != s.FullHash() {
		t.Error("full state differs 900 ticks after loading")
	}
}

func TestPumpAndMixing(t *testing.T) {
	s := newTestSurface(t)
	powered(t, s, 2, 0)
	// tank A → pipe → pump (facing north: input south, output north) → pipe → tank B.
	a := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 0, Y: 6}) // N conn at (0,6)
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 0, Y: 5})
	mustBuild(t, s, BuildSpec{Name: "pump", X: 0, Y: 3}) // tiles (0,3),(0,4)
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 0, Y: 2})
	b := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: -2, Y: -1}) // S conn at (0,1)
	s.Step(nil)
	fill(t, s, a, "water", 20_000)
	water, _ := s.b.ItemID("water")
	s.Run(600)
	if f, n := segAmount(s, b, 0); f != "water" || n < 11_900 || n > 12_000 {
		t.Errorf("pumped %d %s in 10 s, want 12,000 water (1200/s)", n, f)
	}
	_ = water
	// Tank A holds water, tank C crude oil; a pipe joining their segments is refused.
	c := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: 4, Y: 6}) // west connection at (4,6)
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 3, Y: 6})              // joins C
	mustBuild(t, s, BuildSpec{Name: "pipe", X: 3, Y: 8})              // joins A's east connection at (2,8)
	s.Step(nil)
	fill(t, s, c, "crude-oil", 100)
	if _, err := s.Build(BuildSpec{Name: "pipe", X: 3, Y: 7}); err == nil || !strings.Contains(err.Error(), "would mix") {
		t.Errorf("a pipe joining water and crude oil: %v, want a refusal", err)
	}
}

func TestFluidRecipesNeedFluidBoxes(t *testing.T) {
	s := newTestSurface(t)
	if _, err := s.Build(BuildSpec{Name: "assembling-machine-1", X: 0, Y: 0, Recipe: "electric-engine-unit"}); err == nil ||
		!strings.Contains(err.Error(), "cannot craft electric-engine-unit") {
		t.Errorf("assembling machine 1 with a lubricant recipe: %v", err)
	}
	am := mustBuild(t, s, BuildSpec{Name: "assembling-machine-3", X: 0, Y: 0, Recipe: "electric-engine-unit"})
	s.Step(nil)
	// Its input box (0, -1) north now exists: a pipe north of it joins its segment.
	p := mustBuild(t, s, BuildSpec{Name: "pipe", X: 1, Y: -1})
	s.Step(nil)
	if s.fnodeSeg[s.nodeOf(am, 0)] != s.fnodeSeg[s.nodeOf(p, 0)] {
		t.Error("the pipe does not join the machine's lubricant box")
	}
	if _, err := s.Build(BuildSpec{Name: "chemical-plant", X: 5, Y: 0, Recipe: "basic-oil-processing"}); err == nil {
		t.Error("a chemical plant accepted an oil-processing recipe")
	}
}

func TestEntityHashesNameFluidDifferences(t *testing.T) {
	a := steamColumn(t, 10)
	b := steamColumn(t, 10)
	a.Run(300)
	b.Run(300)
	// Take a little steam out of one column of b: its boiler and engines differ.
	boiler := b.EntityAt(30, 0)
	seg := b.seg(b.fents[b.ents[boiler].slot].seg[1])
	seg.Amount -= fluid.Unit
	ha, hb := a.EntityHashes(), b.EntityHashes()
	var differ []string
	for id, h := range ha {
		if hb[id] != h {
			e, _ := b.Entity(EntityID(id))
			differ = append(differ, e.Name)
		}
	}
	sort.Strings(differ)
	if strings.Join(differ, ",") != "boiler,steam-engine,steam-engine" {
		t.Errorf("entities named by the desync: %v, want the boiler and its two engines", differ)
	}
}

func TestElectricEnginesNeedLubricant(t *testing.T) {
	// An assembling machine 3 makes an electric engine unit from an engine unit, 2
	// circuits and 15 lubricant in 10 s / 1.25 = 8 s: 7.5 a minute while lubricant
	// lasts, none without it.
	s := newTestSurface(t)
	powered(t, s, 5, -6)
	am := mustBuild(t, s, BuildSpec{Name: "assembling-machine-3", X: 0, Y: 0, Recipe: "electric-engine-unit"})
	// Lubricant input (0, -1) north: tile (1, 0) facing north; a tank whose south
	// connection (bottom-right tile) sits at (1, -1).
	tank := mustBuild(t, s, BuildSpec{Name: "storage-tank", X: -1, Y: -3})
	mustBuild(t, s, BuildSpec{Name: "infinity-chest", X: -2, Y: 1, Infinity: &InfinitySettings{Filters: []InfinityFilter{
		{Item: "engine-unit", Count: 20, Mode: "exactly"}, {Item: "electronic-circuit", Count: 40, Mode: "exactly"}}}})
	mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: -1, Y: 1, Dir: West})
	mustBuild(t, s, BuildSpec{Name: "fast-inserter", X: 3, Y: 1, Dir: West})
	mustBuild(t, s, BuildSpec{Name: "steel-chest", X: 4, Y: 1})
	engines, _ := s.b.ItemID("electric-engine-unit")
	s.Run(600)
	if got := s.stats.produced.total[engines]; got != 0 {
		t.Fatalf("made %d engines without lubricant", got)
	}
	fill(t, s, tank, "lubricant", 15*30)
	s.Run(3600)
	if got := s.stats.produced.total[engines]; got < 7 || got > 8 {
		t.Errorf("made %d engines in a minute with lubricant, want 7.5", got)
	}
	if _, n := segAmount(s, am, 0); n > 15*30-15*7 {
		t.Errorf("lubricant left %d, want 15 used per engine", n)
	}
}
