package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The satellite-parts line of a megabase-full cell: the solar panels, accumulators and
// radars of the cell's satellites from ore, crude oil and water, east of the
// low-density-structure line. A satellite takes 100 solar panels, 100 accumulators and
// 5 radars (besides structures, processing units and rocket fuel, which other lines
// make); a solar panel 5 copper plates, 5 steel and 15 circuits; an accumulator 2 iron
// plates and 5 batteries; a radar 5 circuits, 5 gears and 10 iron plates; a battery
// iron, copper and sulfuric acid. Sized by planPart for the silo's satellites at
// fullMarginPct (0.0096 a second a cell: 0.96 solar panels, 0.96 accumulators and 0.048
// radars) with the beacons this layout gives (two for every assembler, plant, refinery
// and steel furnace, three for the smelting blocks' furnaces).
//
// Its items leave on the belts that bring the silo's satellite ingredients from east of
// the labs (megautility.go): solar panels on belt SA's north lane and accumulators on
// its south lane (row utilSA), radars on belt SB's south lane (row utilSB), one item a
// lane. An inserter drops on a belt's far lane and a belt ending on another's side fills
// its near lane, so from the north (row utilSA−1, 33) the accumulators go on by a fast
// inserter, the solar panels by side-loading, and the radars by a long-handed inserter
// over SA. Row 33 is thus taken in the line's columns: belt UL starts west of the line.
//
// Rows from oy, columns from the line's west edge x0 (X0 = x0+8, the refinery):
//
//	−32..−3    the oil block (fullOilBlock: one refinery, its two pumpjacks, a light and
//	           a heavy cracker; rows q−23..q+6, q = oy+satQ), the sulfur plant and the
//	           sulfuric-acid plant beside it (as the processing-unit line's, in the first
//	           plastic plants' slots)
//	−8         belt BB: batteries, east to the accumulators
//	−7         belt P: copper (south lane) | iron (north lane), west from its blocks
//	           east of the line's chemical row to the acid plant's iron inserter
//	−6         the chemical row's inserters: iron and copper from P (bulk), batteries
//	           onto BB (long-handed, over P); iron from P and batteries from BB into the
//	           accumulators
//	−5..−3     the chemical row: battery plants facing south (their acid input is on
//	           the south side), then the accumulator assemblers, a beacon between
//	           neighbours; east of it P's copper block (north of P) and iron block
//	           (south of it)
//	−2, −1     the acid: from the acid plant down and east along row −1, up into each
//	           battery plant; the accumulators' output inserters onto belt AB (row −1),
//	           which runs east and south down column e3 to row 32, where a fast inserter
//	           puts them on SA's south lane
//	0..14      two steel units side by side, east of M's and P's blocks (steelUnit: an
//	           iron block north of its belt at row 9, steel furnaces under its drills
//	           putting steel on belt F's south lane; one unit's iron, some 20 plates a
//	           second, is more than the one lane its furnaces fill carries)
//	15         belt F: steel (south lane) | gears (north lane), east
//	16         belt C: circuits, east
//	17         inserters: circuits onto C (bulk), steel and gears from F (long-handed,
//	           over C), circuits from C (bulk); the gears onto F (long-handed)
//	18..20     two cable/circuit pairs (as the processing-unit line's), then the gear,
//	           radar and solar-panel assemblers, a beacon between neighbours
//	21         inserters: copper and iron from M (bulk), radars and solar panels onto
//	           row 23 (long-handed, over M)
//	22         belt M: copper (south lane) | iron (north lane), from a copper block north
//	           of it and an iron block south of it, west of the pairs; the pairs'
//	           beacons under it
//	23         belt SP: solar panels, east and south down column e1 to row 33, where it
//	           side-loads SA's north lane; the radars down a column of their own to row
//	           31, where a long-handed inserter in row 33 puts them on SB's south lane
//
// Every lane carries one item: gears ride beside steel on F, and the solar-panel
// assemblers, which take steel, do not take gears.

