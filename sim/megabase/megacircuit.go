package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The advanced-circuit line of a megabase-full cell: the chemical row's advanced
// circuits from ore, coal, crude oil and water, west of everything else (x < −402,
// free in every cell's rows). Sized by planPart for the row's advanced circuits at
// fullMarginPct with the beacons this layout gives (two for every assembler and
// plant, three for the furnaces). Rows, from oy, and columns, from X0 (the first
// refinery's west edge); everything flows east:
//
//	−23        water from an offshore pump, down to both refineries and along x = X0−4
//	           to the crackers' water pipe (−5)
//	−22..−20   two pumpjacks (no beacons: more than three tiles from every beacon)
//	−18..−14   two refineries facing south on advanced oil processing, beacons beside them
//	−11 −9 −7  petroleum gas, light oil, heavy oil; the refineries' light and heavy oil
//	           reach their rows under pipe-to-ground pairs
//	−5         water for the crackers
//	−3..−1     light cracker, light cracker, heavy cracker facing north; light oil and
//	           heavy oil come up under the water row; the heavy cracker's light oil goes
//	           round the east end back to the light-oil row
//	0          petroleum gas: the refineries' (down x = X0−2) and the light crackers'
//	2          coal belt from the coal drills (west); plastic plants' gas under it
//	4..6       three plastic plants facing north, a beacon between neighbours
//	8          belt P2: plastic (south lane) | electronic circuits (north lane)
//	10..12     two pairs: a cable assembler handing cable straight to a circuit assembler
//	14         belt M: copper plates (copper block, north-west) | iron plates (iron block,
//	           south-west) for the pairs; beacons for the pairs under it. East of the pairs
//	           the same row carries the copper of a block of its own (27..35, south-west),
//	           whose belt (36) comes up x = X0+18
//	16..18     two cable assemblers for the advanced circuits, taking that copper: one puts
//	           cable on the south lane of P1, the other on a short belt that side-loads
//	           P1's north lane
//	19, 20     P2 (turned south at X0+36) and P1 (cable | cable) along the advanced-circuit row
//	22..24     advanced-circuit assemblers: cable from P1, plastic and circuits from P2
//	           (long-handed)
//	26         belt O: the advanced circuits, east to x = −1, north and side-loaded onto
//	           the south lane of the engine belt Z at (−1, oy+11)
const (
	acWater  = -23
	acJack   = -22
	acRef    = -18
	acGas    = -11
	acLight  = -9
	acHeavy  = -7
	acWater2 = -5
	acCrack  = -3
	acGasRow = 0
	acCoal   = 2
	acPlant  = 4
	acP2     = 8
	acPair   = 10
	acM      = 14
	acCable  = 16
	acP1     = 20
	acAsm    = 22
	acOut    = 26
	acCu2    = 36   // plate belt of the advanced circuits' cable copper (block north of it)
	acEnd    = -420 // east end of the advanced-circuit row, from ox (x = −404)

	fullOColumn = -17 // belt O's northward run to Z, from ox (x = −1)
)

// fullCircuitFixed are the line's machine counts the layout is drawn for; sizing
// fails if the plan asks for others.
var fullCircuitFixed = map[string]int{
	"advanced-oil-processing": 2, "heavy-oil-cracking": 1, "light-oil-cracking": 2,
	"plastic-bar": 3, "mine crude-oil": 2, "pump water": 1,
	"electronic-circuit": 2, "copper-cable": 4,
}

// planFullCircuits plans the advanced-circuit line for one cell's chemical row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullCircuits(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullRowRate(b, milliPacks, "chemical-science-pack", "advanced-circuit")
	if err != nil {
		return nil, err
	}
	p, err := planPart(b, map[string]*big.Rat{"advanced-circuit": rate}, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the chemical row's advanced circuits: %w", err)
	}
	return p, nil
}

// fullCircuitSizing is the advanced-circuit line's machines per task and how its
// copper is split between the block feeding the cable/circuit pairs (0) and the one
// feeding the advanced circuits' cable assemblers (1), each rounded up.
type fullCircuitSizing struct {
	lines  fullFeedCounts
	copper [2]blockCount
}

