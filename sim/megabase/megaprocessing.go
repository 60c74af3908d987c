package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The processing-unit line of a megabase-full cell: the utility row's processing units
// from ore, coal, crude oil and water, sized by planPart for the row's processing
// units at fullMarginPct with the beacons this layout gives (two for every assembler
// and plant, three for the furnaces). Processing units take circuits (74.5 a second
// a cell), advanced circuits and sulfuric acid; the line has two parts.
//
// The circuits, in the rows the labs leave free east of the rail line's east end
// (rows 6 to 31 from oy). 74.5 circuits a second are more than three express lanes,
// and a lane that inserters fill carries about 19 a second, so the plan's nine pairs
// (8.2 circuits a second each) stand in four groups of 2, 2, 2 and 3, each with a
// copper block north of its plate belt M and an iron block south of it, from west to
// east. Rows, from oy:
//
//	6          belt CB: group 0's circuits (north lane) | group 1's (south lane), east
//	7..16      each group's copper block, its plates on M's south lane
//	10         each group's circuit belt, east of its blocks: group 0's turns north
//	           into CB, group 1's side-loads CB's south lane; group 3's (C3) turns
//	           south to row 28, group 2's (G2) to row 27, runs east under group 3 and
//	           side-loads C3's south lane
//	11         the pairs' output inserters (two a circuit assembler); group 3's last
//	           pair puts its circuits on a short belt east of it that side-loads the
//	           south lane of the group's belt
//	12..14     the pairs: a cable assembler handing its cable straight to a circuit
//	           assembler (as fullCablePairs), a substation after each pair
//	15         the pairs' input inserters: copper and iron from M
//	16         belt M: copper (south lane) | iron (north lane), east
//	16..25     each group's iron block, its plates on M's north lane
//	17..19     the pairs' beacons, under M: two reach each machine
//
// CB turns south at column cC, east of the groups, to row 22 and runs east past the
// labs' end to the advanced-circuit row; C3 runs east to the processing-unit row.
//
// The rest: the advanced-circuit line's shape east of the labs' end (the solar field
// moves east of it: fieldX), with its rows shifted 5 up (q = oy+puQ), and a row of
// processing-unit assemblers east of cC, west of the labs' end:
//
//	−28..2     the oil block, the coal field and two plastic plants (fullOilBlock:
//	           two refineries under the two pumpjacks in this line; a line with one
//	           refinery pipes the second pumpjack's crude oil to it, extraJacks);
//	           in the third plant's slot the sulfur plant (water down column X0+13
//	           and gas under the coal belt), east of it the sulfuric-acid plant, the
//	           sulfur handed across by an inserter where the slot's beacon stood;
//	           its water comes down column X0+16, under the gas row
//	3          belt P2: plastic (south lane) | iron (north lane), from a small iron
//	           block south of it at the west end; the acid plant takes its iron from P2
//	9          belt M: copper from a block south of it (west of X0+17) for the
//	           advanced circuits' cable assemblers KA and KB (11..13, fullACCable),
//	           which fill P1 (15)
//	14..20     the advanced-circuit row as in the advanced-circuit line: cable from P1,
//	           plastic from P2 (turned south, 14), circuits from CB (long-handed, over
//	           O, beside the output inserter); advanced circuits onto O
//	21         belt O: advanced circuits, west to the processing-unit row
//	22         belt CB: circuits on both lanes, east
//	23         substations along the advanced-circuit row; the processing-unit
//	           assemblers' input inserters: long-handed from O over CB, a bulk
//	           inserter from CB
//	24..26     processing-unit assemblers facing south (their fluid input is the
//	           middle of the south edge), a beacon between neighbours, medium poles
//	           above and below the beacons
//	27         their output inserters (long-handed, over C3), bulk inserters from C3
//	           and pipe-to-ground pairs to the acid row
//	28         belt C3: circuits on both lanes
//	29         belt PU, west, turning south at the row's west edge
//	31         sulfuric acid, from the acid plant down column X0+17 (under P2, M, O and
//	           CB through pipe-to-ground pairs) and west to the processing-unit row
//	32         belt PU west, past the rail line, to column fullFMColumn+utilC2, north
//	           and under belt D and the utility row (an underground pair, rows 21 to
//	           15) into U2's head, so the processing units ride U2's south lane
//
// Every inserter carries one item (lanes never mix), so none holds an item its machine
// has no room for while the machine waits for another.

