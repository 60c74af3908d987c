package sim

import (
	"bytes"
	"testing"
)

// napRun runs a map with sleeping on or off and random inputs on the first inputTicks
// ticks, reporting the hash of every tick, the full hash every 500 ticks and, with
// sleeping on, how often drills and inserters napped and how often a network's
// satisfaction changed while some of its entities napped.
type napRun struct {
	hashes, full      []uint64
	maxNaps, satWakes int
}

func runNaps(t *testing.T, mapName string, ticks, inputTicks int, sleeping bool) napRun {
	t.Helper()
	s, err := NewMap(DefaultBundle(), mapName, 7, "")
	if err != nil {
		t.Fatal(err)
	}
	s.SetSleeping(sleeping)
	ri := newRandomInputs(s.b, 41, 3)
	var out napRun
	var napsBefore []int32
	var satBefore []int32
	for i := 1; i <= ticks; i++ {
		var in []Input
		if i <= inputTicks {
			in = ri.tick(s, uint64(i))
		}
		s.Step(in)
		out.hashes = append(out.hashes, s.Hash())
		if i%500 == 0 {
			out.full = append(out.full, s.FullHash())
		}
		out.maxNaps = max(out.maxNaps, s.naps.count)
		if len(napsBefore) == len(s.nets) {
			for k := range s.nets {
				if napsBefore[k] > 0 && s.nets[k].sat != satBefore[k] {
					out.satWakes++
				}
			}
		}
		napsBefore, satBefore = napsBefore[:0], satBefore[:0]
		for k := range s.nets {
			napsBefore = append(napsBefore, s.nets[k].naps)
			satBefore = append(satBefore, s.nets[k].sat)
		}
	}
	return out
}

// TestNapsChangeNothing runs maps with drills and inserters napping and with every
// entity awake, through random builds, removals, rotations and transfers and then
// through the evening (the solar panels' light falls from tick 6,250, so the networks'
// satisfaction changes while entities nap), and compares the state hash of every tick
// and the full state every 500 ticks.
func TestNapsChangeNothing(t *testing.T) {
	t.Parallel()
	const ticks, inputTicks = 12500, 4000
	for _, m := range []string{"starter", "outpost", "petrochem"} {
		a := runNaps(t, m, ticks, inputTicks, true)
		b := runNaps(t, m, ticks, inputTicks, false)
		for i := range a.hashes {
			if a.hashes[i] != b.hashes[i] {
				t.Fatalf("%s, tick %d: hash %016x with naps, %016x without", m, i+1, a.hashes[i], b.hashes[i])
			}
		}
		for i := range a.full {
			if a.full[i] != b.full[i] {
				t.Fatalf("%s, tick %d: full hash %016x with naps, %016x without", m, (i+1)*500, a.full[i], b.full[i])
			}
		}
		if a.maxNaps == 0 {
			t.Errorf("%s: nothing napped", m)
		}
		if b.maxNaps != 0 {
			t.Errorf("%s: %d entities napped with sleeping off", m, b.maxNaps)
		}
		t.Logf("%s: up to %d entities napping, %d satisfaction changes woke naps", m, a.maxNaps, a.satWakes)
	}
}

// TestNapsSurviveSaveAndLoad saves a surface while drills and inserters nap: the save
// holds their progress as if they had been updated on every tick, and the loaded copy,
// which starts with every entity awake, runs on with the same hashes.
func TestNapsSurviveSaveAndLoad(t *testing.T) {
	t.Parallel()
	b := DefaultBundle()
	s, err := NewMap(b, "starter", 3, "")
	if err != nil {
		t.Fatal(err)
	}
	awake, err := NewMap(b, "starter", 3, "")
	if err != nil {
		t.Fatal(err)
	}
	awake.SetSleeping(false)
	for s.Tick() < 3000 || s.naps.count == 0 {
		s.Step(nil)
		awake.Step(nil)
		if s.Tick() > 6000 {
			t.Fatal("nothing napped in 6,000 ticks")
		}
	}
	var buf, awakeBuf bytes.Buffer
	if err := s.Save(&buf); err != nil {
		t.Fatal(err)
	}
	if err := awake.Save(&awakeBuf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), awakeBuf.Bytes()) {
		t.Fatalf("with %d entities napping the save differs from the one of a surface without naps", s.naps.count)
	}
	loaded, err := Load(b, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		s.Step(nil)
		loaded.Step(nil)
		if s.Hash() != loaded.Hash() {
			t.Fatalf("tick %d: the loaded copy diverged", s.Tick())
		}
	}
	if s.FullHash() != loaded.FullHash() || s.FullHash() != func() uint64 { awake.Run(3000); return awake.FullHash() }() {
		t.Fatal("full hashes differ after 3,000 more ticks")
	}
}

// TestDrillCoverBoundsTheDrillsOnATile checks the bound naps rely on for the bundle's
// drills: electric mining drills (5×5 area, 3×3 footprint) and burner drills (2×2).
func TestDrillCoverBoundsTheDrillsOnATile(t *testing.T) {
	// The most electric mining drills that can reach one tile is 4 (two columns and
	// two rows of centres three tiles apart within its 5×5 neighbourhood).
	if c := drillCover(DefaultBundle()); c < 4 {
		t.Fatalf("drillCover = %d, below the 4 electric mining drills that can share a tile", c)
	}
}