// sizeFullCircuits sizes the advanced-circuit line.
func sizeFullCircuits(b *sim.Bundle, milliPacks int64) (fullCircuitSizing, error) {
	cs := fullCircuitSizing{lines: fullFeedCounts{}}
	p, err := planFullCircuits(b, milliPacks)
	if err != nil {
		return cs, err
	}
	c, lines, err := planTasks(p, "advanced-circuit line", nil, false)
	if err != nil {
		return cs, err
	}
	cs.lines = c
	if err := checkFixed(c, fullCircuitFixed, "the chemical row's advanced circuits"); err != nil {
		return cs, err
	}
	for _, task := range []string{"advanced-circuit", "copper-plate", "iron-plate", "mine copper-ore", "mine iron-ore", "mine coal"} {
		if c[task] <= 0 {
			return cs, fmt.Errorf("the advanced-circuit line's plan lacks %s", task)
		}
	}
	if len(c) != len(fullCircuitFixed)+6 {
		return cs, fmt.Errorf("the advanced-circuit line's plan has tasks the layout does not place: %v", c)
	}
	cs.copper, err = copperForPairs(b, lines, "advanced-circuit line")
	return cs, err
}

// copperForPairs splits a line's copper plate between the block feeding its
// cable/circuit pairs (0) and the one feeding its advanced circuits' cable (1), by
// the cable each consumer takes, each rounded up.
func copperForPairs(b *sim.Bundle, lines map[string]*PlanLine, what string) ([2]blockCount, error) {
	var out [2]blockCount
	cable := func(recipe string) *big.Rat {
		return new(big.Rat).Mul(lines[recipe].rate, big.NewRat(recipeIn(b, recipe, "copper-cable"), 1))
	}
	ec, ac := cable("electronic-circuit"), cable("advanced-circuit")
	if ec.Sign() <= 0 || ac.Sign() <= 0 {
		return out, fmt.Errorf("the %s's circuits take no cable", what)
	}
	copper := lines["copper-plate"]
	forPairs := new(big.Rat).Mul(copper.rate, new(big.Rat).Quo(ec, new(big.Rat).Add(ec, ac)))
	copy(out[:], splitBlocks(copper, lines["mine copper-ore"], forPairs, new(big.Rat).Sub(copper.rate, forPairs)))
	return out, nil
}

// fullCircuitGeom is where one cell's advanced-circuit line lies.
type fullCircuitGeom struct {
	n            int   // advanced-circuit assemblers
	xa, x0       int32 // the advanced-circuit row's first beacon; the first refinery
	coalCols     []int32
	coalGaps     []int32
	coal         int // coal drills
	copper, iron smeltBlock
	copper2      smeltBlock // the advanced circuits' cable copper
	crude        [2]int32   // pumpjack x
	acEast       int32      // the advanced-circuit row's east end
}

func newFullCircuitGeom(cs *fullCircuitSizing, ox int32) fullCircuitGeom {
	c := cs.lines
	g := fullCircuitGeom{n: c["advanced-circuit"], coal: c["mine coal"]}
	g.acEast = ox + acEnd
	g.xa = g.acEast - 6*int32(g.n) - 2
	g.x0 = g.xa - 37
	g.coalCols, g.coalGaps, _ = columns(g.x0-34, (g.coal+1)/2)
	// Copper north-west of M, its beacons out of reach of the coal drills; iron
	// south-west of it; the cable copper south of the line, its beacons out of reach
	// of the iron drills.
	g.copper = newSmeltBlock(cs.copper[0].drills, cs.copper[0].furn, g.coalGaps[0]-1, 0, true)
	g.copper2 = newSmeltBlock(cs.copper[1].drills, cs.copper[1].furn, g.x0+16, 0, true)
	g.iron = newSmeltBlock(c["mine iron-ore"], c["iron-plate"], g.x0-4, 0, false)
	g.crude = [2]int32{g.x0 + 1, g.x0 + 9}
	return g
}

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullCircuitGeom) at(oy int32) fullCircuitGeom {
	g.copper.pb = oy + acM
	g.iron.pb = oy + acM
	g.copper2.pb = oy + acCu2
	return g
}

