package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The engine line of a megabase-full cell: the chemical row's engine units from iron
// ore, in the free band south-west of the cell (rows oy+11 to oy+24, west of the
// silo). Sized by planPart for the row's engines at fullMarginPct, with the beacons
// this layout gives (fullFeedBeacons), everything flowing east:
//
//	11        belt IS: iron plates for the steel, from iron block A (south of it, far
//	          west); east of the steel furnaces belt Z takes the engines to the row
//	12..16    steel furnaces, then engine assemblers, in one row with a beacon between
//	          neighbours; the furnaces take plates from IS and put steel on S1's south
//	          lane, the engines take steel and gears from S1, pipes from S2 (long-handed)
//	          and put engines on Z's north lane
//	17, 18    belts S1 (steel | gears) and S2 (pipes)
//	19..23    gear and pipe assemblers (a beacon between neighbours) under the first
//	          steel furnaces, taking plates from IG; the gears go onto S1's north lane
//	          (long-handed, over S2), the pipes onto S2; substations along row 19
//	24        belt IG: iron plates for gears and pipes, from iron block B (north of it,
//	          between block A and the furnaces)
//
// Z runs east to ox-3, turns north, passes under the sulfur belt (an underground pair)
// and runs east along oy+4 under the chemical row, whose input inserters take from it
// where their infinity chests stood. The row's advanced circuits join Z's south lane
// from the south at x = −1 (megacircuit.go).

const (
	engIS    = 11  // iron plates for steel; then belt Z (engines)
	engRow   = 13  // steel furnaces and engine assemblers (3 tall)
	engS1    = 17  // steel | gears
	engS2    = 18  // pipes
	engSub   = 19  // substations
	engGP    = 20  // gear and pipe assemblers
	engIG    = 24  // iron plates for gears and pipes
	engChemY = 4   // the chemical row's ingredient belt (its chests' row)
	engEnd   = -19 // east end of the engine section, from ox (the silo's substations start at ox-16)
)

// fullEnginePacks are the pack rows whose engine units come from the engine line.
var fullEnginePacks = map[string]bool{"chemical-science-pack": true}

// planFullEngines plans the engine line for one cell's chemical row at fullMarginPct
// of milliPacks/1000 packs a second.
func planFullEngines(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullRowRate(b, milliPacks, "chemical-science-pack", "engine-unit")
	if err != nil {
		return nil, err
	}
	p, err := planPart(b, map[string]*big.Rat{"engine-unit": rate}, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the chemical row's engine units: %w", err)
	}
	return p, nil
}

// fullEngineSizing is the engine line's machines per task and how its iron is split
// between block A (the steel's) and block B (the gears' and pipes'), each rounded up.
type fullEngineSizing struct {
	lines fullFeedCounts
	iron  [2]blockCount
}

// sizeFullEngines sizes the engine line.
func sizeFullEngines(b *sim.Bundle, milliPacks int64) (fullEngineSizing, error) {
	es := fullEngineSizing{lines: fullFeedCounts{}}
	p, err := planFullEngines(b, milliPacks)
	if err != nil {
		return es, err
	}
	counts, lines, err := planTasks(p, "engine line", []string{"engine-unit", "steel-plate", "iron-gear-wheel", "pipe", "iron-plate", "mine iron-ore"}, false)
	if err != nil {
		return es, err
	}
	es.lines = counts
	furn, mine, steel := lines["iron-plate"], lines["mine iron-ore"], lines["steel-plate"]
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return es, err
	}
	ri, _ := b.Recipe("steel-plate")
	var iron int64
	for _, x := range b.Recipes[ri].Ingredients {
		if x.Name == "iron-plate" {
			iron = int64(x.Amount)
		}
	}
	// Iron plate crafts a second (net of the furnaces' productivity) for the steel;
	// the rest for gears and pipes.
	forSteel := new(big.Rat).Quo(new(big.Rat).Mul(steel.rate, big.NewRat(iron, 1)), pf)
	ore := new(big.Rat).Quo(mine.rate, furn.rate) // ore per plate craft
	for k, crafts := range []*big.Rat{forSteel, new(big.Rat).Sub(furn.rate, forSteel)} {
		es.iron[k].furn = ratCeil(new(big.Rat).Quo(crafts, furn.per))
		es.iron[k].drills = ratCeil(new(big.Rat).Quo(new(big.Rat).Mul(crafts, ore), mine.per))
	}
	return es, nil
}

// fullEngineGeom is where one cell's engine line lies.
type fullEngineGeom struct {
	steel, engines, gears, pipes int
	x0                           int32 // the machine row's first beacon
	blockA, blockB               smeltBlock
}

