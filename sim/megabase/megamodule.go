package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The productivity-module line of a megabase-full cell: the production row's
// productivity modules from ore, coal, crude oil and water, west of the
// advanced-circuit line (megacircuit.go), whose shape it repeats (the same oil
// block, plastic plants, pairs and cable assemblers, fullOilPlastic and
// fullCablePairs) with two more cable/circuit pairs and a row of module assemblers
// after the advanced-circuit assemblers. Sized by planPart for the row's modules at
// fullMarginPct with the beacons this layout gives (two for every assembler and
// plant, three for the furnaces). A module takes five advanced circuits and five
// circuits, so the line makes 27.7 circuits a second where the advanced-circuit line
// makes 14.7: more than an express lane carries (22.5), so they come on two belts,
// each from two pairs with plates of their own: pairs A for the advanced circuits
// (16.3 a second) on P2, pairs B for the modules (11.4) on E2. Rows, from oy, and
// columns, from X0 (the first refinery's west edge); everything flows east:
//
//	−23..8     as the advanced-circuit line: oil, crackers, coal, plastic plants,
//	           belt P2 (plastic | circuits of pairs A)
//	10..20     as the advanced-circuit line: pairs A over M, the cable assemblers for
//	           the advanced circuits filling P1 from copper block C's belt (row 36,
//	           up X0+18)
//	22..24     the machine row: advanced-circuit assemblers, then module assemblers;
//	           west of it, beacons of pairs B and two substations
//	25         belt MB: copper | iron for pairs B from blocks west of everything
//	           (copper north, iron south), under copper C's belt at X0+18
//	27..29     pairs B, their circuits (row 30, two inserters each) onto a belt along
//	           row 31 that turns north at X0+36 into belt E2
//	26, 27     under the machine row: belt O (advanced circuits), belt E2 (circuits)
//	28         substations along the machine row
//
// Each advanced-circuit assembler takes plastic and circuits from P2 (long-handed,
// over P1) and cable from P1 and puts advanced circuits on O; each module assembler
// takes advanced circuits from O and circuits from E2 (long-handed, over O) and puts
// its modules on belt MD along row 20, after P1's end. MD runs east past the line's
// end (column cm), south to row 37 (free between cells in the west), east to the
// column west of the next cell's logistic copper block, north (under O) to row 21
// and east along it (under O's northward run at x = −1) to
// the head of belt FM (fullProductionFM), in the gap west of the production row; the
// modules ride FM's north lane.
const (
	modMB    = 25 // copper | iron for pairs B
	modPairB = 27 // pairs B (3 tall)
	modEB    = 31 // pairs B's circuits, east to X0+36
	modE2    = 27 // circuits under the machine row
	modSub   = 28 // substations along the machine row
	modRoute = 37 // MD's run east to the cell
	modBand  = 21 // MD's run east under belt D
)

// fullModuleFixed are the module line's machine counts the layout is drawn for;
// sizing fails if the plan asks for others.
var fullModuleFixed = map[string]int{
	"advanced-oil-processing": 2, "heavy-oil-cracking": 1, "light-oil-cracking": 2,
	"plastic-bar": 3, "mine crude-oil": 2, "pump water": 1,
	"electronic-circuit": 4, "copper-cable": 6,
}

// fullModuleTasks are the tasks the module line lays out.
var fullModuleTasks = []string{"productivity-module", "advanced-circuit", "electronic-circuit", "copper-cable",
	"plastic-bar", "advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking", "mine crude-oil",
	"pump water", "copper-plate", "iron-plate", "mine copper-ore", "mine iron-ore", "mine coal"}

// Indexes into fullModuleSizing.copper and .iron.
const (
	modPairsA = iota // M, pairs A
	modPairsB        // MB, pairs B
	modCable         // copper C: the advanced circuits' cable
)

// planFullModules plans the productivity modules of a cell's production row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullModules(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	return planProductionInput(b, milliPacks, "productivity-module", "productivity modules")
}