func (g *fullCircuitGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, coal, _, crude := oreIDs(b)
	h := g.at(oy)
	ps := []sim.Patch{h.copper.patch(copper, megaOre), h.iron.patch(iron, megaOre), h.copper2.patch(copper, megaOre)}
	return append(ps, coalAndCrude(coal, crude, g.coalCols, g.crude[:], oy)...)
}

// fullCircuits builds the advanced-circuit line of a cell at (ox, oy).
func (l *layout) fullCircuits(g0 *fullCircuitGeom, ox, oy int32) {
	g := g0.at(oy)
	X0 := g.x0
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	asm := func(x, r int32, recipe string) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", true)})
	}

	l.fullOilPlastic(X0, oy, g.crude)

	// Coal drills on both sides of the coal belt.
	l.drillsBeside(g.coalCols, g.coal, y(acCoal))
	for _, x := range g.coalGaps {
		l.put("substation", x, y(acCoal-3), sim.North)
	}
	l.belt(fullBelt, g.coalCols[0], y(acCoal), sim.East, X0+15-g.coalCols[0])

	ka := l.fullCablePairs(X0, oy, &g.copper, &g.iron, &g.copper2)

	// P2 east, then south to its row beside P1; P1; the advanced-circuit row.
	turn := g.xa - 1
	l.belt(fullBelt, X0, y(acP2), sim.East, turn-X0)
	l.belt(fullBelt, turn, y(acP2), sim.South, acP1-1-acP2)
	l.belt(fullBelt, turn, y(acP1-1), sim.East, g.acEast+1-turn)
	l.belt(fullBelt, ka, y(acP1), sim.East, g.acEast+1-ka)
	machineRow(g.xa, g.n, func(x int32) { beacon(x, acAsm) }, func(_ int, x int32) {
		asm(x, acAsm, "advanced-circuit")
		l.put(fullInInserter, x+1, y(acAsm-1), sim.North)  // cable from P1
		l.put(fullLongInserter, x, y(acAsm-1), sim.North)  // plastic and circuits from P2
		l.put(fullOutInserter, x+1, y(acAsm+3), sim.North) // advanced circuits onto O
	})
	// O: east to x = −1, north, side-loaded onto Z's south lane.
	zx := ox + fullOColumn
	l.belt(fullBelt, g.xa+3, y(acOut), sim.East, zx-(g.xa+3))
	l.belt(fullBelt, zx, y(acOut), sim.North, acOut-engIS)

	// Substations.
	for _, p := range [][2]int32{{X0 - 7, -13}, {X0 + 15, -13}, {X0 + 4, -3}, {X0 + 14, -3}, {X0 + 29, 1},
		{X0 + 8, acPair}, {X0 + 17, acPair}, {X0 + 33, acPair}, {X0 + 37, acCable}} {
		l.put("substation", p[0], y(p[1]), sim.North)
	}
	for x := g.xa; x < g.acEast; x += 18 {
		l.put("substation", x, y(acOut+1), sim.North)
	}
	l.put("substation", g.acEast-2, y(acOut+1), sim.North)
}

// coalAndCrude are the patches under an oil and plastic block drawn at row origin oy
// (fullOilPlants): the coal field under the drills in coalCols, and one crude-oil tile
// under each pumpjack's centre.
func coalAndCrude(coal, crude sim.ItemID, coalCols []int32, jacks []int32, oy int32) []sim.Patch {
	x1 := coalCols[len(coalCols)-1] + 3
	ps := []sim.Patch{{Resource: coal, X: coalCols[0], Y: oy + acCoal - 3, W: x1 - coalCols[0], H: 7, Amount: megaOre}}
	for _, x := range jacks {
		ps = append(ps, sim.Patch{Resource: crude, X: x + 1, Y: oy + acJack + 1, W: 1, H: 1, Amount: fullOilAmount})
	}
	return ps
}

// fullOilPlastic builds the oil block and the plastic plants of an advanced-circuit
// line whose first refinery's west edge is at X0 (rows acWater to acPlant+3 from oy,
// see fullCircuits), its pumpjacks at crude: the plants take coal from the coal belt
// at row acCoal and put plastic on row acP2's south lane.
func (l *layout) fullOilPlastic(X0, oy int32, crude [2]int32) {
	l.fullOilPlants(X0, oy, crude, 3)
}