// planFullProcessing plans the processing-unit line for one cell's utility row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullProcessing(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	return planRowItem(b, milliPacks, "utility-science-pack", "processing-unit", "the utility row's processing units")
}

const (
	puCB     = 6  // belt CB in the circuits' part
	puOut    = 10 // the groups' circuit belts
	puPair   = 12 // the pairs' top row
	puM      = 16 // belt M, the groups' plate belt
	puGroups = 4  // groups of cable/circuit pairs
	puRunO   = 27 // G2's run east under the last group
	puRunC3  = 28 // C3's run east, and its row along the processing-unit row

	puQ    = -5 // the advanced-circuit line's rows are shifted by this (q = oy+puQ)
	puP2   = 3  // belt P2 (acP2 shifted)
	puKM   = 9  // belt M of the cable assemblers KA and KB (acM shifted)
	puO    = 21 // belt O (acOut shifted)
	puCBE  = 22 // belt CB along the advanced-circuit and processing-unit rows
	puSub  = 23 // the advanced-circuit row's substations
	puIn   = 23 // the processing-unit assemblers' input inserters
	puAsm  = 24 // the processing-unit assemblers
	puOutI = 27 // their output inserters
	puBelt = 29 // belt PU along the processing-unit row, west
	puAcid = 31 // the sulfuric-acid row
	puBack = 32 // belt PU's run west to the utility row
	// puUnder is where belt PU dives under belt D and the utility row into U2's head
	// (an underground pair from this row to utilInY).
	puUnder = 21
)

// fullProcessingTasks are the tasks of the processing-unit line's plan.
var fullProcessingTasks = []string{"processing-unit", "advanced-circuit", "electronic-circuit", "copper-cable",
	"sulfuric-acid", "sulfur", "plastic-bar", "advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking",
	"mine crude-oil", "pump water", "copper-plate", "iron-plate", "mine copper-ore", "mine iron-ore", "mine coal"}

// fullProcessingFixed are the line's machine counts the layout is drawn for; sizing
// fails if the plan asks for others (the cable assemblers are one a pair and KA, KB).
var fullProcessingFixed = map[string]int{
	"advanced-oil-processing": 2, "heavy-oil-cracking": 1, "light-oil-cracking": 2,
	"plastic-bar": 2, "sulfur": 1, "sulfuric-acid": 1, "mine crude-oil": 2, "pump water": 1,
}

// fullProcessingSizing is the processing-unit line's machines per task, its
// cable/circuit pairs per group, and its copper and iron blocks: one per group, sized
// for the group's share of the circuits, then the advanced circuits' cable copper and
// the sulfuric acid's iron, each rounded up.
type fullProcessingSizing struct {
	lines  fullFeedCounts
	pairs  [puGroups]int
	copper [puGroups + 1]blockCount
	iron   [puGroups + 1]blockCount
}

// sizeFullProcessing sizes the processing-unit line.
func sizeFullProcessing(b *sim.Bundle, milliPacks int64) (fullProcessingSizing, error) {
	p, err := planFullProcessing(b, milliPacks)
	if err != nil {
		return fullProcessingSizing{}, err
	}
	return sizeProcessingPlan(b, p, "processing-unit line", fullProcessingFixed, 2, "the utility row's processing units")
}