func newFullEngineGeom(es *fullEngineSizing, ox, oy int32) fullEngineGeom {
	g := fullEngineGeom{steel: es.lines["steel-plate"], engines: es.lines["engine-unit"],
		gears: es.lines["iron-gear-wheel"], pipes: es.lines["pipe"]}
	g.x0 = ox + engEnd - 2 - 6*int32(g.steel+g.engines)
	g.blockB = newSmeltBlock(es.iron[1].drills, es.iron[1].furn, g.x0-fullFeedMargin, oy+engIG, true)
	g.blockA = newSmeltBlock(es.iron[0].drills, es.iron[0].furn, g.blockB.xd-fullFeedMargin, oy+engIS, false)
	return g
}

func (g *fullEngineGeom) patches(b *sim.Bundle) []sim.Patch {
	iron, _ := b.ItemID("iron-ore")
	return []sim.Patch{g.blockA.patch(iron, megaOre), g.blockB.patch(iron, megaOre)}
}

// machineRow lays n machines at a pitch of six tiles from x0 with a beacon before
// each and one after the last: beacon(x) at x0+6j for j = 0..n, and machine(j, x)
// at x0+6j+3 for j < n.
func machineRow(x0 int32, n int, beacon func(x int32), machine func(j int, x int32)) {
	for j := 0; j <= n; j++ {
		x := x0 + 6*int32(j)
		beacon(x)
		if j < n {
			machine(j, x+3)
		}
	}
}

// fullEngines builds the engine line; the chemical row's ingredient belt runs to
// rowEnd.
func (l *layout) fullEngines(g *fullEngineGeom, ox, oy, rowEnd int32) {
	l.smeltBlock(&g.blockA)
	l.smeltBlock(&g.blockB)
	beacon := func(x, y int32) { l.beacon(x, oy+y) }
	prod := l.modules("assembling-machine-3", true)
	// The machine row: steel furnaces, then engines.
	n := g.steel + g.engines
	furnMods := l.modules("electric-furnace", true)
	machineRow(g.x0, n, func(x int32) { beacon(x, engRow) }, func(j int, x int32) {
		if j < g.steel {
			l.spec(sim.BuildSpec{Name: "electric-furnace", X: x, Y: oy + engRow, Modules: furnMods})
			l.put(fullInInserter, x+1, oy+engRow-1, sim.North)  // plates from IS
			l.put(fullOutInserter, x+1, oy+engRow+3, sim.North) // steel onto S1's south lane
			return
		}
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: oy + engRow, Recipe: "engine-unit", Modules: prod})
		l.put(fullOutInserter, x+1, oy+engRow-1, sim.South) // engines onto Z's north lane
		l.put(fullInInserter, x+1, oy+engRow+3, sim.South)  // steel and gears from S1
		l.put(fullLongInserter, x, oy+engRow+3, sim.South)  // pipes from S2
	})
	// Gears and pipes under the first steel furnaces.
	m := g.gears + g.pipes
	machineRow(g.x0, m, func(x int32) { beacon(x, engGP) }, func(j int, x int32) {
		recipe := "pipe"
		if j < g.gears {
			recipe = "iron-gear-wheel"
			l.put(fullLongInserter, x, oy+engSub, sim.South) // gears onto S1's north lane, over S2
			l.put(fullLongInserter, x+2, oy+engSub, sim.South)
		} else {
			l.put(fullInInserter, x+1, oy+engSub, sim.South) // pipes onto S2: one inserter
			l.put(fullInInserter, x+2, oy+engSub, sim.South) // puts one a tick, two keep up
		}
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: oy + engGP, Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
		l.put(fullInInserter, x+1, oy+engGP+3, sim.South) // plates from IG
	})
	l.put("substation", g.x0-3, oy+engSub, sim.North)
	xEnd := g.x0 + 6*int32(n) + 2
	for x := g.x0 + 6*int32(m) + 3; x <= xEnd; x += 18 {
		l.put("substation", x, oy+engSub, sim.North)
	}
	// Belts.
	lastSteel := g.x0 + 6*int32(g.steel-1) + 3
	l.belt(fullBelt, g.blockA.xd, oy+engIS, sim.East, lastSteel+2-g.blockA.xd) // ends a tile short of Z
	l.belt(fullBelt, g.blockB.xd, oy+engIG, sim.East, g.x0+6*int32(m)-g.blockB.xd)
	l.belt(fullBelt, g.x0, oy+engS1, sim.East, xEnd-g.x0)
	l.belt(fullBelt, g.x0+3, oy+engS2, sim.East, xEnd-g.x0-3)
	// Z: east to ox-3, north under the sulfur belt, east under the chemical row.
	turn := ox - 3
	z := g.x0 + 6*int32(g.steel)
	l.belt(fullBelt, z, oy+engIS, sim.East, turn-z)
	l.put(fullBelt, turn, oy+engIS, sim.North)
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: turn, Y: oy + engIS - 1, Dir: sim.North, Underground: "input"})
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: turn, Y: oy + fullSulfurBeltY + 3, Dir: sim.North, Underground: "output"})
	l.belt(fullBelt, turn, oy+fullSulfurBeltY+2, sim.North, fullSulfurBeltY+2-engChemY)
	l.belt(fullBelt, turn, oy+engChemY, sim.East, rowEnd-turn)
}
