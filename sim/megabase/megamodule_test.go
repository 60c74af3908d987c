package megabase

import (
	"testing"

	"github.com/starlane/starlane/sim"
)

// A cell's module line makes the production row's productivity modules at the rate
// the plan sizes it for, and they reach the row on belt FM's north lane, never on the
// lane of the electric furnaces.
func TestMegabaseFullModuleLineFeedsTheProductionRow(t *testing.T) {
	b := sim.DefaultBundle()
	p, err := planFullModules(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	planned := p.Flows["productivity-module"]
	s, err := genMegabaseFullCells(b, 1, "", 1, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	const from, minutes = 12, 4
	s.Run(from * 3600)
	before := s.Production()
	s.Run(minutes * 3600)
	after := s.Production()
	secs := float64(minutes * 60)
	rate := func(total func(sim.Production) map[string]int64, item string) float64 {
		return float64(total(after)[item]-total(before)[item]) / secs
	}
	produced := func(p sim.Production) map[string]int64 { return p.Produced }
	consumed := func(p sim.Production) map[string]int64 { return p.Consumed }
	made := rate(produced, "productivity-module")
	used := rate(consumed, "productivity-module")
	packs := rate(produced, "production-science-pack")
	t.Logf("minutes %d to %d: %.3f productivity modules a second made (planned %.3f), %.3f used, %.2f production packs made",
		from, from+minutes, made, planned, used, packs)
	if made < planned*0.97 {
		t.Errorf("the module line makes %.3f productivity modules a second, planned %.3f", made, planned)
	}
	// The row takes what the line makes (a few stay on the belts).
	if used < made*0.97 {
		t.Errorf("the production row used %.3f productivity modules a second of %.3f made", used, made)
	}

	// Belt FM along row 3 of the cell: modules on one lane, furnaces on the other.
	checkFMLanes(t, b, s)
}

// checkFMLanes checks that belt FM (row 3 of the first cell) carries productivity
// modules on one lane and electric furnaces on the other, and nothing else.
func checkFMLanes(t *testing.T, b *sim.Bundle, s *sim.Surface) {
	t.Helper()
	sz, err := sizeFullCell(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	const ox, oy = 16, 30
	xf := fullFMColumn(&sz, ox)
	lanes := map[string]map[uint8]int{}
	s.BeltItems(func(bi sim.BeltItem) bool {
		if bi.Y != oy+prodFM || bi.X < xf {
			return true
		}
		name := b.Item(bi.Item).Name
		if lanes[name] == nil {
			lanes[name] = map[uint8]int{}
		}
		lanes[name][bi.Lane]++
		return true
	})
	t.Logf("belt FM: %v", lanes)
	mods, furn := lanes["productivity-module"], lanes["electric-furnace"]
	if len(lanes) != 2 || len(mods) != 1 || len(furn) != 1 {
		t.Fatalf("belt FM carries %v; want productivity modules on one lane and electric furnaces on the other", lanes)
	}
	for lane := range mods {
		if furn[lane] > 0 {
			t.Errorf("productivity modules and electric furnaces share lane %d of belt FM", lane)
		}
	}
}
