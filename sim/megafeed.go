package sim

import (
	"fmt"
	"math/big"
)

// The production lines of megabase-full that make a row's ingredients from ore
// instead of taking them from infinity chests. They are sized with planPart, the
// planner of PlanFull (same recipes, machines and modules, the game's numbers), given
// the beacons each line's machines get in this layout, for the rate the row they feed
// can consume (its machines' full speed: fullMarginPct of the cell's share).
//
// Today the automation-science row is fed this way, west of the cell's rows:
//
//   - a copper block north of the row's ingredient belt: electric mining drills with
//     productivity modules on both sides of an ore belt, unbeaconed as in the plan,
//     then a row of electric furnaces (productivity modules, a row of beacons on the
//     far side of the ore belt: three reach each furnace) taking ore from the belt with
//     bulk inserters and putting copper plates on the ingredient belt's south lane;
//   - an iron block south of it, the same shape, putting iron plates on a plate belt;
//   - gear assemblers (productivity modules, a beacon each side) between the two,
//     taking iron plates from the plate belt and putting gears on the ingredient belt's
//     north lane, which runs east under the automation-science row's input inserters.

// fullFeedBeacons is how many beacons reach, at least, each machine of a fed line in
// this layout (tasks as in PlanLine: recipe names); the pack row's as sizeFullCell.
var fullFeedBeacons = map[string]int{
	"automation-science-pack": fullBeaconsAsm,
	"iron-gear-wheel":         2,
	"iron-plate":              3,
	"copper-plate":            3,
}

// fullFedPacks are the pack rows fed from ore; the others take their ingredients
// from infinity chests.
var fullFedPacks = []string{"automation-science-pack"}

// fullFed reports whether the row making pack is fed from ore.
func fullFed(pack string) bool {
	for _, p := range fullFedPacks {
		if p == pack {
			return true
		}
	}
	return false
}

// planFullFeed plans the lines feeding the fed rows of one cell sized for
// milliPacks/1000 packs a second: the rows' own machines (at fullMarginPct) and every
// line down to the ore.
func planFullFeed(b *Bundle, milliPacks int64) (*Plan, error) {
	rates := map[string]*big.Rat{}
	for _, p := range fullFedPacks {
		rates[p] = big.NewRat(milliPacks*fullMarginPct, 100*1000)
	}
	p, err := planPart(b, rates, fullFeedBeacons)
	if err != nil {
		return nil, fmt.Errorf("plan the fed rows: %w", err)
	}
	return p, nil
}

// smeltBlock is where a block of drills and furnaces lies: drills on both sides of
// an ore belt (west), furnaces beside the same belt (east, ending at xE), their output
// inserters putting plates on the plate belt at y = pb. north says the block lies north
// of the plate belt.
type smeltBlock struct {
	north              bool
	pb                 int32
	drills             int
	drillCols, dGaps   []int32
	furnCols, furnGaps []int32
	xd, xs, xE         int32 // west end of the drills, of the furnaces; east end
}

func newSmeltBlock(drills, furnaces int, xE, pb int32, north bool) smeltBlock {
	g := smeltBlock{north: north, pb: pb, drills: drills, xE: xE}
	_, _, fw := columns(0, furnaces)
	g.xs = xE - fw
	g.furnCols, g.furnGaps, _ = columns(g.xs, furnaces)
	_, _, dw := columns(0, (drills+1)/2)
	g.xd = g.xs - dw - 2 // the beacons, reaching 3 tiles, stop at the last drill gap
	g.drillCols, g.dGaps, _ = columns(g.xd, (drills+1)/2)
	return g
}

// y gives the top row of a thing 'depth' rows from the plate belt, h tall, on the
// block's side.
func (g *smeltBlock) y(depth, h int32) int32 {
	if g.north {
		return g.pb - depth - h + 1
	}
	return g.pb + depth
}

// facing is the direction of the plate belt, seen from inside the block.
func (g *smeltBlock) facing() Dir {
	if g.north {
		return South
	}
	return North
}

// away is the direction away from the plate belt.
func (g *smeltBlock) away() Dir {
	if g.north {
		return North
	}
	return South
}

// Rows, counted from the plate belt: output inserters 1, furnaces 2–4, input inserters
// 5, ore belt 6, far drills and the beacon row 7–9; near drills 3–5 west of the
// furnaces.

// patch is the ore under the drills.
func (g *smeltBlock) patch(ore ItemID, amount uint32) Patch {
	x0 := g.drillCols[0]
	x1 := g.drillCols[len(g.drillCols)-1] + 3
	return Patch{Resource: ore, X: x0, Y: g.y(3, 7), W: x1 - x0, H: 7, Amount: amount}
}

