package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
)

// The megabase-full map: the science floor of a 2,700 SPM base with all seven packs,
// built as the community builds beaconed 2.0 megabases and sized from PlanFull's
// per-machine rates (the game's numbers). Each of fullCells identical cells holds:
//
//   - six production rows of assembling machine 3 with productivity-module-3 where
//     the recipe allows it (speed-module-3 otherwise), a beacon of two speed-module-3
//     between neighbouring machines and, for the automation row, a row of beacons
//     behind them, so that each of its machines is reached by 4 to 5 beacons (1 or 2 in
//     the other rows); one row per pack, each putting its pack on a lane of
//     its own (one pack type per lane, so lanes never mix and never lock);
//   - a rocket silo (productivity modules, six beacons) launching satellites made by an
//     assembler beside it, its space science leaving on the eighth lane;
//   - four belts (eight lanes) that turn into a row of labs, each lab between two
//     beacons and reached by four inserters, one per belt, researching the repeating
//     refined-flammables-7, which takes one of each of the seven packs.
//
// The automation and logistic science rows are fed from ore (megafeed.go): drills on
// generated iron and copper patches, beaconed electric furnaces and beaconed gear,
// cable, circuit, inserter and transport-belt assemblers, sized with the plan's
// planner. The chemical row's sulfur comes from crude oil (megaoil.go: a pumpjack,
// an offshore pump, a refinery on advanced oil processing, heavy and light oil
// cracking and a sulfur plant, piped together), its engine units from iron ore
// (megaengine.go: steel furnaces, gear, pipe and engine assemblers), its advanced
// circuits from ore, coal and crude oil (megacircuit.go: a second oil block, plastic
// plants, cable, circuit and advanced-circuit assemblers). The military row's
// piercing rounds, grenades and walls come from ore, coal and stone (megamilitary.go,
// east of the turn column), the production row's rails from iron ore and stone
// (megaproduction.go: steel furnaces, iron-stick and rail assemblers, east of the turn
// column, on two belts); its electric furnaces and productivity modules come on one
// belt, FM, both from ore, coal and crude oil: the modules from the module line
// (megamodule.go: a third oil block, plastic, cable, circuit, advanced-circuit and
// module assemblers, west of the advanced-circuit line), the furnaces from the
// furnace line (megafurnace.go: a fourth oil block and advanced-circuit line, steel
// and stone lines and two electric-furnace assemblers, west of the module line). The
// silo stands south of belt D, east of belt PU's northward column (megasilo.go), and takes
// every ingredient from belts: its rocket fuel from crude oil (megarocket.go:
// pumpjacks, an offshore pump, refineries on advanced oil processing, solid-fuel plants
// on gas, heavy oil and light oil and rocket-fuel assemblers, west of the silo), its
// low density structures from belt UL, its processing units from belt SB, its
// satellites from an assembler beside it, which takes structures from UL, processing
// units and radars from SB, rocket fuel from the silo's belt and solar panels and
// accumulators from belt SA. The utility row takes its
// ingredients from two belts, U1 and U2 (megautility.go): its processing units come on
// U2 from ore, coal, crude oil and water (megaprocessing.go: cable/circuit pairs and
// processing-unit assemblers east of the rail line, a fifth oil block, plastic, sulfur
// and sulfuric-acid plants and advanced-circuit assemblers east of the labs), its low
// density structures and flying robot frames on U1 (megaframe.go: an oil block,
// lubricant, sulfur, acid and battery plants, engine, electric-engine and frame
// assemblers east of the processing-unit line; megalds.go: two halves of copper blocks,
// steel units, an oil block with plastic plants and structure assemblers east of that,
// sized for the row's, the silo's and the satellites' structures), both putting them on
// belt UL, which brings U1's items from east of the labs. The silo's and the
// satellites' processing units come on belt SB's north lane from a second
// processing-unit line east of the low-density-structure line (megaprocessing2.go: two
// halves laid out as the first line), the satellites' solar panels and accumulators on
// belt SA and their radars on SB's south lane from the satellite-parts line east of
// that (megasatellite.go: an oil block, sulfur, acid and battery plants, accumulator,
// steel, cable, circuit, gear, radar and solar-panel machines). Each cell is powered by its own field of solar panels and
// accumulators east of its labs and of all those lines (megapower.go), sized from the
// cell's measured demand and the simulation's day, and by the frame line's steam
// engines, which burn its surplus gas as solid fuel. What is simulated end to end is
// every pack made by its beaconed
// machine, carried on belts and consumed by beaconed labs, red and green science from
// ore, and the chemical packs' sulfur, engine units and advanced circuits, the military
// packs' ingredients, the production packs' rails, productivity modules and electric
// furnaces, the utility packs' processing units, low density structures and flying
// robot frames, and the silo's rocket fuel, structures, processing units and satellites
// from raw resources.
//
// Rows are over-provisioned (fullMarginPct) so that the labs set the rate; the lab count
// per cell is sized for fullPacksPerSec / fullCells packs a second.