// shortPowerDrills builds four electric mining drills with overlapping mining areas,
// their output chests and inserters moving the ore on, on four solar panels: the network
// is short of power all day (the drills and inserters nap at a satisfaction below 1) and
// its satisfaction changes on every tick of the evening. Half of the patch holds little
// ore, so its tiles run out under the drills.
func shortPowerDrills(t *testing.T, sleeping bool) *Surface {
	t.Helper()
	iron, _ := DefaultBundle().ItemID("iron-ore")
	s, err := NewSurface(DefaultBundle(), Config{Name: "t", Seed: 1, Patches: []Patch{
		{Resource: iron, X: -1, Y: 0, W: 16, H: 4, Amount: 100_000},
		{Resource: iron, X: -1, Y: 4, W: 16, H: 3, Amount: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	s.SetSleeping(sleeping)
	mustBuild(t, s, BuildSpec{Name: "substation", X: 6, Y: 5})
	for k := int32(0); k < 4; k++ {
		mustBuild(t, s, BuildSpec{Name: "solar-panel", X: 3 * k, Y: 8})
		x := 1 + 3*k
		mustBuild(t, s, BuildSpec{Name: "electric-mining-drill", X: x, Y: 2, Dir: North})
		mustBuild(t, s, BuildSpec{Name: "steel-chest", X: x + 1, Y: 1})
		mustBuild(t, s, BuildSpec{Name: []string{"inserter", "fast-inserter", "long-handed-inserter", "inserter"}[k], X: x + 1, Y: 0, Dir: South})
		mustBuild(t, s, BuildSpec{Name: "steel-chest", X: x + 1, Y: -1})
	}
	return s
}

func TestNapsFollowAShortNetwork(t *testing.T) {
	t.Parallel()
	a, b := shortPowerDrills(t, true), shortPowerDrills(t, false)
	maxNaps, wakes := 0, 0
	for i := 1; i <= 14000; i++ {
		naps, sat := a.naps.count, int32(-1)
		if len(a.nets) == 1 {
			sat = a.nets[0].sat
		}
		a.Step(nil)
		b.Step(nil)
		if a.Hash() != b.Hash() {
			t.Fatalf("tick %d: hash %016x with naps, %016x without", i, a.Hash(), b.Hash())
		}
		if i%500 == 0 && a.FullHash() != b.FullHash() {
			t.Fatalf("tick %d: full hashes differ", i)
		}
		maxNaps = max(maxNaps, a.naps.count)
		if naps > 0 && sat >= 0 && a.nets[0].sat != sat {
			wakes++
		}
	}
	if sat := a.nets[0].sat; sat >= SatOne {
		t.Errorf("satisfaction %d: the network is not short", sat)
	}
	if maxNaps < 4 || wakes < 10 {
		t.Errorf("up to %d entities napped, %d satisfaction changes woke them: the test does not exercise naps", maxNaps, wakes)
	}
	t.Logf("up to %d entities napping, %d satisfaction changes woke naps", maxNaps, wakes)
}

// TestLaneWalksAgree checks that the lane searches give the same answer walking from the
// front and from the back, on belts in many states: moving, closing up, compressed.
func TestLaneWalksAgree(t *testing.T) {
	s := newTestSurface(t)
	for x := int32(0); x < 40; x++ {
		mustBuild(t, s, BuildSpec{Name: "transport-belt", X: x, Y: 0, Dir: East})
	}
	s.Step(nil)
	var items []ItemID
	for _, n := range []string{"iron-plate", "copper-plate", "coal"} {
		it, _ := s.b.ItemID(n)
		items = append(items, it)
	}
	r := newRNG(5)
	checks := 0
	for round := 0; round < 400; round++ {
		for k := 0; k < 6; k++ {
			li := int32(r.next() % uint64(len(s.lanes)))
			l := &s.lanes[li]
			s.laneInsert(li, int32(r.next()%uint64(l.length)), items[r.next()%3])
		}
		if round%7 == 0 {
			// Take a few, as inserters do.
			li := int32(r.next() % uint64(len(s.lanes)))
			if l := &s.lanes[li]; l.n > 0 {
				s.laneRemoveAt(li, int32(r.next()%uint64(l.n)))
			}
		}
		s.Step(nil)
		for li := range s.lanes {
			l := &s.lanes[li]
			for d := int32(0); d < l.length; d += 7 {
				j1, p1, ok1 := s.laneSlot(l, d, false)
				j2, p2, ok2 := s.laneSlot(l, d, true)
				if ok1 != ok2 || (ok1 && (j1 != j2 || (j1 > 0 && p1 != p2))) {
					t.Fatalf("round %d lane %d d %d: from the front %d %d %v, from the back %d %d %v", round, li, d, j1, p1, ok1, j2, p2, ok2)
				}
				var in inserter
				in.drop = target{kind: KindBelt, lane: [2]int32{-1, -1}}
				switch round % 3 {
				case 1:
					in.fmode, in.filter[0] = filterWhitelist, items[d%3]
				case 2:
					in.hand, in.handN = items[(d/7)%3], 1
				}
				lo := d
				for _, end := range []int32{d + TileUnits, d + 40} {
					a1, b1, c1 := s.pickOnLane(&in, l, lo, end, false)
					a2, b2, c2 := s.pickOnLane(&in, l, lo, end, true)
					if a1 != a2 || (a1 >= 0 && (b1 != b2 || c1 != c2)) {
						t.Fatalf("round %d lane %d window %d-%d: from the front %d %d %d, from the back %d %d %d", round, li, lo, end, a1, b1, c1, a2, b2, c2)
					}
					checks++
				}
			}
		}
	}
	t.Logf("%d searches agree", checks)
}
