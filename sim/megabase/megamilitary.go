package megabase

import (
	"math/big"

	"github.com/starlane/starlane/sim"
)

// The military row's lines of a megabase-full cell: piercing rounds magazines from
// iron and copper ore (firearm magazines, steel), grenades from coal and iron ore,
// stone walls from stone (bricks), east of the turn column T where the cell has free
// rows from oy-34 to oy-4 (north of belt A's eastward run, which serves the labs;
// the lines use oy-32 to oy-7).
// Sized by planPart for the row's packs at fullMarginPct with the beacons this layout
// gives (fullFeedBeacons: 2 for every assembler and the steel furnaces, 3 for the
// smelting blocks' furnaces). Belt M (-9) takes grenades and piercing rounds, belt W
// (-8) walls, west to the military row. Everything flows west; from west to east:
//
//   - Piercing rounds: one row (rows -13..-11) of piercing-rounds assemblers, then
//     the steel furnaces, over belts PI (-15: iron | steel) and PC (-16: copper |
//     firearm magazines). The steel furnaces take iron from PI and put steel on its
//     north lane from the south; the piercing assemblers take steel from PI (bulk),
//     copper and magazines from PC (long-handed) and put the rounds on M's south
//     lane. Furnaces take only iron from PI: nothing smelts steel. East of the row
//     the firearm-magazine assemblers (rows -21..-19) take iron from belt FI (-23)
//     and put magazines on belt FB (-17), which side-loads PC's north lane; then the
//     magazines' iron block (north of FI), a copper block north of PC (its furnaces
//     fill PC's south lane) and the steel's iron block north of PI, PI passing under
//     the others. One iron lane would not carry the magazines' and the steel's iron
//     together (20.8 plates a second; its last furnaces found no gap).
//   - Grenades: grenade assemblers (rows -14..-12) take coal from belt C (-16, bulk)
//     and iron from belt GI (-17, two long-handed inserters) and put grenades on belt
//     GB (-10), which turns south at the row's west end and side-loads M's north
//     lane. GI comes from an iron block north of it, C from coal drills on both sides
//     of it further east (C passes under the iron block).
//   - Walls: the wall assemblers (rows -13..-11) take bricks from belt BR (-15, three
//     bulk inserters) and put walls on W with three long-handed inserters, over M.
//     BR's south lane comes from stone block Q (its furnaces north of BR, far east),
//     its north lane from stone block P (between the walls and Q), whose brick belt
//     (-17) turns south and side-loads BR.
//
// W and M run west under belt A's southward run at T (underground pairs) to the
// military row, whose machines take walls from W with a bulk inserter and grenades
// and rounds from M with a long-handed inserter (the rows where its infinity chests
// and the row of beacons behind it stood). Substations run along row -7.

const (
	milM      = -9  // belt M: grenades (north lane) | piercing rounds (south lane)
	milW      = -8  // belt W: walls
	milRowA   = -13 // wall and piercing-line machines (3 tall)
	milPI     = -15 // iron | steel
	milPC     = -16 // copper | firearm magazines
	milRowF   = -21 // firearm-magazine assemblers (3 tall)
	milFB     = -17 // firearm magazines
	milFI     = -23 // their iron
	milRowG   = -14 // grenade assemblers (3 tall)
	milGB     = -10 // grenades
	milCoal   = -16 // coal
	milGI     = -17 // grenades' iron
	milBR     = -15 // bricks
	milBrickP = -17 // stone block P's brick belt
	milSubY   = -7  // substations along the feed
	milMilInY = -7  // the military row's input inserters
)

// fullMilitaryPacks are the pack rows fed by the military lines.
var fullMilitaryPacks = map[string]bool{"military-science-pack": true}

// fullMilitarySizing is the military lines' machines per task and how the stone and
// iron are split between blocks, each rounded up.
type fullMilitarySizing struct {
	lines fullFeedCounts
	stone [2]blockCount // blocks P and Q, half the bricks each
	iron  [3]blockCount // the grenades', the firearm magazines' and the steel's
}