const (
	satQ    = -9 // the oil block's row origin q = oy+satQ
	satBB   = -8 // batteries
	satP    = -7 // copper | iron for batteries, acid and accumulators
	satIn   = -6 // the chemical row's inserters
	satChem = -5 // the chemical row
	satStub = -2 // the acid's pipes up into the battery plants
	satAcid = -1 // the acid row; belt AB east of it
	satL    = 9  // the steel units' iron belts
	satF    = 15 // belt F: steel | gears
	satC    = 16 // belt C: circuits
	satOut  = 17 // the row's north inserters
	satRow  = 18 // cable/circuit pairs, gear, radar and solar-panel assemblers
	satMIn  = 21 // the row's south inserters
	satM    = 22 // belt M: copper | iron
	satSP   = 23 // belt SP; the radars' column starts here
	satRB   = 31 // the radars' belt ends here
	satOff  = 8  // X0 − x0
	satGap  = 2  // columns between the line before and x0
	satBeac = 20 // the chemical row's first beacon, from X0 (east of the acid plant)

	// satUnits is how many steel units make the steel: the iron for 4.8 steel a
	// second is some 20 plates a second, more than one lane that inserters fill
	// carries (about 19); with one unit its first steel furnaces went short and the
	// line made 0.90 solar panels a second for the planned 0.96.
	satUnits = 2
)

// fullSatTasks are the tasks of the satellite-parts line's plan.
var fullSatTasks = []string{"solar-panel", "accumulator", "radar", "battery", "sulfuric-acid", "sulfur",
	"advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking", "mine crude-oil", "pump water",
	"steel-plate", "electronic-circuit", "copper-cable", "iron-gear-wheel", "copper-plate", "iron-plate",
	"mine copper-ore", "mine iron-ore"}

// fullSatFixed are the line's machine counts the layout is drawn for; sizing fails if
// the plan asks for others.
var fullSatFixed = map[string]int{
	"advanced-oil-processing": 1, "heavy-oil-cracking": 1, "light-oil-cracking": 1, "sulfur": 1,
	"sulfuric-acid": 1, "mine crude-oil": 2, "pump water": 1, "radar": 1, "iron-gear-wheel": 1,
}

// fullSatelliteRate is how many of item a second a cell's satellites take at
// fullMarginPct of milliPacks/1000 space science packs a second (a launch gives the
// satellite's launch products; the satellite assembler's productivity counted).
func fullSatelliteRate(b *sim.Bundle, milliPacks int64, item string) (*big.Rat, error) {
	sat, ok := b.ItemID("satellite")
	ri, ok2 := b.Recipe("satellite")
	need := recipeIn(b, "satellite", item)
	if !ok || !ok2 || need == 0 || b.Item(sat).LaunchCount == 0 {
		return nil, fmt.Errorf("the satellite takes no %s, or satellites launch nothing", item)
	}
	pf, err := (&planner{b: b}).prodFactor("assembling-machine-3", b.Recipes[ri].Productivity)
	if err != nil {
		return nil, err
	}
	// satellites (one a rocket) × items a satellite / productivity.
	rate := big.NewRat(milliPacks*fullMarginPct*need, 100*1000*int64(b.Item(sat).LaunchCount))
	return rate.Quo(rate, pf), nil
}

// fullSatItems are what the line makes for the satellites.
var fullSatItems = []string{"solar-panel", "accumulator", "radar"}

// planFullSatParts plans the satellite-parts line for one cell's satellites at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullSatParts(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rates := map[string]*big.Rat{}
	for _, it := range fullSatItems {
		r, err := fullSatelliteRate(b, milliPacks, it)
		if err != nil {
			return nil, err
		}
		rates[it] = r
	}
	p, err := planPart(b, rates, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the satellite's solar panels, accumulators and radars: %w", err)
	}
	return p, nil
}

// fullSatSizing is the satellite-parts line's machines per task and how its plates are
// split, each block rounded up: the copper between P (the batteries') and M (the
// cable's and the solar panels'), the iron between the steel units, P (batteries, acid
// and accumulators) and M (circuits, radars and gears).
type fullSatSizing struct {
	lines   fullFeedCounts
	copper  [2]blockCount            // P, M
	iron    [satUnits + 2]blockCount // the steel units', P, M
	steel   [satUnits]int            // steel furnaces per unit
	pairs   int                      // cable/circuit pairs
	battery int
}