const (
	fullCells        = 6
	fullPacksPerSec  = 46  // a little over 45 (2,700 SPM) for the labs' rounding
	fullMarginPct    = 125 // production rows at 125 % of the labs' rate
	fullBeaconsAsm   = 4   // beacons counted for sizing a row with beacons behind it (4 or 5 reach each)
	fullBeaconsMid   = 1   // the middle row has no beacon row behind it: 1 or 2 reach each
	fullBeaconsLab   = 1   // labs next to a substation gap have one beacon
	fullCellPitch    = 70  // tiles between cells, north to south
	fullBelt         = "express-transport-belt"
	fullOutInserter  = "fast-inserter"
	fullInInserter   = "bulk-inserter"
	fullLongInserter = "long-handed-inserter"
)

// fullRow is one production row: an assembler row beside a belt.
type fullRow struct {
	pack string
	asmY int32   // top of the assemblers
	outY int32   // output inserters (machine -> belt)
	inY  int32   // input inserters (chest -> machine)
	chY  int32   // input chests
	dir  sim.Dir // both inserters face (pick up from) this side
	k0   int     // first column
	n    int     // machines
}

func genMegabaseFull(b *sim.Bundle, seed uint64, name string) (*sim.Surface, error) {
	return genMegabaseFullCells(b, seed, name, fullCells, fullPacksPerSec*1000/fullCells)
}

// genMegabaseFullCells builds cells cells, each sized for milliPacks/1000 packs a second
// and powered by its solar field.
func genMegabaseFullCells(b *sim.Bundle, seed uint64, name string, cells int, milliPacks int64) (*sim.Surface, error) {
	return genMegabaseFullPowered(b, seed, name, cells, milliPacks, fullPowerSolar)
}

// fullSizing is a cell's machine counts.
type fullSizing struct {
	rows map[string]int // machines per pack recipe
	labs int
	feed fullFeedSizing // the lines feeding the fed rows
}

