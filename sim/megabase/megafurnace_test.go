package megabase

import (
	"math/big"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/starlane/starlane/sim"
)

// A cell's electric-furnace line has the plan's machine counts (PlanFull's planner,
// the beacons this layout gives), each machine with the modules and at least the
// beacons it was sized for, drills with none; the documented differences: the copper
// is split between two blocks, the iron between the circuits' block and six steel
// units and the stone between two blocks, each rounded up (at most one furnace and
// one drill more than planned for each block but the first), and the steel furnaces
// are split between the units (the plan's total). The cell is one electric network
// with every machine powered, and no infinity chest holds electric furnaces.
func TestMegabaseFullFurnaceLineMatchesThePlan(t *testing.T) {
	b := sim.DefaultBundle()
	sz, err := sizeFullCell(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	full, err := PlanFull(b, big.NewRat(45, 1), fullOilAmount)
	if err != nil {
		t.Fatal(err)
	}
	fullPer := map[string]PlanLine{}
	for _, l := range full.Lines {
		fullPer[l.Task] = l
	}
	p, err := planFullFurnaces(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	want := planCounts(t, "electric-furnace", "furnace line", p, fullPer, fullFurnaceTasks)
	fs := &sz.feed.furnaces
	steel := 0
	for _, line := range fs.steel {
		for _, n := range line {
			steel += n
		}
	}
	if steel != want["steel-plate"] {
		t.Errorf("%d steel furnaces in the furnace line, the plan %d", steel, want["steel-plate"])
	}
	checkSplit(t, "furnace line", want, "copper-plate", "mine copper-ore", fs.copper[:])
	checkSplit(t, "furnace line", want, "iron-plate", "mine iron-ore", fs.iron[:])
	checkSplit(t, "furnace line", want, "stone-brick", "mine stone", fs.stone[:])

	s, err := genMegabaseFullPowered(b, 1, "", 1, fullCellMilli, fullPowerSolar)
	if err != nil {
		t.Fatal(err)
	}
	s.Step(nil) // a tick builds the electric networks
	if n := s.Power().Networks; n != 1 {
		t.Fatalf("%d electric networks, want 1", n)
	}
	if n := unpowered(s, sim.KindAssembler, sim.KindFurnace, sim.KindDrill, sim.KindInserter, sim.KindLab); n > 0 {
		t.Fatalf("%d unpowered machines, drills or inserters", n)
	}
	s.Run(2 * 3600) // every furnace has picked its recipe
	// The line's machines are those west of the module line.
	cg := newFullCircuitGeom(&sz.feed.circuits, 16)
	mdg := newFullModuleGeom(&sz.feed.modules, &cg)
	got := map[string]int{}
	s.Entities(func(e sim.EntityInfo) bool {
		if e.X >= mdg.west()-fullFeedMargin {
			return true
		}
		task := e.Recipe
		switch {
		case e.Name == "pumpjack":
			task = "mine crude-oil"
		case e.Name == "offshore-pump":
			task = "pump water"
		case e.Kind == sim.KindDrill:
			ore, ok := drillOre(s, e)
			if !ok {
				t.Errorf("drill %d at %d,%d mines nothing", e.ID, e.X, e.Y)
				return true
			}
			task = "mine " + ore
		case e.Kind != sim.KindAssembler && e.Kind != sim.KindFurnace:
			return true
		}
		got[task]++
		info, _ := s.Modules(e.ID)
		beacons := fullFeedBeacons[task]
		if e.Kind == sim.KindDrill || e.Name == "pumpjack" {
			beacons = 0
			if info.Beacons != 0 {
				t.Errorf("%s %d: %d beacons; the plan's have none", e.Name, e.ID, info.Beacons)
			}
		}
		if e.Name != "offshore-pump" && (int(info.Beacons) < beacons || info.Effect.Productivity != fullPer[task].Productivity) {
			t.Errorf("%s machine %d: %d beacons, %+d%% productivity; sized for %d beacons and %+d%%",
				task, e.ID, info.Beacons, info.Effect.Productivity, beacons, fullPer[task].Productivity)
		}
		return true
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("machines per task in the furnace line (-plan +map):\n%s", diff)
	}
	chests, names := fullInfinityChests(s)
	if slices.Contains(names, "electric-furnace") || chests != fullCellInfinityChests(sz) {
		t.Errorf("with the furnace line, %d infinity chests a cell supplying %v; want %d, none of electric furnaces", chests, names, fullCellInfinityChests(sz))
	}
}

// A cell's module and furnace lines make the production row's productivity modules and
// electric furnaces at the rates the plan sizes them for, and they reach the row on
// belt FM, the modules on its north lane and the furnaces on its south lane. It logs
// when the first furnaces reach the row and the SPM as the labs fill. (One test for
// both lines: they feed one row, and a cell run for 16 game minutes is the cost.)
func TestMegabaseFullModuleAndFurnaceLinesFeedTheProductionRow(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a cell for 16 game minutes")
	}
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	b := sim.DefaultBundle()
	planned := map[string]float64{}
	for item, plan := range map[string]func(*sim.Bundle, int64) (*Plan, error){
		"productivity-module": planFullModules, "electric-furnace": planFullFurnaces} {
		p, err := plan(b, fullCellMilli)
		if err != nil {
			t.Fatal(err)
		}
		planned[item] = p.Flows[item]
	}
	s, err := genMegabaseFullCells(b, 1, "", 1, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	const from, minutes = 12, 4
	made := func() int64 { return s.Production().Produced["electric-furnace"] }
	used := func() int64 { return s.Production().Consumed["electric-furnace"] }
	firstMade, firstUsed := -1, -1
	var spm []float64
	for tick := 60; tick <= from*3600; tick += 60 {
		s.Run(60)
		if firstMade < 0 && made() > 0 {
			firstMade = tick
		}
		if firstUsed < 0 && used() > 0 {
			firstUsed = tick
		}
		if tick%3600 == 0 && tick >= 9*3600 {
			spm = append(spm, s.Production().SPM)
		}
	}
	t.Logf("first electric furnaces made at game second %d, first used by the row at %d", firstMade/60, firstUsed/60)
	before := s.Production()
	for m := 1; m <= minutes; m++ {
		s.Run(3600)
		spm = append(spm, s.Production().SPM)
	}
	after := s.Production()
	t.Logf("SPM at minutes 9 to %d: %.0f", from+minutes, spm)
	secs := float64(minutes * 60)
	rate := func(total func(sim.Production) map[string]int64, item string) float64 {
		return float64(total(after)[item]-total(before)[item]) / secs
	}
	produced := func(p sim.Production) map[string]int64 { return p.Produced }
	consumed := func(p sim.Production) map[string]int64 { return p.Consumed }
	for _, item := range []string{"productivity-module", "electric-furnace"} {
		mr, ur := rate(produced, item), rate(consumed, item)
		t.Logf("minutes %d to %d: %.3f %s a second made (planned %.3f), %.3f used, %.2f production packs made",
			from, from+minutes, mr, item, planned[item], ur, rate(produced, "production-science-pack"))
		if mr < planned[item]*0.97 {
			t.Errorf("the line makes %.3f %s a second, planned %.3f", mr, item, planned[item])
		}
		// The row takes what the line makes (a few stay on the belts).
		if ur < mr*0.97 {
			t.Errorf("the production row used %.3f %s a second of %.3f made", ur, item, mr)
		}
	}

	// Belt FM along row 3 of the cell: modules on one lane, furnaces on the other.
	checkFMLanes(t, b, s)
}
