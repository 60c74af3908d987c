package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The electric-furnace line of a megabase-full cell: the production row's electric
// furnaces from ore, coal, stone, crude oil and water. An electric furnace takes
// steel, stone bricks and advanced circuits (five a craft, as a productivity
// module), so the line's advanced circuits are the module line's (megamodule.go)
// without its second group of circuits: the advanced-circuit line's shape again
// (fullOilPlastic, fullCablePairs). Sized by planPart for the row's electric furnaces
// at fullMarginPct with the beacons this layout gives (two for every assembler,
// plant and steel furnace, three for the iron and brick furnaces).
//
// It stands west of the module line: its furnaces travel some 1,760 tiles to the row
// and reach it 2.5 game minutes after the modules, so the labs reach their rate that
// much later, from game minute 14 (sim/megabase/DESIGN.md).

// fullFurnaceFixed are the furnace line's machine counts the layout is drawn for;
// sizing fails if the plan asks for others.
var fullFurnaceFixed = map[string]int{
	"advanced-oil-processing": 2, "heavy-oil-cracking": 1, "light-oil-cracking": 2,
	"plastic-bar": 3, "mine crude-oil": 2, "pump water": 1,
	"electronic-circuit": 2, "copper-cable": 4,
}

// fullFurnaceTasks are the tasks the furnace line lays out.
var fullFurnaceTasks = []string{"electric-furnace", "advanced-circuit", "electronic-circuit", "copper-cable",
	"plastic-bar", "advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking", "mine crude-oil",
	"pump water", "steel-plate", "stone-brick", "copper-plate", "iron-plate", "mine copper-ore",
	"mine iron-ore", "mine stone", "mine coal"}

// planFullFurnaces plans the electric furnaces of a cell's production row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullFurnaces(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	return planProductionInput(b, milliPacks, "electric-furnace", "electric furnaces")
}

// The furnace line's rows, from oy, and columns, from X0 (the first refinery's west
// edge), everything flowing east unless said otherwise:
//
//	−23..20    as the advanced-circuit line: oil, crackers, coal, plastic plants, P2,
//	           the cable/circuit pairs over M, the cable assemblers filling P1
//	22..24     the machine row: advanced-circuit assemblers, then two electric-furnace
//	           assemblers A and B, a beacon between neighbours; O (26) under it
//	−33..−18   steel line A, east of the machine row's end: units of an iron block
//	           north of its iron belt LA (−24) and a row of steel furnaces south of it
//	           (−22..−20, a beacon between neighbours, medium poles at −19) taking iron
//	           from LA and putting steel on belt FA (−18), which runs west
//	−17..−9    stone block A south of FA, west of the units: bricks on FA's north lane
//	−16..−1    steel line B (LB at −7, its steel furnaces −5..−3, belt FB at −1)
//	0..8       stone block B south of FB
//
// FA and FB carry steel (south lane) and bricks (north lane) west and turn south in
// columns xA−1 and xA+4 (A's west edge is xA) to row 20, where each runs east under
// its assembler's three bulk inserters (row 21): a furnace assembler takes 11.4 steel
// and 11.4 bricks a second, more than one lane of a shared belt would bring. Each
// takes advanced circuits from O (a bulk inserter, row 25) and puts its electric
// furnaces on belt MF (row 27) with a long-handed inserter over O. MF runs east past
// the steel lines, south to row 38, east under the module line to the column west of
// its first module assembler's output inserter, north (under the machine row, an
// underground pair from row 30 to 21) and into the start of belt MD (row 20) from
// behind, so the furnaces ride MD's south lane and the modules its north lane to belt
// FM (fullModules, fullProductionFM).
const (
	furnLA    = -24 // steel line A's iron belt
	furnLB    = -7  // steel line B's
	furnMF    = 27  // MF along the machine row
	furnSub   = 28  // substations along the machine row and MF
	furnRoute = 38  // MF's run east to the module line
	furnUnder = 30  // MF's underground entrance under the module line's machine row
	furnUnits = 3   // iron blocks (and rows of steel furnaces) per steel line
)

// fullFurnaceSizing is the furnace line's machines per task and how they are split:
// the copper between the pairs' block and the cable's, the iron between the
// circuits' block and each steel line's units, the steel furnaces between the units
// and the stone between two blocks, each rounded up.
type fullFurnaceSizing struct {
	lines  fullFeedCounts
	copper [2]blockCount
	iron   [1 + 2*furnUnits]blockCount // the circuits', then line A's units, line B's
	steel  [2][furnUnits]int
	stone  [2]blockCount
}