// sizeProcessingPlan sizes a line laid out as the processing-unit line for its plan
// p: line names it, fixed are the counts its layout is drawn for, acCable the plan's
// cable assemblers for the advanced circuits (the layout's two, KA and KB, stand
// for them), makes what it makes.
func sizeProcessingPlan(b *sim.Bundle, p *Plan, line string, fixed map[string]int, acCable int, makes string) (fullProcessingSizing, error) {
	ps := fullProcessingSizing{lines: fullFeedCounts{}}
	counts, lines, err := planFixedTasks(p, line, fullProcessingTasks, fixed, makes)
	if err != nil {
		return ps, err
	}
	ps.lines = counts
	n := counts["electronic-circuit"]
	if n < puGroups {
		return ps, fmt.Errorf("the %s's plan has %d circuit assemblers; the layout has %d groups of pairs", line, n, puGroups)
	}
	if counts["copper-cable"] != n+acCable {
		return ps, fmt.Errorf("the %s's plan has %d cable assemblers for %d circuit assemblers; the layout has one a pair and two for the advanced circuits, which stand for %d", line, counts["copper-cable"], n, acCable)
	}
	for k := range ps.pairs { // the last groups take the rest: the last one fills two lanes
		ps.pairs[k] = n / puGroups
		if k >= puGroups-n%puGroups {
			ps.pairs[k]++
		}
	}
	if ps.pairs[0] != 2 || ps.pairs[puGroups-1] > 3 {
		return ps, fmt.Errorf("the %s's %d circuit assemblers make groups of %v pairs; the layout is drawn for two in each but the last, three in that", line, n, ps.pairs)
	}
	// The pairs' share of the copper (by the cable the circuits and the advanced
	// circuits take) and of the iron (the rest is the sulfuric acid's), a group's
	// share by its pairs.
	in := func(recipe, item string) *big.Rat { return big.NewRat(recipeIn(b, recipe, item), 1) }
	mul := func(xs ...*big.Rat) *big.Rat {
		r := big.NewRat(1, 1)
		for _, x := range xs {
			r.Mul(r, x)
		}
		return r
	}
	ec := mul(lines["electronic-circuit"].rate, in("electronic-circuit", "copper-cable"))
	ac := mul(lines["advanced-circuit"].rate, in("advanced-circuit", "copper-cable"))
	copper := lines["copper-plate"]
	cu := mul(copper.rate, ec, new(big.Rat).Inv(new(big.Rat).Add(ec, ac)))
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return ps, err
	}
	fe := mul(lines["electronic-circuit"].rate, in("electronic-circuit", "iron-plate"), new(big.Rat).Inv(pf))
	var cuParts, feParts []*big.Rat
	for k := range ps.pairs {
		share := big.NewRat(int64(ps.pairs[k]), int64(n))
		cuParts = append(cuParts, mul(cu, share))
		feParts = append(feParts, mul(fe, share))
	}
	cuParts = append(cuParts, new(big.Rat).Sub(copper.rate, cu))
	feParts = append(feParts, new(big.Rat).Sub(lines["iron-plate"].rate, fe))
	copy(ps.copper[:], splitBlocks(copper, lines["mine copper-ore"], cuParts...))
	copy(ps.iron[:], splitBlocks(lines["iron-plate"], lines["mine iron-ore"], feParts...))
	return ps, nil
}

// fullProcessingGroup is where one group of cable/circuit pairs lies (x absolute).
type fullProcessingGroup struct {
	pairs        int
	copper, iron smeltBlock // plate belts placed by fullProcessingGeom.at
	x            int32      // the pairs' first beacon
	end          int32      // the group's last column but its belt's turn (end+1)
}

// fullProcessingGeom is where one cell's processing-unit line lies (x absolute).
type fullProcessingGeom struct {
	groups       [puGroups]fullProcessingGroup
	cC           int32 // CB's southward column, east of the groups
	x0           int32 // the circuits' west edge
	iron, copper smeltBlock
	X0           int32 // the oil block's first refinery
	coalCols     []int32
	coalGaps     []int32
	coal         int
	crude        [2]int32 // the pumpjacks
	refineries   int      // under the first pumpjacks (the others: extraJacks)
	ac, pu       int      // advanced-circuit and processing-unit assemblers
	xa, acEast   int32    // the advanced-circuit row's first beacon and east end
	xp, xEnd     int32    // the processing-unit row's first beacon and east end
}