// planProductionInput plans item, an ingredient of the production row's packs,
// at the rate the row takes it at fullMarginPct of milliPacks/1000 packs a second.
func planProductionInput(b *sim.Bundle, milliPacks int64, item, what string) (*Plan, error) {
	pf, err := (&planner{b: b}).prodFactor("assembling-machine-3", true)
	if err != nil {
		return nil, err
	}
	packs := recipeOut(b, "production-science-pack", "production-science-pack")
	per := recipeIn(b, "production-science-pack", item)
	if packs <= 0 || per <= 0 {
		return nil, fmt.Errorf("production-science-pack takes no %s", what)
	}
	// Items a second: packs a second / (packs a craft × productivity) × items a craft.
	rate := big.NewRat(milliPacks*fullMarginPct*per, 100*1000*packs)
	rate.Quo(rate, pf)
	p, err := planPart(b, map[string]*big.Rat{item: rate}, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the production row's %s: %w", what, err)
	}
	return p, nil
}

// fullModuleSizing is the module line's machines per task and how its copper is
// split between three blocks and its iron between two (modPairsA, modPairsB,
// modCable), each rounded up.
type fullModuleSizing struct {
	lines  fullFeedCounts
	copper [3]blockCount
	iron   [2]blockCount
}

// sizeFullModules sizes the module line.
func sizeFullModules(b *sim.Bundle, milliPacks int64) (fullModuleSizing, error) {
	ms := fullModuleSizing{lines: fullFeedCounts{}}
	p, err := planFullModules(b, milliPacks)
	if err != nil {
		return ms, err
	}
	counts, lines, err := planFixedTasks(p, "module line", fullModuleTasks, fullModuleFixed, "the production row's modules")
	if err != nil {
		return ms, err
	}
	ms.lines = counts
	// Circuits a second for the advanced circuits (pairs A) and for the modules
	// (pairs B), and cable a second for each and for the advanced circuits, so the
	// share of the copper and iron each block makes.
	mul := func(xs ...*big.Rat) *big.Rat {
		r := big.NewRat(1, 1)
		for _, x := range xs {
			r.Mul(r, x)
		}
		return r
	}
	in := func(recipe, item string) *big.Rat { return big.NewRat(recipeIn(b, recipe, item), 1) }
	forAC := mul(lines["advanced-circuit"].rate, in("advanced-circuit", "electronic-circuit"))
	forMods := mul(lines["productivity-module"].rate, in("productivity-module", "electronic-circuit"))
	if forAC.Sign() <= 0 || forMods.Sign() <= 0 {
		return ms, fmt.Errorf("the module line's modules or advanced circuits take no circuits")
	}
	all := new(big.Rat).Add(forAC, forMods)
	share := [2]*big.Rat{new(big.Rat).Quo(forAC, all), new(big.Rat).Quo(forMods, all)}
	circuitCable := mul(lines["electronic-circuit"].rate, in("electronic-circuit", "copper-cable"))
	cable := [3]*big.Rat{
		modPairsA: mul(circuitCable, share[modPairsA]),
		modPairsB: mul(circuitCable, share[modPairsB]),
		modCable:  mul(lines["advanced-circuit"].rate, in("advanced-circuit", "copper-cable")),
	}
	total := new(big.Rat).Add(cable[0], cable[1])
	total.Add(total, cable[2])
	copper := lines["copper-plate"]
	var cu [3]*big.Rat
	for k := range cu {
		cu[k] = mul(copper.rate, cable[k], new(big.Rat).Inv(total))
	}
	copy(ms.copper[:], splitBlocks(copper, lines["mine copper-ore"], cu[:]...))
	iron := lines["iron-plate"]
	copy(ms.iron[:], splitBlocks(iron, lines["mine iron-ore"], mul(iron.rate, share[modPairsA]), mul(iron.rate, share[modPairsB])))
	return ms, nil
}

// fullModuleGeom is where one cell's module line lies (x absolute, rows from oy).
type fullModuleGeom struct {
	n, m               int   // advanced-circuit and module assemblers
	x0, xa             int32 // the first refinery; the machine row's first beacon
	rowEnd, cm         int32 // the machine row's east end; MD's southward column
	coalCols, coalGaps []int32
	coal               int
	copper             [3]smeltBlock
	iron               [2]smeltBlock
	crude              [2]int32 // pumpjack x
}