// sizeFullFurnaces sizes the furnace line.
func sizeFullFurnaces(b *sim.Bundle, milliPacks int64) (fullFurnaceSizing, error) {
	fs := fullFurnaceSizing{lines: fullFeedCounts{}}
	p, err := planFullFurnaces(b, milliPacks)
	if err != nil {
		return fs, err
	}
	counts, lines, err := planFixedTasks(p, "furnace line", fullFurnaceTasks, fullFurnaceFixed, "the production row's electric furnaces")
	if err != nil {
		return fs, err
	}
	fs.lines = counts
	if counts["electric-furnace"] > 2 {
		return fs, fmt.Errorf("the production row's electric furnaces need %d assemblers; the line is laid out for 2", counts["electric-furnace"])
	}
	in := func(recipe, item string) *big.Rat { return big.NewRat(recipeIn(b, recipe, item), 1) }
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return fs, err
	}
	if fs.copper, err = copperForPairs(b, lines, "furnace line"); err != nil {
		return fs, err
	}
	// Iron plate crafts for the circuits; the rest for the steel, a sixth a unit.
	iron := lines["iron-plate"]
	circuits := new(big.Rat).Quo(new(big.Rat).Mul(lines["electronic-circuit"].rate, in("electronic-circuit", "iron-plate")), pf)
	steel := new(big.Rat).Sub(iron.rate, circuits)
	parts := []*big.Rat{circuits}
	for range 2 * furnUnits {
		parts = append(parts, new(big.Rat).Quo(steel, big.NewRat(2*furnUnits, 1)))
	}
	copy(fs.iron[:], splitBlocks(iron, lines["mine iron-ore"], parts...))
	// Steel furnaces: the plan's, half a line and a third of that a unit (the first
	// one more when they do not divide).
	n := counts["steel-plate"]
	for k := range fs.steel {
		nk := n / 2
		if k < n%2 {
			nk++
		}
		for u := range fs.steel[k] {
			fs.steel[k][u] = nk / furnUnits
			if u < nk%furnUnits {
				fs.steel[k][u]++
			}
		}
	}
	brick := lines["stone-brick"]
	half := new(big.Rat).Quo(brick.rate, big.NewRat(2, 1))
	copy(fs.stone[:], splitBlocks(brick, lines["mine stone"], half, half))
	return fs, nil
}

// fullFurnaceGeom is where one cell's furnace line lies (x absolute, rows from oy).
type fullFurnaceGeom struct {
	n                  int   // advanced-circuit assemblers
	x0, xa, xA         int32 // the first refinery; the machine row's first beacon; assembler A
	rowEnd             int32 // the machine row's east end
	xm                 int32 // MF's southward column, east of everything
	coalCols, coalGaps []int32
	coal               int
	copper, iron       smeltBlock // the pairs' copper and iron (on M)
	cable              smeltBlock // the advanced circuits' cable copper
	units              [2 * furnUnits]smeltBlock
	steel              [2][furnUnits]int
	stone              [2]smeltBlock
	crude              [2]int32
}

// newFullFurnaceGeom lays the furnace line out with its east end (MF's southward
// column and the substations beside it) west of east.
func newFullFurnaceGeom(fs *fullFurnaceSizing, east int32) fullFurnaceGeom {
	g := fullFurnaceGeom{n: fs.lines["advanced-circuit"], coal: fs.lines["mine coal"], steel: fs.steel}
	const m = fullFeedMargin
	place := func(x0 int32) {
		g.x0 = x0
		g.xa = x0 + 37
		g.rowEnd = rowEnd(g.xa, g.n+2)
		g.xA = g.xa + 6*int32(g.n) + 3
		g.coalCols, g.coalGaps, _ = columns(x0-37, (g.coal+1)/2)
		g.copper = newSmeltBlock(fs.copper[0].drills, fs.copper[0].furn, g.coalGaps[0]-1, 0, true)
		g.cable = newSmeltBlock(fs.copper[1].drills, fs.copper[1].furn, x0+16, 0, true)
		g.iron = newSmeltBlock(fs.iron[0].drills, fs.iron[0].furn, x0-4, 0, false)
		g.crude = [2]int32{x0 + 1, x0 + 9}
		// Stone blocks east of FB's column; the steel units east of them, line A's
		// and line B's side by side in their own rows.
		xs := g.xA + 4 + m
		g.stone[0] = smeltBlockAt(fs.stone[0].drills, fs.stone[0].furn, xs, furnLA+6, false)
		g.stone[1] = smeltBlockAt(fs.stone[1].drills, fs.stone[1].furn, xs, furnLB+6, false)
		g.xm = g.rowEnd + 2
		for k := range 2 {
			x := max(g.stone[0].xE, g.stone[1].xE) + m
			for u := range furnUnits {
				a := fs.iron[1+k*furnUnits+u]
				bl := smeltBlockAt(a.drills, a.furn, x, []int32{furnLA, furnLB}[k], true)
				g.units[k*furnUnits+u] = bl
				x = bl.xE + m
				g.xm = max(g.xm, bl.xE+2)
			}
		}
	}
	place(0)
	place(east - 3 - g.xm)
	return g
}