// sizeFullCell sizes a cell for milliPacks/1000 packs a second of each pack.
func sizeFullCell(b *sim.Bundle, milliPacks int64) (fullSizing, error) {
	pl := &planner{b: b}
	sz := fullSizing{rows: map[string]int{}}
	ceil := func(a, d int64) int { return int((a + d - 1) / d) }
	for _, pack := range fullPackRows {
		ri, ok := b.Recipe(pack)
		if !ok {
			return sz, fmt.Errorf("the bundle has no recipe %s", pack)
		}
		r := &b.Recipes[ri]
		_, eff, p, err := pl.effects("assembling-machine-3", r.Productivity, fullRowBeacons(pack))
		if err != nil {
			return sz, err
		}
		var out int64
		for _, x := range r.Results {
			if x.Name == pack {
				out = int64(x.Amount)
			}
		}
		// milli-packs a second of one machine: crafts × results × productivity.
		per := int64(p.Speed) * int64(100+eff.Speed) * sim.WorkPerSecond * out * int64(100+eff.Productivity) * 1000 /
			(100 * 100 * r.Work * 100)
		if per <= 0 {
			return sz, fmt.Errorf("recipe %s: no output", pack)
		}
		sz.rows[pack] = ceil(milliPacks*fullMarginPct/100, per)
	}
	ti, ok := b.Tech("refined-flammables-7")
	if !ok {
		return sz, fmt.Errorf("the bundle has no refined-flammables-7 research")
	}
	_, eff, p, err := pl.effects("lab", true, fullBeaconsLab)
	if err != nil {
		return sz, err
	}
	// milli-units (one of each pack) a second of one lab.
	per := int64(p.Speed) * int64(100+eff.Speed) * sim.WorkPerSecond * 1000 / (100 * 100 * b.Techs[ti].Work)
	if per <= 0 {
		return sz, fmt.Errorf("labs research nothing")
	}
	sz.labs = ceil(milliPacks, per)
	sz.feed, err = sizeFullFeed(b, milliPacks)
	return sz, err
}

// fullMidPack is made by the middle row, between belts B and C.
const fullMidPack = "chemical-science-pack"

// fullRowBeacons is how many beacons, at least, reach each machine of a pack row: the
// rows with a row of beacons behind them get 4 or 5, the others 1 or 2 (one beacon
// between neighbours, a substation in every third gap). The middle row has no room
// for one; the logistic and military rows share the rows between them with the
// military row's belts.
func fullRowBeacons(pack string) int {
	switch pack {
	case fullMidPack, "logistic-science-pack", "military-science-pack",
		"production-science-pack", "utility-science-pack":
		return fullBeaconsMid
	}
	return fullBeaconsAsm
}

// fullColumns is how many machine columns a cell's rows take (the production row
// starts east of the middle row).
func fullColumns(sz *fullSizing) int {
	K := sz.rows[fullMidPack] + 1 + sz.rows["production-science-pack"]
	for _, n := range sz.rows {
		K = max(K, n)
	}
	return K
}

// fullTurnX is the turn column T of a cell at ox, east of its rows, where belts A and
// D turn towards the labs.
func fullTurnX(sz *fullSizing, ox int32) int32 { return ox + 5 + 6*int32(fullColumns(sz)-1) + 4 }

// fullFMColumn is the column of a cell's belt FM at its head (fullProductionFM): the
// gap between the chemical row and the production row.
func fullFMColumn(sz *fullSizing, ox int32) int32 {
	return ox + 3 + 6*int32(sz.rows[fullMidPack])
}

// fullPackRows are the packs made by assembler rows (space science comes from the silo).
var fullPackRows = []string{"automation-science-pack", "logistic-science-pack", "military-science-pack",
	"chemical-science-pack", "production-science-pack", "utility-science-pack"}