// newFullModuleGeom lays the module line out west of the advanced-circuit line cg.
func newFullModuleGeom(ms *fullModuleSizing, cg *fullCircuitGeom) fullModuleGeom {
	c := ms.lines
	g := fullModuleGeom{n: c["advanced-circuit"], m: c["productivity-module"], coal: c["mine coal"]}
	west := min(cg.copper.xd, cg.iron.xd, cg.copper2.xd, cg.coalCols[0])
	g.cm = west - fullFeedMargin
	g.rowEnd = g.cm - 2
	g.xa = g.rowEnd - 2 - 6*int32(g.n+g.m)
	g.x0 = g.xa - 37
	g.coalCols, g.coalGaps, _ = columns(g.x0-37, (g.coal+1)/2)
	cu, fe := ms.copper, ms.iron
	g.copper[modPairsA] = newSmeltBlock(cu[modPairsA].drills, cu[modPairsA].furn, g.coalGaps[0]-1, 0, true)
	g.copper[modCable] = newSmeltBlock(cu[modCable].drills, cu[modCable].furn, g.x0+16, 0, true)
	g.iron[modPairsA] = newSmeltBlock(fe[modPairsA].drills, fe[modPairsA].furn, g.x0-4, 0, false)
	// Pairs B's blocks west of everything: copper north of MB, iron south of it.
	xB := min(g.copper[modPairsA].xd, g.copper[modCable].xd, g.iron[modPairsA].xd) - fullFeedMargin
	g.copper[modPairsB] = newSmeltBlock(cu[modPairsB].drills, cu[modPairsB].furn, xB, 0, true)
	g.iron[modPairsB] = newSmeltBlock(fe[modPairsB].drills, fe[modPairsB].furn, xB, 0, false)
	g.crude = [2]int32{g.x0 + 1, g.x0 + 9}
	return g
}

// mdStart is the column where belt MD starts (row 20), after the output inserter of
// the first module assembler; the furnace line's belt MF feeds it from behind.
func (g *fullModuleGeom) mdStart() int32 { return g.xa + 6*int32(g.n) + 4 }

// west is the line's west edge: its westmost block's first drill gap.
func (g *fullModuleGeom) west() int32 {
	x := g.coalCols[0]
	for i := range g.copper {
		x = min(x, g.copper[i].xd)
	}
	for i := range g.iron {
		x = min(x, g.iron[i].xd)
	}
	return x
}

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullModuleGeom) at(oy int32) fullModuleGeom {
	g.copper[modPairsA].pb = oy + acM
	g.iron[modPairsA].pb = oy + acM
	g.copper[modCable].pb = oy + acCu2
	g.copper[modPairsB].pb = oy + modMB
	g.iron[modPairsB].pb = oy + modMB
	return g
}

func (g *fullModuleGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, coal, _, crude := oreIDs(b)
	h := g.at(oy)
	var ps []sim.Patch
	for i := range h.copper {
		ps = append(ps, h.copper[i].patch(copper, megaOre))
	}
	for i := range h.iron {
		ps = append(ps, h.iron[i].patch(iron, megaOre))
	}
	return append(ps, coalAndCrude(coal, crude, g.coalCols, g.crude[:], oy)...)
}

