package megabase

import (
	"github.com/starlane/starlane/sim"

	"math/big"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fullInfinityItems are the items megabase-full still takes from infinity chests:
// none. Every pack row's ingredients come from lines (the chemical row's sulfur from
// the oil block, engine units from the engine line, advanced circuits from the
// advanced-circuit line; the military row's from the military lines; the production
// row's rails from the rail line, its productivity modules from the module line and
// its electric furnaces from the furnace line; the utility row's processing units from
// the processing-unit line, its low density structures from the low-density-structure
// line and its flying robot frames from the frame line), and the silo takes its
// ingredients from belts: rocket fuel from the rocket-fuel line, low density structures
// from the low-density-structure line, processing units from the second
// processing-unit line, satellites from its satellite assembler, whose solar panels,
// accumulators and radars come from the satellite-parts line.
var fullInfinityItems []string

// A cell of megabase-full lays out the lines feeding its automation and logistic rows
// from ore, its chemical row's sulfur from crude oil, its engine units from ore, its
// advanced circuits from ore, coal and crude oil, its military row's magazines,
// grenades and walls from ore, coal and stone and its production row's rails from
// ore and stone and productivity modules from ore, coal and crude oil, and its
// utility row's processing units and low density structures from ore, coal, crude oil
// and water (the structures' line also making the silo's and the satellites') and its
// flying robot frames from ore, crude oil and water, its silo's and satellites'
// processing units from ore, coal, crude oil and water, its silo's rocket fuel from
// crude oil, and its satellites' solar panels, accumulators and radars from ore, crude
// oil and water, with the machine counts of the plan for each line
// (PlanFull's planner, the beacons this layout gives), each machine with the modules
// and at least the beacons it was sized for; the remaining infinity chests supply
// exactly fullInfinityItems.
func TestMegabaseFullFeedLinesMatchThePlan(t *testing.T) {
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
	want := map[string]int{}
	for _, pack := range fullFedPacks {
		fp, err := planFullFeed(b, fullCellMilli, pack)
		if err != nil {
			t.Fatal(err)
		}
		lines := map[string]int{}
		for _, l := range fp.Lines {
			lines[l.Task] = l.Machines
			f := fullPer[l.Task]
			t.Logf("%-22s %-24s %-22s %3d machines, %d beacons, %.4f/s each (PlanFull: %d beacons, %.4f/s each)",
				pack, l.Task, l.Machine, l.Machines, l.Beacons, l.PerMachine, f.Beacons, f.PerMachine)
			// Same machine, modules and productivity as the whole base's plan; only the
			// beacons (so the speed) may differ.
			if l.Machine != f.Machine || l.Productivity != f.Productivity || !cmp.Equal(l.Modules, f.Modules) {
				t.Errorf("%s: %s %v +%d%% productivity, PlanFull has %s %v +%d%%", l.Task, l.Machine, l.Modules, l.Productivity, f.Machine, f.Modules, f.Productivity)
			}
			if l.Beacons == f.Beacons && l.PerMachine != f.PerMachine {
				t.Errorf("%s: %.4f a second each, PlanFull %.4f with the same beacons", l.Task, l.PerMachine, f.PerMachine)
			}
		}
		if lines[pack] != sz.rows[pack] {
			t.Errorf("the plan has %d %s machines, the row %d", lines[pack], pack, sz.rows[pack])
		}
		if pack == "logistic-science-pack" {
			// Circuit and inserter assemblers are paired (fullInserterCols); the iron is
			// split between three blocks, each rounded up: at most two furnaces and two
			// drills more than planned.
			n := fullInserterCols(lines)
			if n != max(lines["electronic-circuit"], lines["inserter"]) {
				t.Errorf("%d circuit/inserter pairs, plan %d and %d", n, lines["electronic-circuit"], lines["inserter"])
			}
			lines["electronic-circuit"], lines["inserter"] = n, n
			f, d := blockTotals(sz.feed.iron[:])
			if f < lines["iron-plate"] || f > lines["iron-plate"]+2 || d < lines["mine iron-ore"] || d > lines["mine iron-ore"]+2 {
				t.Errorf("logistic iron: %d furnaces and %d drills in three blocks, the plan %d and %d", f, d, lines["iron-plate"], lines["mine iron-ore"])
			}
			lines["iron-plate"], lines["mine iron-ore"] = f, d
		}
		for _, task := range []string{"copper-plate", "iron-plate", "iron-gear-wheel", "mine copper-ore", "mine iron-ore"} {
			if lines[task] <= 0 {
				t.Errorf("the plan feeding %s has no %s line", pack, task)
			}
		}
		for task, n := range lines {
			want[task] += n
		}
	}

	// The oil block: one of each machine for the chemical row's sulfur.
	op, err := planFullSulfur(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range checkPlanLines(t, "sulfur", op, fullPer) {
		want[l.Task] += l.Machines
	}
	// The rocket-fuel line: the plan's counts. PlanFull makes solid fuel from light
	// oil only; the line also makes it from heavy oil and gas (planChoices), in the
	// same chemical plant with the same modules.
	for _, task := range []string{"solid-fuel-from-heavy-oil", "solid-fuel-from-petroleum-gas"} {
		fullPer[task] = fullPer["solid-fuel-from-light-oil"]
	}
	fp, err := planFullRocketFuel(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range checkPlanLines(t, "rocket-fuel", fp, fullPer) {
		want[l.Task] += l.Machines
	}
	// The engine line: the plan's counts, but the iron, split between two blocks each
	// rounded up (at most one furnace and one drill more than planned).
	ep, err := planFullEngines(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	eng := map[string]int{}
	for _, l := range checkPlanLines(t, "engine-unit", ep, fullPer) {
		eng[l.Task] = l.Machines
	}
	for _, task := range []string{"engine-unit", "steel-plate", "iron-gear-wheel", "pipe", "iron-plate", "mine iron-ore"} {
		if eng[task] <= 0 {
			t.Errorf("the engine line's plan has no %s line", task)
		}
	}
	ef, ed := blockTotals(sz.feed.engines.iron[:])
	if ef < eng["iron-plate"] || ef > eng["iron-plate"]+1 || ed < eng["mine iron-ore"] || ed > eng["mine iron-ore"]+1 {
		t.Errorf("engine iron: %d furnaces and %d drills in two blocks, the plan %d and %d", ef, ed, eng["iron-plate"], eng["mine iron-ore"])
	}
	t.Logf("engine iron: blocks of %+v (furnaces, drills), the plan %d and %d", sz.feed.engines.iron, eng["iron-plate"], eng["mine iron-ore"])
	eng["iron-plate"], eng["mine iron-ore"] = ef, ed
	for task, n := range eng {
		want[task] += n
	}
	// The advanced-circuit line: the plan's counts.
	cp, err := planFullCircuits(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range checkPlanLines(t, "advanced-circuit", cp, fullPer) {
		if l.Task == "copper-plate" || l.Task == "mine copper-ore" {
			continue // split between two blocks, below
		}
		want[l.Task] += l.Machines
	}
	// Its copper, split between two blocks each rounded up: at most one furnace and
	// one drill more than planned.
	cf, cd := blockTotals(sz.feed.circuits.copper[:])
	if pc := sz.feed.circuits.lines; cf < pc["copper-plate"] || cf > pc["copper-plate"]+1 || cd < pc["mine copper-ore"] || cd > pc["mine copper-ore"]+1 {
		t.Errorf("advanced-circuit copper: %d furnaces and %d drills in two blocks, the plan %d and %d", cf, cd, pc["copper-plate"], pc["mine copper-ore"])
	}
	t.Logf("advanced-circuit copper: blocks of %+v (furnaces, drills)", sz.feed.circuits.copper)
	want["copper-plate"] += cf
	want["mine copper-ore"] += cd
	for _, task := range []string{"advanced-circuit", "plastic-bar", "mine coal", "copper-cable", "electronic-circuit"} {
		if want[task] <= 0 {
			t.Errorf("the advanced-circuit line's plan has no %s line", task)
		}
	}
	// The military lines: the plan's counts, but the stone, split between two blocks,
	// and the iron, split between three, each rounded up (at most one furnace and one
	// drill more than planned for each block but the first).
	mp, err := planFullFeed(b, fullCellMilli, "military-science-pack")
	if err != nil {
		t.Fatal(err)
	}
	mil := map[string]int{}
	for _, l := range checkPlanLines(t, "military-science-pack", mp, fullPer) {
		mil[l.Task] = l.Machines
	}
	if mil["military-science-pack"] != sz.rows["military-science-pack"] {
		t.Errorf("the plan has %d military-science-pack machines, the row %d", mil["military-science-pack"], sz.rows["military-science-pack"])
	}
	for _, task := range fullMilitaryTasks {
		if mil[task] <= 0 {
			t.Errorf("the military lines' plan has no %s line", task)
		}
	}
	ms := &sz.feed.military
	checkSplit(t, "military", mil, "stone-brick", "mine stone", ms.stone[:])
	checkSplit(t, "military", mil, "iron-plate", "mine iron-ore", ms.iron[:])
	for task, n := range mil {
		want[task] += n
	}
	// The rail line: the plan's counts, but four rail and four iron-stick assemblers
	// (one rail assembler per lane of R1 and R2, each handed its sticks by its own
	// stick assembler), the steel furnaces split between two lines and four rows
	// (the plan's total), the iron between ten blocks and the stone between two
	// fields, each rounded up (at most one furnace and one drill more than planned
	// for each block or field but the first).
	rp, err := planFullRails(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	rail := planCounts(t, "rail", "rail line", rp, fullPer, fullRailTasks)
	rs := &sz.feed.rails
	if rail["rail"] > fullRailAsms || rail["iron-stick"] > fullStickAsms {
		t.Errorf("the plan has %d rail and %d iron-stick assemblers, the layout %d and %d", rail["rail"], rail["iron-stick"], fullRailAsms, fullStickAsms)
	}
	rail["rail"], rail["iron-stick"] = fullRailAsms, fullStickAsms
	steel := 0
	for _, line := range rs.steel {
		for _, n := range line {
			steel += n
		}
	}
	if steel != rail["steel-plate"] {
		t.Errorf("%d steel furnaces in the rail line, the plan %d", steel, rail["steel-plate"])
	}
	checkSplit(t, "rail line", rail, "iron-plate", "mine iron-ore", rs.iron[:])
	if st := rs.stone[0] + rs.stone[1]; st < rail["mine stone"] || st > rail["mine stone"]+1 {
		t.Errorf("rail stone: %v drills in two fields, the plan %d", rs.stone, rail["mine stone"])
	}
	rail["mine stone"] = rs.stone[0] + rs.stone[1]
	for task, n := range rail {
		want[task] += n
	}
	// The module line: the plan's counts, but the copper split between three blocks
	// and the iron between two, each rounded up (at most one furnace and one drill
	// more than planned for each block but the first).
	mdp, err := planFullModules(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	mods := planCounts(t, "productivity-module", "module line", mdp, fullPer, fullModuleTasks)
	mds := &sz.feed.modules
	checkSplit(t, "module line", mods, "copper-plate", "mine copper-ore", mds.copper[:])
	checkSplit(t, "module line", mods, "iron-plate", "mine iron-ore", mds.iron[:])
	for task, n := range mods {
		want[task] += n
	}
	// The processing-unit line: the plan's counts, but the copper and iron split
	// between the groups of cable/circuit pairs (by their circuits) and the advanced
	// circuits' cable or the sulfuric acid, each rounded up (at most one furnace and
	// one drill more than planned for each block but the first).
	pp, err := planFullProcessing(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	pu := planCounts(t, "processing-unit", "processing-unit line", pp, fullPer, fullProcessingTasks)
	ps := &sz.feed.processing
	pairs := 0
	for _, n := range ps.pairs {
		pairs += n
	}
	if pairs != pu["electronic-circuit"] || pu["copper-cable"] != pairs+2 {
		t.Errorf("%d cable/circuit pairs and two cable assemblers; the plan has %d circuit and %d cable assemblers", pairs, pu["electronic-circuit"], pu["copper-cable"])
	}
	checkSplit(t, "processing-unit line", pu, "copper-plate", "mine copper-ore", ps.copper[:])
	checkSplit(t, "processing-unit line", pu, "iron-plate", "mine iron-ore", ps.iron[:])
	for task, n := range pu {
		want[task] += n
	}
	// The silo's and the satellites' processing-unit line: two identical halves, each
	// with its plan's counts (half the units), split as the first line's, but two cable
	// assemblers for the advanced circuits (KA and KB) for the plan's one.
	pp2, err := planFullProcessing2(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	pu2 := planCounts(t, "processing-unit (silo)", "second processing-unit line", pp2, fullPer, fullProcessingTasks)
	ps2 := &sz.feed.processing2
	pairs = 0
	for _, n := range ps2.pairs {
		pairs += n
	}
	if pairs != pu2["electronic-circuit"] || pu2["copper-cable"] != pairs+fullProcessing2ACCable {
		t.Errorf("%d cable/circuit pairs a half and two cable assemblers for the advanced circuits; the plan has %d circuit and %d cable assemblers",
			pairs, pu2["electronic-circuit"], pu2["copper-cable"])
	}
	pu2["copper-cable"] = pairs + 2
	checkSplit(t, "second processing-unit line", pu2, "copper-plate", "mine copper-ore", ps2.copper[:])
	checkSplit(t, "second processing-unit line", pu2, "iron-plate", "mine iron-ore", ps2.iron[:])
	for task, n := range pu2 {
		want[task] += pu2Halves * n // identical halves
	}
	// The low-density-structure line: two identical halves, each with the counts of
	// its plan (half the structures of the utility row, the silo and the satellites),
	// but the copper split between the groups' pairs of blocks and the iron between
	// the steel units, each rounded up (at most one furnace and one drill more than
	// planned for each block but the first); the steel furnaces are the plan's, split
	// between the units.
	lp, err := planFullLDS(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	lds := planCounts(t, "low-density-structure", "low-density-structure line", lp, fullPer, fullLDSTasks)
	ls := &sz.feed.lds
	asms, steelFurn := 0, 0
	for _, n := range ls.groups {
		asms += n
	}
	for _, n := range ls.steel {
		steelFurn += n
	}
	if asms != lds["low-density-structure"] || steelFurn != lds["steel-plate"] {
		t.Errorf("%d structure assemblers and %d steel furnaces in the line; the plan has %d and %d", asms, steelFurn, lds["low-density-structure"], lds["steel-plate"])
	}
	checkSplit(t, "low-density-structure line", lds, "copper-plate", "mine copper-ore", ls.copper[:])
	checkSplit(t, "low-density-structure line", lds, "iron-plate", "mine iron-ore", ls.iron[:])
	for task, n := range lds {
		want[task] += ldsHalves * n // identical halves
	}
	// The frame line: the plan's counts, but two cable assemblers for the plan's one
	// (a bulk inserter puts about 12 cables a second on a belt, the circuit assembler
	// takes 15.5) and the iron split between two blocks, each rounded up (at most one
	// furnace and one drill more than planned).
	frp, err := planFullFrames(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	fr := planCounts(t, "flying-robot-frame", "frame line", frp, fullPer, fullFrameTasks)
	if fr["copper-cable"] > fullFrameCables {
		t.Errorf("the frame line's plan has %d cable assemblers, the layout %d", fr["copper-cable"], fullFrameCables)
	}
	fr["copper-cable"] = fullFrameCables
	checkSplit(t, "frame line", fr, "iron-plate", "mine iron-ore", sz.feed.frames.iron[:])
	for task, n := range fr {
		want[task] += n
	}
	// The satellite-parts line: the plan's counts, but the copper split between two
	// blocks (belt P's and belt M's) and the iron between the steel units and those
	// two, each rounded up (at most one furnace and one drill more than planned for
	// each block but the first); the steel furnaces are the plan's, split between the
	// units.
	sap, err := planFullSatParts(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	sat := planCounts(t, "satellite", "satellite-parts line", sap, fullPer, fullSatTasks)
	ss := &sz.feed.sat
	satSteel := 0
	for _, n := range ss.steel {
		satSteel += n
	}
	if satSteel != sat["steel-plate"] || ss.pairs != sat["electronic-circuit"] || ss.pairs != sat["copper-cable"] || ss.battery != sat["battery"] {
		t.Errorf("%d steel furnaces, %d cable/circuit pairs and %d battery plants in the line; the plan has %d, %d/%d and %d",
			satSteel, ss.pairs, ss.battery, sat["steel-plate"], sat["copper-cable"], sat["electronic-circuit"], sat["battery"])
	}
	checkSplit(t, "satellite-parts line", sat, "copper-plate", "mine copper-ore", ss.copper[:])
	checkSplit(t, "satellite-parts line", sat, "iron-plate", "mine iron-ore", ss.iron[:])
	for task, n := range sat {
		want[task] += n
	}
	for _, task := range []string{"sulfur", "advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking", "mine crude-oil", "pump water"} {
		if want[task] <= 0 {
			t.Errorf("the oil block's plan has no %s line", task)
		}
	}

	s, err := genMegabaseFullCells(b, 1, "", 1, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	s.Run(2 * 3600) // every furnace has picked its recipe
	// The electric-furnace line, west of the module line, has its own test
	// (TestMegabaseFullFurnaceLineMatchesThePlan).
	cg := newFullCircuitGeom(&sz.feed.circuits, 16)
	mdg := newFullModuleGeom(&sz.feed.modules, &cg)
	got := map[string]int{}
	sized := func(id sim.EntityID, task string) {
		info, _ := s.Modules(id)
		if int(info.Beacons) < fullFeedBeacons[task] || info.Effect.Productivity != fullPer[task].Productivity {
			t.Errorf("%s machine %d: %d beacons, %+d%% productivity; sized for %d beacons and %+d%%",
				task, id, info.Beacons, info.Effect.Productivity, fullFeedBeacons[task], fullPer[task].Productivity)
		}
	}
	s.Entities(func(e sim.EntityInfo) bool {
		if e.X < mdg.west()-fullFeedMargin {
			return true
		}
		switch {
		case e.Name == "pumpjack":
			pd := fullPer["mine crude-oil"]
			if info, _ := s.Modules(e.ID); info.Beacons != 0 || info.Effect.Productivity != pd.Productivity {
				t.Errorf("pumpjack %d: %d beacons, %+d%% productivity; the plan's have none and %+d%%", e.ID, info.Beacons, info.Effect.Productivity, pd.Productivity)
			}
			got["mine crude-oil"]++
		case e.Name == "offshore-pump":
			got["pump water"]++
		case e.Kind == sim.KindAssembler || e.Kind == sim.KindFurnace:
			if _, planned := want[e.Recipe]; planned && e.Recipe != "" {
				got[e.Recipe]++
				sized(e.ID, e.Recipe)
			}
		case e.Kind == sim.KindDrill:
			ore, ok := drillOre(s, e)
			if !ok {
				return true
			}
			got["mine "+ore]++
			pd := fullPer["mine iron-ore"]
			if info, _ := s.Modules(e.ID); info.Beacons != 0 || info.Effect.Speed != pd.Speed || info.Effect.Productivity != pd.Productivity {
				t.Errorf("drill %d: %d beacons, speed %+d%%, productivity %+d%%; the plan's drills have no beacons, %+d%%, %+d%%",
					e.ID, info.Beacons, info.Effect.Speed, info.Effect.Productivity, pd.Speed, pd.Productivity)
			}
		}
		return true
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("machines per task in a cell (-plan +map):\n%s", diff)
	}

	chests, names := fullInfinityChests(s)
	if diff := cmp.Diff(fullInfinityItems, names, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("items from infinity chests (-want +got):\n%s", diff)
	}
	if wantChests := fullCellInfinityChests(sz); chests != wantChests {
		t.Errorf("%d infinity chests in a cell, want %d", chests, wantChests)
	}
	t.Logf("%d infinity chests a cell, supplying %v", chests, names)
}

// fullInfinityChests counts a surface's infinity chests and lists the items their
// filters keep in them.
func fullInfinityChests(s *sim.Surface) (int, []string) {
	chests := 0
	items := map[string]bool{}
	s.Entities(func(e sim.EntityInfo) bool {
		if e.Kind != sim.KindInfinityChest {
			return true
		}
		chests++
		// The chest's filters, as a blueprint of it carries them.
		bp, err := s.ExportBlueprint(e.X, e.Y, e.X, e.Y, sim.Vec{}, "")
		if err != nil {
			return true
		}
		for _, be := range bp.Entities {
			if be.Infinity == nil {
				continue
			}
			for _, f := range be.Infinity.Filters {
				items[f.Name] = true
			}
		}
		return true
	})
	var names []string
	for n := range items {
		names = append(names, n)
	}
	sort.Strings(names)
	return chests, names
}

// drillOre names the solid resource a drill mines first: the first resource tile of
// its mining area, in row order, as the drill itself picks it.
func drillOre(s *sim.Surface, e sim.EntityInfo) (string, bool) {
	b := s.Bundle()
	pi, _ := b.Entity(e.Name)
	area := b.Entities[pi].MiningArea
	// The mining area is centred on the drill's footprint.
	cx, cy := e.X*sim.TileUnits+e.W*sim.TileUnits/2, e.Y*sim.TileUnits+e.H*sim.TileUnits/2
	half := area * sim.TileUnits / 2
	x0, y0 := floorTile(cx-half), floorTile(cy-half)
	for y := y0; y < y0+area; y++ {
		for x := x0; x < x0+area; x++ {
			if r, a := s.ResourceAt(x, y); r != 0 && a > 0 && !b.Item(r).Fluid {
				return b.Item(r).Name, true
			}
		}
	}
	return "", false
}

// floorTile is the tile holding position p (in sim.TileUnits per tile).
func floorTile(p int32) int32 {
	t := p / sim.TileUnits
	if p%sim.TileUnits != 0 && p < 0 {
		t--
	}
	return t
}

// fullCellInfinityChests is how many infinity chests a cell has: one per machine of
// the rows not fed from ore or from belts (none left).
func fullCellInfinityChests(sz fullSizing) int {
	n := 0
	for _, pack := range fullPackRows {
		if !fullFed(pack) && !fullEnginePacks[pack] && !fullMilitaryPacks[pack] && !fullProductionPacks[pack] && !fullUtilityPacks[pack] {
			n += sz.rows[pack]
		}
	}
	return n
}

// checkPlanLines logs a feed line's plan and checks that each of its tasks uses the
// machine, modules and productivity PlanFull chose for it; it returns the lines.
func checkPlanLines(t *testing.T, what string, p *Plan, fullPer map[string]PlanLine) []PlanLine {
	t.Helper()
	for _, l := range p.Lines {
		f := fullPer[l.Task]
		t.Logf("%-22s %-24s %-22s %3d machines, %d beacons, %.4f/s each (PlanFull: %d beacons, %.4f/s each)",
			what, l.Task, l.Machine, l.Machines, l.Beacons, l.PerMachine, f.Beacons, f.PerMachine)
		if l.Machine != f.Machine || l.Productivity != f.Productivity || !cmp.Equal(l.Modules, f.Modules) {
			t.Errorf("%s: %s %v +%d%% productivity, PlanFull has %s %v +%d%%", l.Task, l.Machine, l.Modules, l.Productivity, f.Machine, f.Modules, f.Productivity)
		}
	}
	return p.Lines
}

// planCounts checks a line's plan (checkPlanLines) and that it has every task the
// layout places (tasks, named for line in messages); it returns machines per task.
func planCounts(t *testing.T, what, line string, p *Plan, fullPer map[string]PlanLine, tasks []string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, l := range checkPlanLines(t, what, p, fullPer) {
		counts[l.Task] = l.Machines
	}
	for _, task := range tasks {
		if counts[task] <= 0 {
			t.Errorf("the %s's plan has no %s line", line, task)
		}
	}
	return counts
}

// checkSplit checks smelting blocks that split a plan's furnaces (task furn) and
// drills (task mine), each block rounded up: at most one furnace and one drill more
// than planned for each block but the first. It sets the counts to the blocks'.
func checkSplit(t *testing.T, what string, counts map[string]int, furn, mine string, blocks []blockCount) {
	t.Helper()
	f, d := blockTotals(blocks)
	extra := len(blocks) - 1
	if f < counts[furn] || f > counts[furn]+extra || d < counts[mine] || d > counts[mine]+extra {
		t.Errorf("%s %s: %d furnaces and %d drills in %d blocks, the plan %d and %d", what, furn, f, d, len(blocks), counts[furn], counts[mine])
	}
	t.Logf("%s %s: blocks of %+v (furnaces, drills), the plan %d and %d", what, furn, blocks, counts[furn], counts[mine])
	counts[furn], counts[mine] = f, d
}

// blockTotals sums the furnaces and drills of smelting blocks.
func blockTotals(blocks []blockCount) (furnaces, drills int) {
	for _, b := range blocks {
		furnaces += b.furn
		drills += b.drills
	}
	return furnaces, drills
}