// fullMilitaryTasks are the tasks the military lines lay out.
var fullMilitaryTasks = []string{"military-science-pack", "piercing-rounds-magazine", "firearm-magazine",
	"grenade", "stone-wall", "stone-brick", "steel-plate", "iron-plate", "copper-plate",
	"mine iron-ore", "mine copper-ore", "mine coal", "mine stone"}

// sizeFullMilitary sizes the military lines for a cell of milliPacks/1000 packs a
// second.
func sizeFullMilitary(b *sim.Bundle, milliPacks int64) (fullMilitarySizing, error) {
	ms := fullMilitarySizing{lines: fullFeedCounts{}}
	p, err := planFullFeed(b, milliPacks, "military-science-pack")
	if err != nil {
		return ms, err
	}
	counts, lines, err := planTasks(p, "military lines", fullMilitaryTasks, true)
	if err != nil {
		return ms, err
	}
	ms.lines = counts
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return ms, err
	}
	// Iron plate crafts a second (net of the furnaces' productivity) for the grenades
	// and for the firearm magazines; the rest for the steel.
	iron := func(task string) *big.Rat {
		n := recipeIn(b, task, "iron-plate")
		return new(big.Rat).Quo(new(big.Rat).Mul(lines[task].rate, big.NewRat(n, 1)), pf)
	}
	gi, fi := iron("grenade"), iron("firearm-magazine")
	furn := lines["iron-plate"]
	si := new(big.Rat).Sub(furn.rate, gi)
	si.Sub(si, fi)
	copy(ms.iron[:], splitBlocks(furn, lines["mine iron-ore"], gi, fi, si))
	bricks := lines["stone-brick"]
	half := new(big.Rat).Quo(bricks.rate, big.NewRat(2, 1))
	copy(ms.stone[:], splitBlocks(bricks, lines["mine stone"], half, half))
	return ms, nil
}

// recipeIn is how many of item a craft of recipe takes; recipeOut how many it
// makes.
func recipeIn(b *sim.Bundle, recipe, item string) int64  { return recipeAmount(b, recipe, item, false) }
func recipeOut(b *sim.Bundle, recipe, item string) int64 { return recipeAmount(b, recipe, item, true) }

func recipeAmount(b *sim.Bundle, recipe, item string, results bool) int64 {
	ri, ok := b.Recipe(recipe)
	if !ok {
		return 0
	}
	xs := b.Recipes[ri].Ingredients
	if results {
		xs = b.Recipes[ri].Results
	}
	for _, x := range xs {
		if x.Name == item {
			return int64(x.Amount)
		}
	}
	return 0
}

// splitBlocks gives the furnaces and drills of smelting blocks sharing a furnace line
// and its mining line, each making parts (crafts a second), each rounded up.
func splitBlocks(furn, mine *PlanLine, parts ...*big.Rat) []blockCount {
	ore := new(big.Rat).Quo(mine.rate, furn.rate) // ore per craft
	out := make([]blockCount, len(parts))
	for k, c := range parts {
		out[k].furn = ratCeil(new(big.Rat).Quo(c, furn.per))
		out[k].drills = ratCeil(new(big.Rat).Quo(new(big.Rat).Mul(c, ore), mine.per))
	}
	return out
}

// smeltBlockAt is newSmeltBlock with the block's west end (its first drill column's
// gap) at west; the block ends at its xE.
func smeltBlockAt(drills, furnaces int, west, pb int32, north bool) smeltBlock {
	g := newSmeltBlock(drills, furnaces, 0, pb, north)
	return newSmeltBlock(drills, furnaces, west-g.xd, pb, north)
}

// fullMilitaryGeom is where one cell's military lines lie (x absolute, rows from oy).
type fullMilitaryGeom struct {
	walls, grenades, piercing, firearm, steel, coal int
	wx0, gx0, px0, fx0                              int32 // first beacon of the wall, grenade, piercing and firearm rows
	cp, cf                                          int32 // where P's bricks turn south onto BR, the magazines onto PC
	stoneP, stoneQ, grenIron, copper, fireIron      smeltBlock
	steelIron                                       smeltBlock
	coalCols, coalGaps                              []int32
	xEnd                                            int32
}