// fullOilPlants is fullOilPlastic with plastics plastic plants (the first of the
// three slots), a beacon between neighbours.
func (l *layout) fullOilPlants(X0, oy int32, crude [2]int32, plastics int32) {
	l.fullOilBlock(X0, oy, crude[:], 2, plastics)
}

// fullOilBlock is fullOilPlants with a refinery under each pumpjack at crude (the
// k-th at X0+8k, eight columns apart) and light light-oil crackers before the heavy
// one; the rows of gas, light oil, heavy oil and water grow east with them.
func (l *layout) fullOilBlock(X0, oy int32, crude []int32, light, plastics int32) {
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	pipes := func(x0, r0, x1, r1 int32) { l.pipes(x0, y(r0), x1, y(r1)) }
	under := func(x, rTop, rBottom int32) { l.pipeUnder(x, y(rTop), y(rBottom)) }
	chem := l.modules("chemical-plant", true)
	plant := func(x, r int32, recipe string) {
		l.spec(sim.BuildSpec{Name: "chemical-plant", X: x, Y: y(r), Recipe: recipe, Modules: chem})
	}
	// Crude oil and water into the refineries.
	for k, jx := range crude {
		rx := X0 + 8*int32(k)
		l.spec(sim.BuildSpec{Name: "pumpjack", X: jx, Y: y(acJack), Dir: sim.South, Modules: l.modules("pumpjack", true)})
		l.spec(sim.BuildSpec{Name: "oil-refinery", X: rx, Y: y(acRef), Dir: sim.South, Recipe: "advanced-oil-processing",
			Modules: l.modules("oil-refinery", true)})
		l.put("pipe", rx+1, y(acRef-1), sim.North) // crude
		pipes(rx+4, acWater+1, rx+4, acRef-1)      // water
		l.put("pipe", rx+3, y(acRef-1), sim.North)
		// Gas straight down to its row; light and heavy oil under it.
		pipes(rx, acRef+5, rx, acGas-1)
		under(rx+2, acRef+5, acLight-1)
		under(rx+4, acRef+5, acHeavy-1)
	}
	last := X0 + 8*int32(len(crude)-1) // the last refinery
	for x := X0 - 3; x <= last+5; x += 8 {
		beacon(x, acRef+2)
	}
	hx := X0 + 20 + 6*light // the heavy cracker
	l.put("offshore-pump", X0-5, y(acWater), sim.West)
	pipes(X0-4, acWater, last+4, acWater)
	pipes(X0-4, acWater+1, X0-4, acWater2)
	pipes(X0-3, acWater2, hx, acWater2)
	// The rows of gas, light oil and heavy oil.
	pipes(X0-2, acGas, last, acGas)
	pipes(X0+2, acLight, hx+6, acLight)
	pipes(X0+4, acHeavy, hx+2, acHeavy)
	// The refineries' gas down x = X0−2, under the water row, to the gas row.
	pipes(X0-2, acGas+1, X0-2, acWater2-2)
	l.put("pipe-to-ground", X0-2, y(acWater2-1), sim.North)
	l.put("pipe-to-ground", X0-2, y(acWater2+1), sim.South)
	pipes(X0-2, acWater2+2, X0-2, acGasRow-1)
	pipes(X0-2, acGasRow, hx-6, acGasRow)

	// Crackers: the light ones, then the heavy one, a beacon between neighbours.
	for j := int32(0); j <= light+1; j++ {
		beacon(X0+17+6*j, acCrack)
	}
	for j := int32(0); j <= light; j++ {
		x := X0 + 20 + 6*j
		if j < light {
			plant(x, acCrack, "light-oil-cracking")
		} else {
			plant(x, acCrack, "heavy-oil-cracking")
		}
		l.put("pipe", x, y(acCrack-1), sim.North) // water from the row above
		if j < light {
			under(x+2, acLight+1, acCrack-1) // light oil
		} else {
			under(x+2, acHeavy+1, acCrack-1) // heavy oil
		}
	}
	// The heavy cracker's light oil: east along the gas row's line, up, under the
	// water and heavy-oil rows into the light-oil row.
	pipes(hx, acGasRow, hx+6, acGasRow)
	pipes(hx+6, acCrack, hx+6, acGasRow-1)
	under(hx+6, acLight+1, acCrack-1)

	// Plastic plants: gas from the gas row under the coal belt, coal from it, plastic
	// onto P2's south lane.
	for j := int32(0); j <= plastics; j++ {
		beacon(X0-2+6*j, acPlant)
	}
	for j := int32(0); j < plastics; j++ {
		x := X0 + 1 + 6*j
		plant(x, acPlant, "plastic-bar")
		under(x, acGasRow+1, acPlant-1)
		l.put(fullInInserter, x+1, y(acPlant-1), sim.North) // coal
		l.put(fullInInserter, x, y(acPlant+3), sim.North)   // plastic: an inserter puts one a
		l.put(fullInInserter, x+2, y(acPlant+3), sim.North) // tick, two keep up
	}
}