// west is the line's west edge.
func (g *fullFurnaceGeom) west() int32 {
	return min(g.coalCols[0], g.copper.xd, g.iron.xd, g.cable.xd)
}

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullFurnaceGeom) at(oy int32) fullFurnaceGeom {
	g.copper.pb = oy + acM
	g.iron.pb = oy + acM
	g.cable.pb = oy + acCu2
	for i := range g.units {
		g.units[i].pb = oy + []int32{furnLA, furnLB}[i/furnUnits]
	}
	g.stone[0].pb = oy + furnLA + 6
	g.stone[1].pb = oy + furnLB + 6
	return g
}

func (g *fullFurnaceGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, coal, stone, crude := oreIDs(b)
	h := g.at(oy)
	ps := []sim.Patch{h.copper.patch(copper, megaOre), h.cable.patch(copper, megaOre), h.iron.patch(iron, megaOre)}
	for i := range h.units {
		ps = append(ps, h.units[i].patch(iron, megaOre))
	}
	for i := range h.stone {
		ps = append(ps, h.stone[i].patch(stone, megaOre))
	}
	return append(ps, coalAndCrude(coal, crude, g.coalCols, g.crude[:], oy)...)
}

// fullFurnaces builds the furnace line of a cell at oy and belt MF from it into the
// start of belt MD at (mdX, row 20) (fullModules), joining the line's power to the
// module line's substation at (subX, row 28).
func (l *layout) fullFurnaces(g0 *fullFurnaceGeom, oy, mdX, subX int32) {
	g := g0.at(oy)
	X0 := g.x0
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	asm := func(x, r int32, recipe string) {
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
	}
	east := func(x0, x1, r int32) { l.belt(fullBelt, x0, y(r), sim.East, x1-x0+1) }
	west := func(x1, x0, r int32) { l.belt(fullBelt, x1, y(r), sim.West, x1-x0+1) }

	// The advanced circuits, as in the advanced-circuit line.
	l.fullOilPlastic(X0, oy, g.crude)
	l.drillsBeside(g.coalCols, g.coal, y(acCoal))
	for _, x := range g.coalGaps {
		l.put("substation", x, y(acCoal-3), sim.North)
	}
	l.belt(fullBelt, g.coalCols[0], y(acCoal), sim.East, X0+15-g.coalCols[0])
	ka := l.fullCablePairs(X0, oy, &g.copper, &g.iron, &g.cable)
	turn := g.xa - 1
	p1End := g.xa + 6*int32(g.n)
	l.belt(fullBelt, X0, y(acP2), sim.East, turn-X0)
	l.belt(fullBelt, turn, y(acP2), sim.South, acP1-1-acP2)
	east(turn, p1End, acP1-1)
	east(ka, p1End, acP1)
	machineRow(g.xa, g.n+2, func(x int32) { beacon(x, acAsm) }, func(j int, x int32) {
		if j < g.n {
			asm(x, acAsm, "advanced-circuit")
			l.put(fullInInserter, x+1, y(acAsm-1), sim.North)  // cable from P1
			l.put(fullLongInserter, x, y(acAsm-1), sim.North)  // plastic and circuits from P2
			l.put(fullOutInserter, x+1, y(acAsm+3), sim.North) // advanced circuits onto O
			return
		}
		asm(x, acAsm, "electric-furnace")
		for dx := int32(0); dx < 3; dx++ {
			l.put(fullInInserter, x+dx, y(acAsm-1), sim.North) // steel and bricks from FA or FB
		}
		l.put(fullInInserter, x, y(acAsm+3), sim.South)     // advanced circuits from O
		l.put(fullLongInserter, x+2, y(acAsm+3), sim.North) // furnaces onto MF, over O
	})
	xB := g.xA + 6
	east(g.xa+3, xB, acOut)

	// Steel and stone: units of an iron block over its belt L and a row of steel
	// furnaces under it putting steel on F; the stone blocks' bricks on F's other lane.
	for i := range g.units {
		l.steelUnit(&g.units[i], g.steel[i/furnUnits][i%furnUnits], y([]int32{furnLA, furnLB}[i/furnUnits]))
	}
	for k, c := range []int32{g.xA - 1, g.xA + 4} {
		st := &g.stone[k]
		l.smeltBlock(st)
		F := []int32{furnLA, furnLB}[k] + 6
		last := &g.units[k*furnUnits+furnUnits-1]
		west(rowEnd(last.xd, g.steel[k][furnUnits-1]), c+1, F)
		l.belt(fullBelt, c, y(F), sim.South, acP1-F)
		east(c, []int32{g.xA, xB}[k]+2, acP1) // under the assembler's three inserters
	}
	l.put("substation", g.xA+10, y(acCable+2), sim.North) // joins the stone blocks to the machine row

	// MF: east along row 27, south at xm to row 38, east to mdX−1, north, under the
	// module line's machine row, into MD's start.
	east(g.xA+2, g.xm-1, furnMF)
	l.belt(fullBelt, g.xm, y(furnMF), sim.South, furnRoute-furnMF)
	east(g.xm, mdX-2, furnRoute)
	c := mdX - 1
	l.belt(fullBelt, c, y(furnRoute), sim.North, furnRoute-furnUnder)
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: c, Y: y(furnUnder), Dir: sim.North, Underground: "input"})
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: c, Y: y(acP1 + 1), Dir: sim.North, Underground: "output"})
	l.put(fullBelt, c, y(acP1), sim.East)

	// Substations: the oil, pairs and cable as in the advanced-circuit line, the
	// machine row and on along row 28 to xm, down beside MF and along row 39 to the
	// module line's machine row.
	for _, p := range [][2]int32{{X0 - 7, -13}, {X0 + 15, -13}, {X0 + 4, -3}, {X0 + 14, -3}, {X0 + 29, 1},
		{X0 + 8, acPair}, {X0 + 17, acPair}, {X0 + 33, acPair}, {X0 + 37, acCable}} {
		l.put("substation", p[0], y(p[1]), sim.North)
	}
	x := g.xa
	for ; x+1 < g.xm; x += 16 {
		l.put("substation", x, y(furnSub), sim.North)
	}
	x = g.xm + 1
	l.put("substation", x, y(furnSub), sim.North)
	l.put("substation", x, y(furnRoute+1-16), sim.North)
	for ; x < subX-16; x += 16 {
		l.put("substation", x, y(furnRoute+1), sim.North)
	}
	l.put("substation", subX-8, y(furnRoute+1), sim.North)
}

// steelUnit builds a unit of a steel line: the iron block bl north of its iron belt at
// row L (absolute), the block's plates flowing west along L to a row of n steel
// furnaces under its drills (a beacon between neighbours, medium poles between them on
// the output row) that take iron from L and put steel on the far (south) lane of the
// belt at L+6, which the caller lays.
func (l *layout) steelUnit(bl *smeltBlock, n int, L int32) {
	l.smeltBlock(bl)
	l.put("substation", bl.xd-2, L+2, sim.North)
	machineRow(bl.xd, n, func(x int32) {
		l.beacon(x, L+2)
		l.put("medium-electric-pole", x+1, L+5, sim.North)
	}, func(_ int, x int32) {
		l.spec(sim.BuildSpec{Name: "electric-furnace", X: x, Y: L + 2, Modules: l.modules("electric-furnace", true)})
		l.put(fullInInserter, x+1, L+1, sim.North)  // iron from L
		l.put(fullOutInserter, x+1, L+5, sim.North) // steel onto F
	})
	x1 := bl.furnCols[len(bl.furnCols)-1] + 2 // the block's iron flows west to its steel furnaces
	l.belt(fullBelt, x1, L, sim.West, x1-bl.xd+1)
}