// rowEnd is the east edge of a machine row of n machines from x0 (its last beacon).
func rowEnd(x0 int32, n int) int32 { return x0 + 6*int32(n) + 2 }

func newFullMilitaryGeom(ms *fullMilitarySizing, x0, oy int32) fullMilitaryGeom {
	c := ms.lines
	g := fullMilitaryGeom{walls: c["stone-wall"], grenades: c["grenade"], piercing: c["piercing-rounds-magazine"],
		firearm: c["firearm-magazine"], steel: c["steel-plate"], coal: c["mine coal"], px0: x0}
	const m = fullFeedMargin
	g.cf = rowEnd(g.px0, g.piercing+g.steel) + m
	g.fx0 = g.cf + 2
	g.fireIron = smeltBlockAt(ms.iron[1].drills, ms.iron[1].furn, rowEnd(g.fx0, g.firearm)+m, oy+milFI, true)
	g.copper = smeltBlockAt(c["mine copper-ore"], c["copper-plate"], g.fireIron.xE+m, oy+milPC, true)
	g.steelIron = smeltBlockAt(ms.iron[2].drills, ms.iron[2].furn, g.copper.xE+m, oy+milPI, true)
	g.gx0 = g.steelIron.xE + m
	g.grenIron = smeltBlockAt(ms.iron[0].drills, ms.iron[0].furn, rowEnd(g.gx0, g.grenades)+m, oy+milGI, true)
	var coalEnd int32
	g.coalCols, g.coalGaps, coalEnd = columns(g.grenIron.xE+m, (g.coal+1)/2)
	g.wx0 = coalEnd + m
	g.cp = rowEnd(g.wx0, g.walls) + 2
	g.stoneP = smeltBlockAt(ms.stone[0].drills, ms.stone[0].furn, g.cp+m, oy+milBrickP, true)
	g.stoneQ = smeltBlockAt(ms.stone[1].drills, ms.stone[1].furn, g.stoneP.xE+m, oy+milBR, true)
	g.xEnd = g.stoneQ.xE
	return g
}

func (g *fullMilitaryGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, coal, stone, _ := oreIDs(b)
	x0 := g.coalCols[0]
	x1 := g.coalCols[len(g.coalCols)-1] + 3
	return []sim.Patch{g.stoneP.patch(stone, megaOre), g.stoneQ.patch(stone, megaOre), g.grenIron.patch(iron, megaOre),
		g.copper.patch(copper, megaOre), g.fireIron.patch(iron, megaOre), g.steelIron.patch(iron, megaOre),
		{Resource: coal, X: x0, Y: oy + milCoal - 3, W: x1 - x0, H: 7, Amount: megaOre}}
}