// sizeFullSatParts sizes the satellite-parts line.
func sizeFullSatParts(b *sim.Bundle, milliPacks int64) (fullSatSizing, error) {
	ss := fullSatSizing{lines: fullFeedCounts{}}
	p, err := planFullSatParts(b, milliPacks)
	if err != nil {
		return ss, err
	}
	counts, lines, err := planFixedTasks(p, "satellite-parts line", fullSatTasks, fullSatFixed, "the satellite's solar panels, accumulators and radars")
	if err != nil {
		return ss, err
	}
	ss.lines = counts
	ss.battery = counts["battery"]
	if ss.pairs = counts["electronic-circuit"]; counts["copper-cable"] != ss.pairs {
		return ss, fmt.Errorf("the satellite-parts line pairs cable and circuit assemblers; the plan has %d and %d", counts["copper-cable"], ss.pairs)
	}
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return ss, err
	}
	// Crafts a second of plate (net of the furnaces' productivity) for what the
	// recipes' lines take.
	crafts := func(plate string, recipes ...string) *big.Rat {
		r := new(big.Rat)
		for _, rn := range recipes {
			r.Add(r, new(big.Rat).Mul(lines[rn].rate, big.NewRat(recipeIn(b, rn, plate), 1)))
		}
		return r.Quo(r, pf)
	}
	copper, iron := lines["copper-plate"], lines["iron-plate"]
	pCu := crafts("copper-plate", "battery")
	copy(ss.copper[:], splitBlocks(copper, lines["mine copper-ore"], pCu, new(big.Rat).Sub(copper.rate, pCu)))
	steel := crafts("iron-plate", "steel-plate")
	pFe := crafts("iron-plate", "battery", "sulfuric-acid", "accumulator")
	mFe := new(big.Rat).Sub(iron.rate, steel)
	mFe.Sub(mFe, pFe)
	var parts []*big.Rat
	for range satUnits {
		parts = append(parts, new(big.Rat).Quo(steel, big.NewRat(satUnits, 1)))
	}
	copy(ss.iron[:], splitBlocks(iron, lines["mine iron-ore"], append(parts, pFe, mFe)...))
	spread(ss.steel[:], counts["steel-plate"])
	// Each unit's steel furnaces stand under its drills.
	for u, n := range ss.steel {
		a := ss.iron[u]
		if bl := smeltBlockAt(a.drills, a.furn, 0, 0, true); rowEnd(bl.xd, n) >= bl.xs {
			return ss, fmt.Errorf("the satellite-parts line's steel unit %d has %d steel furnaces, more than fit under its %d drills", u, n, a.drills)
		}
	}
	return ss, nil
}

// fullSatGeom is where one cell's satellite-parts line lies (x absolute, rows from oy).
type fullSatGeom struct {
	x0, X0            int32
	jacks             [2]int32
	battery, acc      int
	solar, pairs      int
	steelN            [satUnits]int
	xb                int32 // the chemical row's first beacon
	e3                int32 // belt AB's southward column
	pCu, pFe          smeltBlock
	mCu, mFe          smeltBlock
	steel             [satUnits]smeltBlock
	gx                int32 // the pairs' first beacon column (east of M's blocks)
	xr                int32 // the gear, radar and solar-panel row's first beacon
	e1                int32 // belt SP's southward column
	head              int32 // where SA and SB start
	xEnd              int32
	radarX            int32 // the radar assembler
	solarX, lastSolar int32 // the first and last solar-panel assemblers
}