// fullCablePairs builds the circuits of an advanced-circuit line whose first refinery's
// west edge is at X0 (rows acP2 to acP1 from oy, see fullCircuits): copper and iron
// onto M, two cable/circuit pairs over it putting circuits on P2's north lane, and
// the two cable assemblers filling P1 from copper2's belt. It returns where P1 starts.
func (l *layout) fullCablePairs(X0, oy int32, copper, iron, copper2 *smeltBlock) (ka int32) {
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	asm := func(x, r int32, recipe string) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", true)})
	}
	// Copper and iron onto M; two cable/circuit pairs over it.
	l.smeltBlock(copper)
	l.smeltBlock(iron)
	mx := min(copper.xs, iron.xs)
	l.belt(fullBelt, mx, y(acM), sim.East, X0+17-mx)
	// The cable assemblers' copper: from the block south-west, north up x = X0+18,
	// east along M's row.
	l.smeltBlock(copper2)
	l.belt(fullBelt, copper2.xs, y(acCu2), sim.East, X0+18-copper2.xs)
	l.belt(fullBelt, X0+18, y(acCu2), sim.North, acCu2-acM)
	l.belt(fullBelt, X0+18, y(acM), sim.East, 12)
	for k := int32(0); k < 2; k++ {
		kx := X0 + 1 + 9*k
		ex := kx + 4
		asm(kx, acPair, "copper-cable")
		asm(ex, acPair, "electronic-circuit")
		l.put(fullInInserter, kx+3, y(acPair+1), sim.West)  // cable into the circuit assembler
		l.put(fullInInserter, kx+1, y(acM-1), sim.South)    // copper from M
		l.put(fullInInserter, ex+1, y(acM-1), sim.South)    // iron from M
		l.put(fullInInserter, ex, y(acPair-1), sim.South)   // circuits onto P2's north lane
		l.put(fullInInserter, ex+2, y(acPair-1), sim.South) // (two keep up)
		beacon(kx-1, acM+1)
		beacon(kx+5, acM+1)
	}
	return l.fullACCable(X0, oy)
}

// fullACCable builds the two cable assemblers of an advanced-circuit line whose first
// refinery's west edge is at X0 (rows acCable to acP1 from oy, see fullCircuits),
// taking copper from row acM: KA puts its cable on P1's south lane, KB on a short
// belt side-loading its north lane. It returns where P1 starts.
func (l *layout) fullACCable(X0, oy int32) (ka int32) {
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	asm := func(x, r int32, recipe string) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", true)})
	}
	ka, kb := X0+22, X0+28
	for _, x := range []int32{X0 + 19, X0 + 25, X0 + 33} {
		beacon(x, acCable)
	}
	for _, x := range []int32{ka, kb} {
		asm(x, acCable, "copper-cable")
		l.put(fullInInserter, x+1, y(acCable-1), sim.North) // copper from M
	}
	l.put(fullInInserter, ka, y(acCable+3), sim.North)
	l.put(fullInInserter, ka+2, y(acCable+3), sim.North)
	l.put(fullInInserter, kb+3, y(acCable), sim.West)
	l.put(fullInInserter, kb+3, y(acCable+2), sim.West)
	l.belt(fullBelt, kb+4, y(acCable), sim.South, acP1-acCable)
	return ka
}