// fullMilitary builds the military lines of the cell whose turn column is T; belts W
// and M run west to the military row's first machine at rowX.
func (l *layout) fullMilitary(g *fullMilitaryGeom, T, oy, rowX int32) {
	beacon := func(y int32) func(x int32) {
		return func(x int32) { l.beacon(x, oy+y) }
	}
	asm := func(x, y int32, recipe string) {
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: oy + y, Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
	}
	y := func(r int32) int32 { return oy + r }
	// west lays a belt flowing west at row r from x1 to x0, both included.
	west := func(x1, x0, r int32) { l.belt(fullBelt, x1, y(r), sim.West, x1-x0+1) }
	lastFurnace := func(g *smeltBlock) int32 { return g.furnCols[len(g.furnCols)-1] }

	// Piercing rounds and steel; the firearm magazines north of PC.
	l.smeltBlock(&g.fireIron)
	l.smeltBlock(&g.copper)
	l.smeltBlock(&g.steelIron)
	machineRow(g.px0, g.piercing+g.steel, beacon(milRowA), func(j int, x int32) {
		if j < g.piercing {
			asm(x, milRowA, "piercing-rounds-magazine")
			l.put(fullInInserter, x+1, y(milRowA-1), sim.North)   // steel from PI
			l.put(fullLongInserter, x, y(milRowA-1), sim.North)   // copper and magazines
			l.put(fullLongInserter, x+2, y(milRowA-1), sim.North) // from PC
			l.put(fullOutInserter, x+1, y(milRowA+3), sim.North)  // onto M's south lane
			return
		}
		l.spec(sim.BuildSpec{Name: "electric-furnace", X: x, Y: y(milRowA), Modules: l.modules("electric-furnace", true)})
		l.put(fullInInserter, x+1, y(milRowA-1), sim.North) // iron from PI
		l.put(fullOutInserter, x, y(milRowA-1), sim.South)  // steel onto PI's north lane
	})
	machineRow(g.fx0, g.firearm, beacon(milRowF), func(_ int, x int32) {
		asm(x, milRowF, "firearm-magazine")
		l.put(fullInInserter, x+1, y(milRowF-1), sim.North)  // iron from FI: four plates a
		l.put(fullInInserter, x+2, y(milRowF-1), sim.North)  // magazine, two keep up
		l.put(fullOutInserter, x+1, y(milRowF+3), sim.North) // magazines onto FB
	})
	l.put("substation", g.cf, y(milRowF), sim.North) // links the firearm line to row -7
	west(lastFurnace(&g.fireIron)+2, g.fx0+3, milFI)
	west(rowEnd(g.fx0, g.firearm), g.cf+1, milFB)
	l.belt(fullBelt, g.cf, y(milFB), sim.South, 1) // side-loads PC's north lane
	west(lastFurnace(&g.copper)+2, g.px0+3, milPC)
	west(lastFurnace(&g.steelIron)+2, g.px0+3, milPI)

	// Grenades.
	l.smeltBlock(&g.grenIron)
	machineRow(g.gx0, g.grenades, beacon(milRowG), func(_ int, x int32) {
		asm(x, milRowG, "grenade")
		l.put(fullInInserter, x+1, y(milRowG-1), sim.North)   // coal from C
		l.put(fullLongInserter, x, y(milRowG-1), sim.North)   // iron from GI
		l.put(fullLongInserter, x+2, y(milRowG-1), sim.North) // (two keep up)
		l.put(fullOutInserter, x+1, y(milRowG+3), sim.North)  // grenades onto GB
	})
	l.drillsBeside(g.coalCols, g.coal, y(milCoal))
	for _, x := range g.coalGaps {
		l.put("substation", x, y(milCoal+1), sim.North)
	}
	west(g.coalCols[len(g.coalCols)-1]+2, g.gx0+3, milCoal)
	west(lastFurnace(&g.grenIron)+2, g.gx0+3, milGI)
	west(rowEnd(g.gx0, g.grenades), g.gx0, milGB)
	l.put(fullBelt, g.gx0-1, y(milGB), sim.South) // side-loads M's north lane

	// Walls.
	l.smeltBlock(&g.stoneP)
	l.smeltBlock(&g.stoneQ)
	machineRow(g.wx0, g.walls, beacon(milRowA), func(_ int, x int32) {
		asm(x, milRowA, "stone-wall")
		for dx := int32(0); dx < 3; dx++ {
			l.put(fullInInserter, x+dx, y(milRowA-1), sim.North)   // bricks from BR
			l.put(fullLongInserter, x+dx, y(milRowA+3), sim.North) // walls onto W, over M
		}
	})
	west(lastFurnace(&g.stoneP)+2, g.cp+1, milBrickP)
	l.belt(fullBelt, g.cp, y(milBrickP), sim.South, milBR-milBrickP) // side-loads BR's north lane
	west(lastFurnace(&g.stoneQ)+2, g.wx0+3, milBR)

	// M and W to the military row, under belt A at T.
	for _, b := range []struct{ r, end int32 }{{milM, g.gx0 + 1}, {milW, rowEnd(g.wx0, g.walls)}} {
		west(b.end, T+2, b.r)
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: T + 1, Y: y(b.r), Dir: sim.West, Underground: "input"})
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: T - 1, Y: y(b.r), Dir: sim.West, Underground: "output"})
		west(T-2, rowX, b.r)
	}
	for x := T + 2; x <= g.xEnd; x += 16 {
		l.put("substation", x, y(milSubY), sim.North)
	}
}