func (l *layout) smeltBlock(g *smeltBlock) {
	const (
		drill = "electric-mining-drill"
		furn  = "electric-furnace"
	)
	drillMods := l.modules(drill, true)
	furnMods := l.modules(furn, true)
	speed2 := []string{planSpeed, planSpeed}
	near := g.drills - len(g.drillCols)
	for i, x := range g.drillCols {
		l.spec(BuildSpec{Name: drill, X: x, Y: g.y(7, 3), Dir: g.facing(), Modules: drillMods})
		if i < near {
			l.spec(BuildSpec{Name: drill, X: x, Y: g.y(3, 3), Dir: g.away(), Modules: drillMods})
		}
	}
	for _, x := range g.dGaps {
		l.put("substation", x, g.y(7, 2), North)
	}
	for _, x := range g.furnCols {
		l.put(fullOutInserter, x+1, g.y(1, 1), g.away())
		l.spec(BuildSpec{Name: furn, X: x, Y: g.y(2, 3), Modules: furnMods})
		l.put(fullInInserter, x+1, g.y(5, 1), g.away())
	}
	for _, x := range g.furnGaps {
		l.put("substation", x, g.y(2, 2), North)
	}
	last := g.furnCols[len(g.furnCols)-1]
	for x := g.furnCols[0] - 3; x <= last+3; x += 3 {
		l.spec(BuildSpec{Name: "beacon", X: x, Y: g.y(7, 3), Modules: speed2})
	}
	l.belt(fullBelt, g.xd, g.y(6, 1), East, last+3-g.xd)
}

// modules fills every module slot of an entity with productivity-module-3 (prod) or
// speed-module-3.
func (l *layout) modules(entity string, prod bool) []string {
	b := l.s.b
	pi, _ := b.Entity(entity)
	m := planSpeed
	if prod {
		m = planProd
	}
	out := make([]string, b.Entities[pi].ModuleSlots)
	for i := range out {
		out[i] = m
	}
	return out
}

// fullFeedGeom is where one cell's feed lines lie: ingredient belt of the automation
// row at y = oy-24, copper north of it, gears and the iron plate belt (oy-18) south.
type fullFeedGeom struct {
	copper, iron smeltBlock
	gears        int
	gx0          int32 // west end of the gear section (a beacon)
	xE           int32
}

const (
	fullFeedBeltY  = -24 // the automation row's ingredient belt (its chests' row)
	fullIronBeltY  = -18
	fullGearY      = -22 // gear assemblers, level with the automation row
	fullFeedMargin = 4   // tiles between the feed lines and the cell's rows
)

func newFullFeedGeom(feed map[string]int, ox, oy int32) fullFeedGeom {
	xE := ox - fullFeedMargin
	g := fullFeedGeom{xE: xE, gears: feed["iron-gear-wheel"]}
	g.gx0 = xE - 6*int32(g.gears) - 3
	g.copper = newSmeltBlock(feed["mine copper-ore"], feed["copper-plate"], xE, oy+fullFeedBeltY, true)
	// The iron furnaces end where the gears begin: every plate they put on the belt
	// passes the gear assemblers' inserters.
	g.iron = newSmeltBlock(feed["mine iron-ore"], feed["iron-plate"], g.gx0, oy+fullIronBeltY, false)
	return g
}

func (g *fullFeedGeom) patches(b *Bundle) []Patch {
	iron, _ := b.ItemID("iron-ore")
	copper, _ := b.ItemID("copper-ore")
	return []Patch{g.copper.patch(copper, megaOre), g.iron.patch(iron, megaOre)}
}

// fullFeed builds the automation row's feed lines; the row's ingredient belt runs
// from their west end to rowEnd.
func (l *layout) fullFeed(g *fullFeedGeom, oy, rowEnd int32) {
	l.smeltBlock(&g.copper)
	l.smeltBlock(&g.iron)
	asmMods := l.modules("assembling-machine-3", true)
	speed2 := []string{planSpeed, planSpeed}
	for j := 0; j <= g.gears; j++ {
		x := g.gx0 + 6*int32(j)
		l.spec(BuildSpec{Name: "beacon", X: x, Y: oy + fullGearY, Modules: speed2})
		if j < g.gears {
			l.spec(BuildSpec{Name: "assembling-machine-3", X: x + 3, Y: oy + fullGearY, Recipe: "iron-gear-wheel", Modules: asmMods})
			l.put(fullInInserter, x+4, oy+fullFeedBeltY+1, South) // gears -> ingredient belt
			l.put(fullInInserter, x+4, oy+fullIronBeltY-1, South) // iron plates -> gears
		}
	}
	west := min(g.copper.xs, g.gx0)
	l.belt(fullBelt, west, oy+fullFeedBeltY, East, rowEnd-west)
	l.belt(fullBelt, g.iron.xs, oy+fullIronBeltY, East, g.xE-g.iron.xs)
}