// fullModules builds the module line of a cell at oy and belt MD from it to the head
// of belt FM in column xf (fullProductionFM); MD turns north at xc and passes under
// belt O's northward run at oz.
func (l *layout) fullModules(g0 *fullModuleGeom, oy, xc, oz, xf int32) {
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
	under := func(xIn, rIn, xOut, rOut int32, d sim.Dir) {
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xIn, Y: y(rIn), Dir: d, Underground: "input"})
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xOut, Y: y(rOut), Dir: d, Underground: "output"})
	}

	l.fullOilPlastic(X0, oy, g.crude)
	l.drillsBeside(g.coalCols, g.coal, y(acCoal))
	for _, x := range g.coalGaps {
		l.put("substation", x, y(acCoal-3), sim.North)
	}
	l.belt(fullBelt, g.coalCols[0], y(acCoal), sim.East, X0+15-g.coalCols[0])
	ka := l.fullCablePairs(X0, oy, &g.copper[modPairsA], &g.iron[modPairsA], &g.copper[modCable])

	// Pairs B: copper and iron on MB from the blocks west of everything, under copper
	// C's belt at X0+18; circuits along row 31 and up X0+36 into E2.
	l.smeltBlock(&g.copper[modPairsB])
	l.smeltBlock(&g.iron[modPairsB])
	east(min(g.copper[modPairsB].xs, g.iron[modPairsB].xs), X0+16, modMB)
	under(X0+17, modMB, X0+19, modMB, sim.East)
	east(X0+20, X0+35, modMB)
	for k := int32(0); k < 2; k++ {
		kx := X0 + 20 + 9*k
		ex := kx + 4
		asm(kx, modPairB, "copper-cable")
		asm(ex, modPairB, "electronic-circuit")
		l.put(fullInInserter, kx+3, y(modPairB+1), sim.West)  // cable into the circuit assembler
		l.put(fullInInserter, kx+1, y(modMB+1), sim.North)    // copper from MB
		l.put(fullInInserter, ex+1, y(modMB+1), sim.North)    // iron from MB
		l.put(fullInInserter, ex, y(modPairB+3), sim.North)   // circuits onto row 31
		l.put(fullInInserter, ex+2, y(modPairB+3), sim.North) // (two keep up)
		beacon(kx-1, acAsm)
		beacon(kx+5, acAsm)
	}
	east(X0+24, X0+35, modEB)
	l.belt(fullBelt, X0+36, y(modEB), sim.North, modEB-modE2)
	east(X0+36, g.rowEnd, modE2)

	// P2 east, then south to its row beside P1; P1 and P2 to the last
	// advanced-circuit assembler; the machine row; O; MD from the module assemblers.
	// An advanced-circuit assembler takes its circuits from P2 only: with a second
	// inserter bringing circuits from E2, the one over P2 held circuits the machine
	// had no room for while it waited for plastic, and the row stopped.
	turn := g.xa - 1
	p1End := g.xa + 6*int32(g.n) // under the beacon after the last advanced-circuit assembler
	l.belt(fullBelt, X0, y(acP2), sim.East, turn-X0)
	l.belt(fullBelt, turn, y(acP2), sim.South, acP1-1-acP2)
	east(turn, p1End, acP1-1)
	east(ka, p1End, acP1)
	mx := g.mdStart() // the first module assembler's output inserter
	machineRow(g.xa, g.n+g.m, func(x int32) { beacon(x, acAsm) }, func(j int, x int32) {
		if j < g.n {
			asm(x, acAsm, "advanced-circuit")
			l.put(fullInInserter, x+1, y(acAsm-1), sim.North)  // cable from P1
			l.put(fullLongInserter, x, y(acAsm-1), sim.North)  // plastic and circuits from P2
			l.put(fullOutInserter, x+1, y(acAsm+3), sim.North) // advanced circuits onto O
			return
		}
		asm(x, acAsm, "productivity-module")
		l.put(fullOutInserter, x+1, y(acAsm-1), sim.South)  // modules onto MD
		l.put(fullInInserter, x, y(acAsm+3), sim.South)     // advanced circuits from O
		l.put(fullLongInserter, x+2, y(acAsm+3), sim.South) // circuits from E2
	})
	east(g.xa+3, g.rowEnd, acOut)

	// MD: east along row 20 to cm, south to row 37, east to xc, north under O to
	// row 21, east under O's northward run, and through
	// row 22 into FM's head from the west.
	east(mx, g.cm-1, acP1)
	l.belt(fullBelt, g.cm, y(acP1), sim.South, modRoute-acP1)
	east(g.cm, xc-1, modRoute)
	l.belt(fullBelt, xc, y(modRoute), sim.North, modRoute-acOut-1)
	under(xc, acOut+1, xc, acOut-1, sim.North)
	l.belt(fullBelt, xc, y(acOut-2), sim.North, acOut-2-modBand)
	east(xc, oz-2, modBand)
	under(oz-1, modBand, oz+1, modBand, sim.East)
	east(oz+2, xf-2, modBand)
	l.put(fullBelt, xf-1, y(modBand), sim.South)
	l.put(fullBelt, xf-1, y(prodFMHead), sim.East)

	// Substations: the oil, pairs and cable as in the advanced-circuit line, pairs B,
	// the machine row, and one linking it to the advanced-circuit line's blocks.
	for _, p := range [][2]int32{{X0 - 7, -13}, {X0 + 15, -13}, {X0 + 4, -3}, {X0 + 14, -3}, {X0 + 29, 1},
		{X0 + 8, acPair}, {X0 + 17, acPair}, {X0 + 33, acPair}, {X0 + 37, acCable},
		{X0 + 22, acAsm}, {X0 + 31, acAsm}} {
		l.put("substation", p[0], y(p[1]), sim.North)
	}
	for x := g.xa; x < g.rowEnd; x += 18 {
		l.put("substation", x, y(modSub), sim.North)
	}
	l.put("substation", g.rowEnd-2, y(modSub), sim.North)
	l.put("substation", g.cm+1, y(acCable), sim.North)
}