// newFullProcessingGeom lays the processing-unit line out: the circuits from column
// west, the rest from the labs' east end labsEnd.
func newFullProcessingGeom(ps *fullProcessingSizing, west, labsEnd int32) fullProcessingGeom {
	const m = fullFeedMargin
	g := fullProcessingGeom{x0: west, coal: ps.lines["mine coal"], ac: ps.lines["advanced-circuit"], pu: ps.lines["processing-unit"],
		refineries: ps.lines["advanced-oil-processing"]}
	x := west
	for k := range g.groups {
		gr := &g.groups[k]
		gr.pairs = ps.pairs[k]
		cu, fe := ps.copper[k], ps.iron[k]
		// Both blocks end at one column, the pairs east of it.
		xE := max(smeltBlockAt(cu.drills, cu.furn, x, 0, true).xE, smeltBlockAt(fe.drills, fe.furn, x, 0, false).xE)
		gr.copper = newSmeltBlock(cu.drills, cu.furn, xE, 0, true)
		gr.iron = newSmeltBlock(fe.drills, fe.furn, xE, 0, false)
		gr.x = xE + 1
		gr.end = gr.x + 9*int32(gr.pairs)
		if k == puGroups-1 {
			gr.end += 3 // the last pair's circuits leave by a short belt east of it
		}
		x = gr.end + 2 + m
	}
	g.cC = g.groups[puGroups-1].end + 3
	// East of the labs: the acid's iron block, the cable's copper block, then the oil
	// block with the coal field west of it and the machine rows east of it.
	a, c := ps.iron[puGroups], ps.copper[puGroups]
	g.iron = smeltBlockAt(a.drills, a.furn, labsEnd+2, 0, false)
	g.copper = smeltBlockAt(c.drills, c.furn, g.iron.xE+m, 0, false)
	_, _, coalW := columns(0, (g.coal+1)/2)
	g.X0 = max(g.copper.xE-16, labsEnd+2+coalW+12)
	g.coalCols, g.coalGaps, _ = columns(g.X0-12-coalW, (g.coal+1)/2)
	g.crude = [2]int32{g.X0 + 1, g.X0 + 9}
	g.xa = g.X0 + 37
	g.acEast = rowEnd(g.xa, g.ac)
	// The processing-unit row east of CB's southward run, west of the labs' end.
	g.xp = g.cC + 2
	g.xEnd = rowEnd(g.xp, g.pu)
	return g
}

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullProcessingGeom) at(oy int32) fullProcessingGeom {
	for k := range g.groups {
		g.groups[k].copper.pb = oy + puM
		g.groups[k].iron.pb = oy + puM
	}
	g.iron.pb = oy + puP2
	g.copper.pb = oy + puKM
	return g
}

func (g *fullProcessingGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, coal, _, crude := oreIDs(b)
	h := g.at(oy)
	var ps []sim.Patch
	for k := range h.groups {
		ps = append(ps, h.groups[k].copper.patch(copper, megaOre), h.groups[k].iron.patch(iron, megaOre))
	}
	ps = append(ps, h.iron.patch(iron, megaOre), h.copper.patch(copper, megaOre))
	return append(ps, coalAndCrude(coal, crude, g.coalCols, g.crude[:], oy+puQ)...)
}

// fullProcessing builds the processing-unit line of a cell at oy and belt PU from it
// into U2's head at column u2 (fullUtilityBelts), with a substation at (labsEnd, oy)
// joining it to the labs and two east of it joining it to the solar field.
func (l *layout) fullProcessing(g0 *fullProcessingGeom, oy, labsEnd, u2 int32) {
	l.fullProcessingLine(g0, oy, labsEnd, func() {
		// West along row 32 to u2, north, under belt D and the utility row into U2's
		// head.
		y := func(r int32) int32 { return oy + r }
		l.belt(fullBelt, g0.xp, y(puBack), sim.West, g0.xp-u2)
		l.belt(fullBelt, u2, y(puBack), sim.North, puBack-puUnder)
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: u2, Y: y(puUnder), Dir: sim.North, Underground: "input"})
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: u2, Y: y(utilInY), Dir: sim.North, Underground: "output"})
	})
}