// genMegabaseFullPowered builds cells cells, each sized for milliPacks/1000 packs a
// second and powered as power says.
func genMegabaseFullPowered(b *sim.Bundle, seed uint64, name string, cells int, milliPacks int64, power fullPower) (*sim.Surface, error) {
	sz, err := sizeFullCell(b, milliPacks)
	if err != nil {
		return nil, err
	}
	const ox = 16
	// The solar field is sized for a cell of megabase-full; a cell sized for another
	// rate gets a field in proportion to its packs.
	field, err := sizeFullSolar(b, fullCellDemandW*milliPacks/(fullPacksPerSec*1000/fullCells))
	if err != nil {
		return nil, err
	}
	fieldX := fullLabsEnd(&sz, ox)
	if name == "" {
		name = "nauvis"
	}
	oy := func(c int) int32 { return int32(c)*fullCellPitch + 30 }
	cg := newFullCircuitGeom(&sz.feed.circuits, ox)
	mdg := newFullModuleGeom(&sz.feed.modules, &cg)
	fng := newFullFurnaceGeom(&sz.feed.furnaces, mdg.west()-fullFeedMargin)
	// The processing-unit line: its circuits east of the rail line, the rest east of
	// the labs, the solar field east of it.
	labsEnd := fieldX
	pug := newFullProcessingGeom(&sz.feed.processing, newFullRailGeom(&sz.feed.rails, fullTurnX(&sz, ox), 0).xEnd+1+fullFeedMargin, labsEnd)
	if pug.xEnd+4 >= labsEnd {
		return nil, fmt.Errorf("megabase-full: the processing-unit row ends at %d, the labs at %d", pug.xEnd, labsEnd)
	}
	// The frame line east of the processing-unit line, the low-density-structure line
	// east of it (the frames travel farther from their first made, at minute 3, so
	// they stand nearer the row); belt UL starts at its east edge. Then the
	// satellite-parts line (its outputs take row 33 in its columns, where UL would
	// run) and the silo's and the satellites' processing-unit line east of that: the
	// silo waits for both before it launches, and the satellites' solar panels and
	// accumulators, made at a trickle, would take longest to come from farthest. The
	// solar field east of them.
	frg := newFullFrameGeom(&sz.feed.frames, pug.fieldX())
	ldg := newFullLDSLineGeom(&sz.feed.lds, frg.east()+fullFrameGap)
	ulEast := ldg.east()
	sag := newFullSatGeom(&sz.feed.sat, ulEast+satGap)
	pu2 := newFullProcessing2Geom(&sz.feed.processing2, sag.east()+1)
	fieldX = pu2.east() + 1
	// No procedural ore under the base, from west of the furnace line to east of the
	// solar fields; the feed lines' ore patches go on top.
	west := fng.west() - 16
	east := max(4000, fieldX+fullFieldWidth(field)+96)
	patches := []sim.Patch{{X: west, Y: -96, W: east - west, H: int32(cells)*fullCellPitch + 192}}
	for c := 0; c < cells; c++ {
		g := newFullFeedGeom(&sz.feed, ox, oy(c))
		patches = append(patches, g.patches(b)...)
		eg := newFullEngineGeom(&sz.feed.engines, ox, oy(c))
		patches = append(patches, eg.patches(b)...)
		patches = append(patches, fullOilPatch(b, ox, oy(c)))
		rf := newFullRocketFuelGeom(sz.feed.rocketFuel, fullRocketFuelMerge(&sz, ox))
		patches = append(patches, rf.patches(b, oy(c))...)
		patches = append(patches, cg.patches(b, oy(c))...)
		patches = append(patches, mdg.patches(b, oy(c))...)
		patches = append(patches, fng.patches(b, oy(c))...)
		mg := newFullMilitaryGeom(&sz.feed.military, fullTurnX(&sz, ox)+3, oy(c))
		patches = append(patches, mg.patches(b, oy(c))...)
		rg := newFullRailGeom(&sz.feed.rails, fullTurnX(&sz, ox), oy(c))
		patches = append(patches, rg.patches(b, oy(c))...)
		patches = append(patches, pug.patches(b, oy(c))...)
		patches = append(patches, frg.patches(b, oy(c))...)
		patches = append(patches, ldg.patches(b, oy(c))...)
		patches = append(patches, pu2.patches(b, oy(c))...)
		patches = append(patches, sag.patches(b, oy(c))...)
	}
	s, err := sim.NewSurface(b, sim.Config{Name: name, Planet: "nauvis", Seed: seed,
		Research: "refined-flammables-7", Repeat: true, InserterBonus: 2, BulkBonus: 10,
		Patches: patches})
	if err != nil {
		return nil, err
	}
	l := &layout{s: s}
	for c := 0; c < cells; c++ {
		l.fullCell(b, &sz, ox, oy(c))
		l.fullCircuits(&cg, ox, oy(c))
		fg := newFullFeedGeom(&sz.feed, ox, oy(c))
		// Belt MD turns north west of the next cell's logistic copper block (rows 32
		// to 40 of this cell).
		l.fullModules(&mdg, oy(c), fg.green.copper.xd-fullFeedMargin-1, ox+fullOColumn, fullFMColumn(&sz, ox))
		l.fullFurnaces(&fng, oy(c), mdg.mdStart(), mdg.xa)
		l.fullProcessing(&pug, oy(c), labsEnd, fullFMColumn(&sz, ox)+utilC2)
		l.fullFrames(&frg, oy(c))
		l.fullLDSLine(&ldg, oy(c))
		l.fullUtilityUL(oy(c), fullFMColumn(&sz, ox), ulEast)
		// SA and SB on to the labs' east end, where the silo's belts start; the second
		// processing-unit line's SB on to the satellite-parts line's east edge, where
		// that line's SB takes it on.
		l.fullSatParts(&sag, oy(c), labsEnd+1, labsEnd+1)
		l.fullProcessing2(&pu2, oy(c), sag.head+1)
		switch power {
		case fullPowerSolar:
			l.fullSolarField(field, fieldX, oy(c))
		case fullPowerEEI:
			l.put("electric-energy-interface", ox-6, oy(c)+17, sim.North)
		}
	}
	if l.err != nil {
		return nil, l.err
	}
	s.ChargeAccumulators()
	return s, nil
}