// newFullSatGeom lays the line out from column x0 eastwards.
func newFullSatGeom(ss *fullSatSizing, x0 int32) fullSatGeom {
	const m = fullFeedMargin
	c := ss.lines
	g := fullSatGeom{x0: x0, X0: x0 + satOff, battery: ss.battery, acc: c["accumulator"], solar: c["solar-panel"],
		pairs: ss.pairs, steelN: ss.steel}
	g.jacks = [2]int32{g.X0 + 1, g.X0 + 6}
	g.xb = g.X0 + satBeac
	g.e3 = rowEnd(g.xb, g.battery+g.acc) + 2
	pair := func(north, south blockCount, west int32) (smeltBlock, smeltBlock) {
		xE := max(smeltBlockAt(north.drills, north.furn, west, 0, true).xE, smeltBlockAt(south.drills, south.furn, west, 0, false).xE)
		return newSmeltBlock(north.drills, north.furn, xE, 0, true), newSmeltBlock(south.drills, south.furn, xE, 0, false)
	}
	g.pCu, g.pFe = pair(ss.copper[0], ss.iron[satUnits], g.e3+1+m)
	g.mCu, g.mFe = pair(ss.copper[1], ss.iron[satUnits+1], g.e3+1+m)
	g.gx = g.mCu.xE + 1
	x := max(g.mCu.xE, g.pCu.xE) + m
	for u := range g.steel {
		a := ss.iron[u]
		g.steel[u] = smeltBlockAt(a.drills, a.furn, x, 0, true)
		x = g.steel[u].xE + m
	}
	last := satUnits - 1
	g.xr = max(g.gx+9*int32(g.pairs)+1, rowEnd(g.steel[last].xd, g.steelN[last])+1)
	g.radarX, g.solarX = g.xr+9, g.xr+15 // after the gear assembler (xr+3)
	g.lastSolar = g.solarX + 6*int32(g.solar-1)
	g.e1 = rowEnd(g.xr, 2+g.solar) + 1
	g.head = g.e1 + 2
	g.xEnd = max(g.head, g.steel[last].xE, g.pCu.xE)
	return g
}

// east is the line's east edge: the solar field starts east of it.
func (g *fullSatGeom) east() int32 { return g.xEnd + 3 }

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullSatGeom) at(oy int32) fullSatGeom {
	g.pCu.pb, g.pFe.pb = oy+satP, oy+satP
	g.mCu.pb, g.mFe.pb = oy+satM, oy+satM
	for u := range g.steel {
		g.steel[u].pb = oy + satL
	}
	return g
}

func (g *fullSatGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, _, _, crude := oreIDs(b)
	h := g.at(oy)
	ps := []sim.Patch{h.pCu.patch(copper, megaOre), h.pFe.patch(iron, megaOre), h.mCu.patch(copper, megaOre),
		h.mFe.patch(iron, megaOre)}
	for u := range h.steel {
		ps = append(ps, h.steel[u].patch(iron, megaOre))
	}
	for _, x := range g.jacks {
		ps = append(ps, sim.Patch{Resource: crude, X: x + 1, Y: oy + satQ + acJack + 1, W: 1, H: 1, Amount: fullOilAmount})
	}
	return ps
}