// fullProcessingLine builds a processing-unit line of a cell at oy as laid out above
// (its rest east of labsEnd, a substation at (labsEnd, oy)) with belt PU from the
// processing-unit row to its west edge and south to row puBack−1, from where out
// lays it on (from (xp, puBack)).
func (l *layout) fullProcessingLine(g0 *fullProcessingGeom, oy, labsEnd int32, out func()) {
	g := g0.at(oy)
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	asm := func(x, r int32, recipe string, d sim.Dir) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe, Dir: d,
			Modules: l.modules("assembling-machine-3", true)})
	}
	east := func(x0, x1, r int32) { l.belt(fullBelt, x0, y(r), sim.East, x1-x0+1) }
	south := func(x, r0, r1 int32) { l.belt(fullBelt, x, y(r0), sim.South, r1-r0+1) }
	north := func(x, r0, r1 int32) { l.belt(fullBelt, x, y(r0), sim.North, r0-r1+1) }
	pipes := func(x, r0, r1 int32) { l.pipes(x, y(r0), x, y(r1)) } // a run down column x
	under := func(x, rTop, rBottom int32) { l.pipeUnder(x, y(rTop), y(rBottom)) }

	// The circuits: four groups of pairs.
	last := &g.groups[puGroups-1]
	for k := range g.groups {
		gr := &g.groups[k]
		l.smeltBlock(&gr.copper)
		l.smeltBlock(&gr.iron)
		mx := min(gr.copper.xs, gr.iron.xs)
		l.belt(fullBelt, mx, y(puM), sim.East, gr.end-mx)
		for j := 0; j < gr.pairs; j++ {
			kx := gr.x + 1 + 9*int32(j)
			ex := kx + 4
			asm(kx, puPair, "copper-cable", sim.North)
			asm(ex, puPair, "electronic-circuit", sim.North)
			l.put(fullInInserter, kx+3, y(puPair+1), sim.West) // cable into the circuit assembler
			l.put(fullInInserter, kx+1, y(puM-1), sim.South)   // copper from M
			l.put(fullInInserter, ex+1, y(puM-1), sim.South)   // iron from M
			beacon(kx-1, puM+1)
			beacon(kx+5, puM+1)
			if k == puGroups-1 && j == gr.pairs-1 {
				// The last pair's circuits: east onto a short belt side-loading the
				// south lane of the group's belt.
				l.put(fullInInserter, ex+3, y(puPair), sim.West)
				l.put(fullInInserter, ex+3, y(puPair+2), sim.West)
				north(ex+4, puPair+2, puOut+1)
				l.put("substation", ex+5, y(puPair), sim.North)
				continue
			}
			l.put(fullInInserter, ex, y(puOut+1), sim.South)   // circuits onto the group's belt
			l.put(fullInInserter, ex+2, y(puOut+1), sim.South) // (two keep up)
			l.put("substation", kx+7, y(puPair), sim.North)
		}
		x1 := gr.x + 5
		switch k {
		case 0: // north into CB
			east(x1, gr.end-1, puOut)
			north(gr.end, puOut, puCB+1)
			east(gr.end, g.groups[1].end, puCB)
		case 1: // side-loading CB's south lane; CB runs on east to cC
			east(x1, gr.end-1, puOut)
			north(gr.end, puOut, puCB+1)
			east(g.groups[1].end+1, g.cC-1, puCB)
		case 2: // G2: south, east under the last group, side-loading C3's south lane
			east(x1, gr.end, puOut)
			south(gr.end+1, puOut, puRunO-1)
			east(gr.end+1, last.end, puRunO)
		default: // C3: south and east
			east(x1, gr.end, puOut)
			south(gr.end+1, puOut, puRunC3-1)
			east(gr.end+1, g.xEnd, puRunC3) // to the processing-unit row's end
		}
	}
	// CB south at cC to its row and east.
	south(g.cC, puCB, puCBE-1)
	east(g.cC, g.acEast, puCBE) // past the processing-unit row to the advanced-circuit row

	// East of the labs: oil, coal, two plastic plants, the sulfur and acid plants.
	q := oy + puQ
	yq := func(r int32) int32 { return q + r }
	X0 := g.X0
	l.put("substation", labsEnd, y(0), sim.North) // joins the line to the labs
	l.fullOilBlock(X0, q, g.crude[:g.refineries], 2, 2)
	l.extraJacks(X0, q, g.refineries, g.crude[g.refineries:])
	l.drillsBeside(g.coalCols, g.coal, yq(acCoal))
	for _, x := range g.coalGaps {
		l.put("substation", x, yq(acCoal-3), sim.North)
	}
	l.belt(fullBelt, g.coalCols[0], yq(acCoal), sim.East, X0+15-g.coalCols[0])
	chem := l.modules("chemical-plant", true)
	xs, xq := X0+13, X0+17 // the sulfur and acid plants (acPlant rows)
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: xs, Y: yq(acPlant), Recipe: "sulfur", Modules: chem})
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: xq, Y: yq(acPlant), Recipe: "sulfuric-acid", Modules: chem})
	// Sulfur: water down column xs from the crackers' water row, under the gas row
	// and the coal belt; gas under the coal belt.
	for r := int32(acWater2 + 1); r <= acGasRow-2; r++ {
		l.put("pipe", xs, yq(r), sim.North)
	}
	l.put("pipe-to-ground", xs, yq(acGasRow-1), sim.North)
	l.put("pipe-to-ground", xs, yq(acPlant-1), sim.South)
	l.put("pipe-to-ground", xs+2, yq(acGasRow+1), sim.North)
	l.put("pipe-to-ground", xs+2, yq(acPlant-1), sim.South)
	l.put(fullInInserter, xs+3, yq(acPlant+1), sim.West) // sulfur into the acid plant
	// Acid: water down column xs+3, under the gas row, into its input; iron from P2.
	for r := int32(acWater2 + 1); r <= acGasRow-2; r++ {
		l.put("pipe", xs+3, yq(r), sim.North)
	}
	l.put("pipe-to-ground", xs+3, yq(acGasRow-1), sim.North)
	l.put("pipe-to-ground", xs+3, yq(acGasRow+1), sim.South)
	l.put("pipe", xs+3, yq(acCoal), sim.North)
	l.put("pipe", xs+3, yq(acPlant-1), sim.North)
	l.put("pipe", xq, yq(acPlant-1), sim.North)
	l.put(fullInInserter, xq+1, yq(acPlant+3), sim.South) // iron from P2
	beacon(xq+3, puQ+acPlant)
	beacon(xs-1, puP2+1)
	// The acid down column xq under P2, M, O and CB to its row, then west to the
	// processing-unit row.
	under(xq, puQ+acPlant+3, puP2+1)
	pipes(xq, puP2+2, puKM-2)
	under(xq, puKM-1, puKM+1)
	pipes(xq, puKM+2, puO-2)
	under(xq, puO-1, puCBE+1)
	pipes(xq, puCBE+2, puAcid)
	for x := g.xp + 4; x < xq; x++ {
		l.put("pipe", x, y(puAcid), sim.North)
	}

	// P2: the acid's iron (a block south of it) and the plastic, east, south at
	// xa−1 to row 14 and east along the advanced-circuit row.
	l.smeltBlock(&g.iron)
	turn := g.xa - 1
	l.belt(fullBelt, g.iron.xs, y(puP2), sim.East, turn-g.iron.xs)
	l.belt(fullBelt, turn, y(puP2), sim.South, acP1-1-acP2)
	east(turn, g.acEast, puQ+acP1-1)
	// M: the cable copper, east to KA and KB, which fill P1.
	l.smeltBlock(&g.copper)
	l.belt(fullBelt, g.copper.xs, y(puKM), sim.East, X0+30-g.copper.xs)
	ka := l.fullACCable(X0, q)
	east(ka, g.acEast, puQ+acP1)
	l.belt(fullBelt, g.acEast, y(puO), sim.West, g.acEast-g.xp-2) // O: west to the processing-unit row
	machineRow(g.xa, g.ac, func(x int32) { beacon(x, puQ+acAsm) }, func(_ int, x int32) {
		asm(x, puQ+acAsm, "advanced-circuit", sim.North)
		l.put(fullInInserter, x+1, yq(acAsm-1), sim.North)  // cable from P1
		l.put(fullLongInserter, x, yq(acAsm-1), sim.North)  // plastic from P2
		l.put(fullLongInserter, x, yq(acAsm+3), sim.South)  // circuits from CB, over O
		l.put(fullOutInserter, x+1, yq(acAsm+3), sim.North) // advanced circuits onto O
	})

	// The processing-unit row: circuits and advanced circuits from O (long-handed,
	// over CB), circuits from CB and from C3, acid from the row under them through
	// pipe-to-ground pairs; processing units onto PU (long-handed, over C3).
	machineRow(g.xp, g.pu, func(x int32) {
		beacon(x, puAsm)
		l.put("medium-electric-pole", x+1, y(puIn), sim.North)
		l.put("medium-electric-pole", x+1, y(puOutI), sim.North)
	}, func(_ int, x int32) {
		asm(x, puAsm, "processing-unit", sim.South)
		l.put(fullLongInserter, x, y(puIn), sim.North)   // O
		l.put(fullInInserter, x+1, y(puIn), sim.North)   // CB
		l.put(fullLongInserter, x+2, y(puIn), sim.North) // O
		l.put(fullLongInserter, x, y(puOutI), sim.North) // processing units onto PU
		l.put(fullInInserter, x+2, y(puOutI), sim.South) // C3
		under(x+1, puOutI, puAcid-1)                     // acid
	})
	// PU: west, south at the row's west edge (over the acid row's pipe-to-ground
	// pair) to row 31; out lays it on.
	l.belt(fullBelt, g.xEnd-3, y(puBelt), sim.West, g.xEnd-3-g.xp)
	south(g.xp, puBelt, puBack-1)
	out()

	// Substations: the cable assemblers', the acid's, along the advanced-circuit row,
	// and east of the processing-unit row joining it to the field.
	for _, p := range [][2]int32{{X0 - 7, -13}, {X0 + 15, -13}, {X0 + 4, -3}, {X0 + 14, -3}, {X0 + 29, 1},
		{X0 + 8, acPair}, {X0 + 33, acPair}, {X0 + 37, acCable}, {X0 + 19, acP2 + 2}} {
		l.put("substation", p[0], yq(p[1]), sim.North)
	}
	for x := g.xa; x+1 < g.acEast; x += 16 {
		l.put("substation", x, y(puSub), sim.North)
	}
	if (g.acEast-2-g.xa)%16 != 0 { // the row's last, unless the loop put it there
		l.put("substation", g.acEast-2, y(puSub), sim.North)
	}
	l.put("substation", g.acEast+3, y(puO), sim.North)
	l.put("substation", g.acEast+3, y(6), sim.North)
	l.put("substation", g.xEnd+2, y(puSub+1), sim.North) // the processing-unit row's poles
	l.put("substation", g.xEnd+2, y(8), sim.North)       // to the labs' substations
}

// fieldX is the first column east of the processing-unit line's last substations,
// where the solar field started: the frame line stands there now, the field east of
// the lines east of it (fullProcessing2Geom.east); in the second processing-unit line,
// where its next half starts.
func (g *fullProcessingGeom) fieldX() int32 { return g.acEast + 9 }