// fullCell builds one cell; belt B runs along y = oy-2.
func (l *layout) fullCell(b *sim.Bundle, sz *fullSizing, ox, oy int32) {
	n := sz.rows
	mid := n[fullMidPack]
	rows := []fullRow{
		{pack: "automation-science-pack", asmY: -22, outY: -19, inY: -23, chY: -24, dir: sim.North},
		{pack: "logistic-science-pack", asmY: -16, outY: -17, inY: -13, chY: -12, dir: sim.South},
		{pack: "military-science-pack", asmY: -6, outY: -3, inY: -7, chY: -8, dir: sim.North},
		{pack: fullMidPack, asmY: 0, outY: -1, inY: 3, chY: 4, dir: sim.South},
		{pack: "production-science-pack", asmY: 6, outY: 5, inY: 9, chY: 10, dir: sim.South, k0: mid + 1},
		{pack: "utility-science-pack", asmY: 16, outY: 19, inY: 15, chY: 14, dir: sim.North},
	}
	K := 0
	for i := range rows {
		rows[i].n = n[rows[i].pack]
		K = max(K, rows[i].k0+rows[i].n)
	}
	X := func(k int) int32 { return ox + 2 + 6*int32(k) }
	G := func(k int) int32 { return ox + 5 + 6*int32(k) }
	feed := func(recipe string) *sim.InfinitySettings {
		ri, _ := b.Recipe(recipe)
		var f []sim.InfinityFilter
		for _, x := range b.Recipes[ri].Ingredients {
			if x.Name == "sulfur" && fullSulfurPacks[recipe] {
				continue // from the oil block
			}
			if x.Name == "rail" && fullProductionPacks[recipe] {
				continue // from belts R1 and R2
			}
			f = append(f, sim.InfinityFilter{Item: x.Name, Count: 100, Mode: "exactly"})
		}
		return &sim.InfinitySettings{Filters: f}
	}
	for _, r := range rows {
		ri, _ := b.Recipe(r.pack)
		m := l.modules("assembling-machine-3", b.Recipes[ri].Productivity)
		fed := fullFed(r.pack)
		for k := r.k0; k < r.k0+r.n; k++ {
			x := X(k)
			l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: oy + r.asmY, Recipe: r.pack, Modules: m})
			l.put(fullOutInserter, x+1, oy+r.outY, r.dir)
			l.put(fullInInserter, x+1, oy+r.inY, r.dir)
			if fullMilitaryPacks[r.pack] {
				l.put(fullLongInserter, x+2, oy+r.inY, r.dir) // grenades and rounds from M, over W
			}
			if fullUtilityPacks[r.pack] {
				l.put(fullLongInserter, x+2, oy+r.inY, r.dir) // processing units from U2, over U1
			}
			if fullProductionPacks[r.pack] {
				l.put(fullLongInserter, x+2, oy+r.inY, r.dir)    // rails from R2, over R1
				l.put(fullLongInserter, x, oy+r.outY, sim.North) // furnaces and modules from FM, over C
			} else if !fed && !fullEnginePacks[r.pack] && !fullMilitaryPacks[r.pack] && !fullUtilityPacks[r.pack] {
				l.spec(sim.BuildSpec{Name: "infinity-chest", X: x + 1, Y: oy + r.chY, Infinity: feed(r.pack)})
			}
			if fullSulfurPacks[r.pack] {
				l.put(fullLongInserter, x, oy+r.inY, r.dir) // sulfur from the oil block's belt
			}
		}
		if fullSulfurPacks[r.pack] && (r.inY+2 != fullSulfurBeltY || r.dir != sim.South || r.k0 != 0) {
			l.err = fmt.Errorf("megabase-full: the %s row is not where the sulfur belt expects it", r.pack)
			return
		}
		if fullEnginePacks[r.pack] && (r.chY != engChemY || r.dir != sim.South || r.k0 != 0) {
			l.err = fmt.Errorf("megabase-full: the %s row is not where the engine belt expects it", r.pack)
			return
		}
		if fullProductionPacks[r.pack] && (r.chY != prodR1 || r.inY != prodR1-1 || r.outY != prodFM+2 || r.dir != sim.South) {
			l.err = fmt.Errorf("megabase-full: the %s row is not where its belts expect it", r.pack)
			return
		}
		if fullMilitaryPacks[r.pack] && (r.inY != milMilInY || r.chY != milW || r.dir != sim.North || r.k0 != 0) {
			l.err = fmt.Errorf("megabase-full: the %s row is not where its belts expect it", r.pack)
			return
		}
		if fullUtilityPacks[r.pack] && (r.chY != utilU1 || r.inY != utilInY || r.dir != sim.North || r.k0 != 0) {
			l.err = fmt.Errorf("megabase-full: the %s row is not where its belts expect it", r.pack)
			return
		}
		if fed {
			// The feed lines west of the cell; their belts run under the input inserters.
			want := map[string]int32{"automation-science-pack": fullFeedBeltY, "logistic-science-pack": fullGreenBeltY}
			if r.chY != want[r.pack] || r.k0 != 0 {
				l.err = fmt.Errorf("megabase-full: the %s row is not where its feed lines expect it", r.pack)
				return
			}
		}
		// Gaps: a beacon west of the first column, then a substation every third gap
		// (18 tiles, the substation's wire reach and supply width) and beacons between.
		// East of the utility row's last machine its gap beacons reach nothing; the
		// silo's north beacons stand where they would (fullSilo).
		l.beacon(G(-1), oy+r.asmY)
		sx := fullSiloWest(sz, ox)
		for k := 0; k < K; k++ {
			if k%3 == 0 {
				l.put("substation", G(k), oy+r.asmY, sim.North)
			} else if !fullUtilityPacks[r.pack] || k < r.n || G(k)+2 < sx || G(k) > sx+8 {
				l.beacon(G(k), oy+r.asmY)
			}
		}
	}
	g := newFullFeedGeom(&sz.feed, ox, oy)
	l.fullFeed(&g, ox, oy, X(n["automation-science-pack"]-1)+3, X(n["logistic-science-pack"]-1)+3)
	l.fullOil(ox, oy, X(mid-1)+3)
	eg := newFullEngineGeom(&sz.feed.engines, ox, oy)
	l.fullEngines(&eg, ox, oy, X(mid-1)+3)

	// A row of beacons behind the automation row (the other rows' would stand where
	// the military and production rows' belts run).
	for x := G(-1); x+2 <= G(K-1)+2; x += 3 {
		l.beacon(x, oy-27)
	}

	// Where the silo stood west of the rows, two substations join the cell's west part
	// (the engine line, belt O) to the rows'.
	l.put("substation", ox-16, oy+19, sim.North)
	l.put("substation", ox-3, oy+18, sim.North)
	// The rocket-fuel line south of belt D, its rocket-fuel assemblers at its east
	// end, west of belt UL's northward column; the silo east of belt PU's (megasilo.go).
	rf := newFullRocketFuelGeom(sz.feed.rocketFuel, fullRocketFuelMerge(sz, ox))
	if rf.west() < ox-4 {
		l.err = fmt.Errorf("megabase-full: the rocket-fuel line starts at x = %d, west of %d", rf.west(), ox-4)
		return
	}
	sx := fullSiloWest(sz, ox)
	l.fullRocketFuel(&rf, oy, sx-2)
	l.fullSilo(sx, oy, fullLabsEnd(sz, ox))

	// Labs east of the turn column T, between belts B (north, normal inserters), A
	// (north, long-handed), C (south, normal) and D (south, long-handed).
	T := G(K-1) + 4
	if K != fullColumns(sz) || T != fullTurnX(sz, ox) {
		l.err = fmt.Errorf("megabase-full: %d columns, turn at %d; fullTurnX says %d", K, T, fullTurnX(sz, ox))
		return
	}
	mg := newFullMilitaryGeom(&sz.feed.military, T+3, oy)
	l.fullMilitary(&mg, T, oy, X(0))
	rg := newFullRailGeom(&sz.feed.rails, T, oy)
	l.fullProductionRails(&rg, T, oy, X(mid+1))
	if xf := X(mid) + 1; xf != fullFMColumn(sz, ox) {
		l.err = fmt.Errorf("megabase-full: belt FM's head at %d; fullFMColumn says %d", xf, fullFMColumn(sz, ox))
		return
	}
	l.fullProductionFM(oy, fullFMColumn(sz, ox), X(mid+n["production-science-pack"]))
	l.fullUtilityBelts(oy, fullFMColumn(sz, ox), X(0))
	LX := func(j int) int32 { return T + 5 + 6*int32(j) }
	end := LX(sz.labs-1) + 6
	if rg.xEnd >= end {
		l.err = fmt.Errorf("megabase-full: the labs end at %d, the rail line at %d", end, rg.xEnd)
		return
	}
	l.put("substation", T+2, oy, sim.North)
	labMods := l.modules("lab", true)
	for j := 0; j < sz.labs; j++ {
		x := LX(j)
		l.spec(sim.BuildSpec{Name: "lab", X: x, Y: oy, Modules: labMods})
		l.put(fullOutInserter, x, oy-1, sim.North)
		l.put(fullLongInserter, x+1, oy-1, sim.North)
		l.put(fullOutInserter, x, oy+3, sim.South)
		l.put(fullLongInserter, x+1, oy+3, sim.South)
		if j%3 == 2 {
			l.put("substation", x+3, oy, sim.North)
		} else {
			l.beacon(x+3, oy)
		}
	}

	// Belts: A from the north rows turns south at T; B straight; C from the east end of
	// the middle row; D, from west of the rows past the silo, turns north at T.
	l.belt(fullBelt, ox, oy-18, sim.East, T-ox)
	l.belt(fullBelt, T, oy-18, sim.South, 15)
	l.belt(fullBelt, T, oy-3, sim.East, end-T)
	l.belt(fullBelt, ox, oy-2, sim.East, end-ox)
	l.belt(fullBelt, G(mid), oy+4, sim.East, end-G(mid))
	l.belt(fullBelt, ox-12, oy+20, sim.East, T-(ox-12))
	l.belt(fullBelt, T, oy+20, sim.North, 15)
	l.belt(fullBelt, T, oy+5, sim.East, end-T)
}