// fullSatParts builds the satellite-parts line of a cell at oy and belts SA and SB from
// its outputs west to columns saWest and sbWest (SA: solar panels on the north lane,
// accumulators on the south lane; SB: radars on the south lane). A belt that goes on
// west of them (the silo's, or SB from a line west of this one, which puts its items on
// SB's north lane) takes the lanes as they are.
func (l *layout) fullSatParts(g0 *fullSatGeom, oy, saWest, sbWest int32) {
	g := g0.at(oy)
	y := func(r int32) int32 { return oy + r }
	q := oy + satQ
	yq := func(r int32) int32 { return q + r }
	X0 := g.X0
	east := func(x0, x1, r int32) { l.belt(fullBelt, x0, y(r), sim.East, x1-x0+1) }
	westBelt := func(x1, x0, r int32) { l.belt(fullBelt, x1, y(r), sim.West, x1-x0+1) }
	south := func(x, r0, r1 int32) { l.belt(fullBelt, x, y(r0), sim.South, r1-r0+1) }
	chem := l.modules("chemical-plant", true)
	plant := func(x, r int32, recipe string, d sim.Dir) {
		l.spec(sim.BuildSpec{Name: "chemical-plant", X: x, Y: y(r), Dir: d, Recipe: recipe, Modules: chem})
	}
	asm := func(x, r int32, recipe string) {
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
	}

	// Oil: the block, and a second pumpjack east of the first, its crude under the
	// refinery's water pipe into the crude pipe.
	l.fullOilBlock(X0, q, g.jacks[:1], 1, 0)
	jr := yq(acRef - 1)
	l.spec(sim.BuildSpec{Name: "pumpjack", X: g.jacks[1], Y: yq(acJack), Dir: sim.South, Modules: l.modules("pumpjack", true)})
	l.put("pipe", g.jacks[1], jr, sim.North)
	l.put("pipe-to-ground", g.jacks[1]-1, jr, sim.East)
	l.put("pipe-to-ground", X0+2, jr, sim.West)

	// Sulfur and acid, as the processing-unit line's: water down columns xs and xs+3,
	// gas under the rows between, the sulfur handed across by an inserter.
	xs, xq := X0+13, X0+17
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: xs, Y: yq(acPlant), Recipe: "sulfur", Modules: chem})
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: xq, Y: yq(acPlant), Recipe: "sulfuric-acid", Modules: chem})
	for r := int32(acWater2 + 1); r <= acGasRow-2; r++ {
		l.put("pipe", xs, yq(r), sim.North)
		l.put("pipe", xs+3, yq(r), sim.North)
	}
	l.pipeUnder(xs, yq(acGasRow-1), yq(acPlant-1))
	l.pipeUnder(xs+2, yq(acGasRow+1), yq(acPlant-1))
	l.pipeUnder(xs+3, yq(acGasRow-1), yq(acGasRow+1))
	l.put("pipe", xs+3, yq(acCoal), sim.North)
	l.put("pipe", xs+3, yq(acPlant-1), sim.North)
	l.put("pipe", xq, yq(acPlant-1), sim.North)
	l.put(fullInInserter, xs+3, yq(acPlant+1), sim.West) // sulfur into the acid plant
	l.put(fullInInserter, xq+1, y(satIn), sim.North)     // iron from P's end
	l.beacon(X0+9, yq(acPlant))
	l.beacon(xs-1, y(satAcid+1))

	// The chemical row: battery plants facing south, then the accumulators.
	nb := g.battery
	machineRow(g.xb, nb+g.acc, func(x int32) {
		l.beacon(x, y(satChem))
		l.put("medium-electric-pole", x+1, y(satIn), sim.North)
		l.put("medium-electric-pole", x+1, y(satStub), sim.North)
	}, func(j int, x int32) {
		if j < nb {
			plant(x, satChem, "battery", sim.South)
			l.put("pipe", x+2, y(satStub), sim.North)       // acid from the row under it
			l.put(fullLongInserter, x, y(satIn), sim.South) // batteries onto BB, over P
			l.put(fullInInserter, x+1, y(satIn), sim.North) // copper and iron from P
			return
		}
		asm(x, satChem, "accumulator")
		l.put(fullLongInserter, x, y(satIn), sim.North)    // batteries from BB
		l.put(fullInInserter, x+1, y(satIn), sim.North)    // iron from P
		l.put(fullOutInserter, x+1, y(satStub), sim.North) // accumulators onto AB
	})
	lastB := g.xb + 6*int32(nb-1) + 3
	firstA := g.xb + 6*int32(nb) + 3
	lastA := firstA + 6*int32(g.acc-1)
	// The acid: down from the plant and east under the battery plants.
	l.pipes(xq, y(satStub), xq, y(satAcid))
	l.pipes(xq+1, y(satAcid), lastB+2, y(satAcid))
	east(g.xb+3, lastA, satBB)
	// AB: east, and south down e3 to the fast inserter over SA.
	east(firstA+1, g.e3-1, satAcid)
	south(g.e3, satAcid, utilSA-2)
	l.put(fullOutInserter, g.e3, y(utilSA-1), sim.North)

	// P: its blocks east of the chemical row, the plates west to the acid plant.
	l.smeltBlock(&g.pCu)
	l.smeltBlock(&g.pFe)
	pEnd := max(g.pCu.furnCols[len(g.pCu.furnCols)-1], g.pFe.furnCols[len(g.pFe.furnCols)-1]) + 2
	westBelt(pEnd, xq+1, satP)

	// The steel units; F east along the row.
	for u := range g.steel {
		l.steelUnit(&g.steel[u], g.steelN[u], y(satL))
	}
	rowX := g.lastSolar + 2 // the row's last input column
	east(g.steel[0].xd+3, rowX, satF)

	// M's blocks; M east along the row.
	l.smeltBlock(&g.mCu)
	l.smeltBlock(&g.mFe)
	east(min(g.mCu.xs, g.mFe.xs), rowX, satM)

	// The cable/circuit pairs: copper and iron from M, circuits onto C.
	for j := 0; j < g.pairs; j++ {
		kx := g.gx + 1 + 9*int32(j)
		ex := kx + 4
		asm(kx, satRow, "copper-cable")
		asm(ex, satRow, "electronic-circuit")
		l.put(fullInInserter, kx+3, y(satRow+1), sim.West) // cable into the circuit assembler
		l.put(fullInInserter, kx+1, y(satMIn), sim.South)  // copper from M
		l.put(fullInInserter, ex+1, y(satMIn), sim.South)  // iron from M
		l.beacon(kx-1, y(satM+1))
		l.beacon(kx+5, y(satM+1))
		l.put(fullInInserter, ex, y(satOut), sim.South) // circuits onto C
		l.put(fullInInserter, ex+2, y(satOut), sim.South)
		l.put("substation", kx+7, y(satRow), sim.North)
	}
	east(g.gx+5, rowX, satC)

	// The gear, radar and solar-panel assemblers.
	machineRow(g.xr, 2+g.solar, func(x int32) {
		l.beacon(x, y(satRow))
		l.put("medium-electric-pole", x+1, y(satOut), sim.North)
		l.put("medium-electric-pole", x+1, y(satMIn), sim.North)
	}, func(j int, x int32) {
		switch j {
		case 0:
			asm(x, satRow, "iron-gear-wheel")
			l.put(fullInInserter, x+1, y(satMIn), sim.South) // iron from M
			l.put(fullLongInserter, x, y(satOut), sim.South) // gears onto F's north lane
		case 1:
			asm(x, satRow, "radar")
			l.put(fullLongInserter, x, y(satOut), sim.North)   // gears from F
			l.put(fullInInserter, x+1, y(satOut), sim.North)   // circuits from C
			l.put(fullInInserter, x+1, y(satMIn), sim.South)   // iron from M
			l.put(fullLongInserter, x+2, y(satMIn), sim.North) // radars down their column
		default:
			asm(x, satRow, "solar-panel")
			l.put(fullLongInserter, x, y(satOut), sim.North)   // steel from F
			l.put(fullInInserter, x+1, y(satOut), sim.North)   // circuits from C
			l.put(fullInInserter, x+1, y(satMIn), sim.South)   // copper from M
			l.put(fullLongInserter, x+2, y(satMIn), sim.North) // solar panels onto SP
		}
	})
	// The radars: down to row 31, a long-handed inserter over SA onto SB's far lane.
	south(g.radarX+2, satSP, satRB)
	l.put(fullLongInserter, g.radarX+2, y(utilSA-1), sim.North)
	// SP: east and south down e1, side-loading SA's north lane.
	east(g.solarX+2, g.e1-1, satSP)
	south(g.e1, satSP, utilSA-1)

	// SA and SB from the head west.
	westBelt(g.head, saWest, utilSA)
	westBelt(g.head, sbWest, utilSB)

	// Substations: one near each point of a grid ten tiles apart (wire reach 18,
	// supply 18×18), wherever two free columns and rows are found near it, joining the
	// parts, the line before it (x0) and the solar field after it (east).
	var xs2 []int32
	for x := g.x0 + 1; x < g.east()-2; x += 10 {
		xs2 = append(xs2, x)
	}
	xs2 = append(xs2, g.east()-2)
	for _, x := range xs2 {
		for r := int32(-30); r <= 30; r += 10 {
			l.substationNear(x, y(r), 3, y(-33), y(31))
		}
	}
}

// substationNear places a substation on the free 2×2 spot nearest (x, y), within d
// tiles in each direction and with its top row from y0 to y1, if there is one.
func (l *layout) substationNear(x, y, d, y0, y1 int32) {
	for k := int32(0); k <= 2*d; k++ {
		for dy := -d; dy <= d; dy++ {
			for dx := -d; dx <= d; dx++ {
				if abs32(dx)+abs32(dy) != k || y+dy < y0 || y+dy > y1 {
					continue
				}
				if l.free(x+dx, y+dy, 2, 2) {
					l.put("substation", x+dx, y+dy, sim.North)
					return
				}
			}
		}
	}
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
