package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"maps"
	"math/big"
	"slices"
)

// The production lines of megabase-full that make a row's ingredients from ore
// instead of taking them from infinity chests. They are sized with planPart, the
// planner of PlanFull (same recipes, machines and modules, the game's numbers), given
// the beacons each line's machines get in this layout, for the rate the row they feed
// can consume (its machines' full speed: fullMarginPct of the cell's share).
//
// Today the automation and logistic science rows are fed this way, west of the
// cell's rows (the logistic row's lines are described at fullGreenGeom). The
// automation row's:
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
	"logistic-science-pack":   fullBeaconsMid, // no row of beacons behind it (fullRowBeacons)
	"iron-gear-wheel":         2,
	"copper-cable":            2,
	"electronic-circuit":      2,
	"inserter":                2,
	"transport-belt":          2,
	"iron-plate":              3,
	"copper-plate":            3,
	// The oil block (megaoil.go).
	"sulfur":                  2,
	"advanced-oil-processing": 2,
	"heavy-oil-cracking":      2,
	"light-oil-cracking":      2,
	// The engine line (megaengine.go).
	"engine-unit": 2,
	"steel-plate": 2,
	"pipe":        2,
	// The advanced-circuit line (megacircuit.go).
	"advanced-circuit": 2,
	"plastic-bar":      2,
	// The military lines (megamilitary.go).
	"military-science-pack":    fullBeaconsMid,
	"piercing-rounds-magazine": 2,
	"firearm-magazine":         2,
	"grenade":                  2,
	"stone-wall":               2,
	"stone-brick":              3,
	// The rail line (megaproduction.go).
	"production-science-pack": fullBeaconsMid,
	"rail":                    2,
	"iron-stick":              2,
	// The module line (megamodule.go).
	"productivity-module": 2,
	// The electric-furnace line (megafurnace.go).
	"electric-furnace": 2,
	// The processing-unit line (megaprocessing.go).
	"processing-unit": 2,
	"sulfuric-acid":   2,
	// The flying-robot-frame line (megaframe.go).
	"flying-robot-frame":   2,
	"electric-engine-unit": 2,
	"battery":              2,
	"lubricant":            2,
	// The rocket-fuel line (megarocket.go).
	"rocket-fuel":                   2,
	"solid-fuel-from-heavy-oil":     2,
	"solid-fuel-from-light-oil":     2,
	"solid-fuel-from-petroleum-gas": 2,
	// The low-density-structure line (megalds.go).
	"low-density-structure": 2,
	// The satellite-parts line (megasatellite.go).
	"solar-panel": 2,
	"accumulator": 2,
	"radar":       2,
}

// fullOilAmount is what a crude-oil tile holds in the plans of the fed rows: 500 %
// yield, the figure the plan's published numbers use (docs/benchmarks.md).
const fullOilAmount = 1_500_000

// fullFedPacks are the pack rows fed by this file's lines; the chemical row's come
// from megaoil.go, megaengine.go and megacircuit.go, the military row's from
// megamilitary.go, the production and utility rows' from megaproduction.go and
// megautility.go and the lines they name.
var fullFedPacks = []string{"automation-science-pack", "logistic-science-pack"}

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
func planFullFeed(b *sim.Bundle, milliPacks int64, pack string) (*Plan, error) {
	rates := map[string]*big.Rat{pack: big.NewRat(milliPacks*fullMarginPct, 100*1000)}
	p, err := planPart(b, rates, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the lines feeding %s: %w", pack, err)
	}
	return p, nil
}

// fullRowRate is how many of item a second a cell's row making pack takes at
// fullMarginPct of milliPacks/1000 packs a second (its machines' productivity
// counted).
func fullRowRate(b *sim.Bundle, milliPacks int64, pack, item string) (*big.Rat, error) {
	ri, ok := b.Recipe(pack)
	if !ok {
		return nil, fmt.Errorf("the bundle has no recipe %s", pack)
	}
	made, need := recipeOut(b, pack, pack), recipeIn(b, pack, item)
	if made <= 0 || need <= 0 {
		return nil, fmt.Errorf("recipe %s takes no %s", pack, item)
	}
	pf, err := (&planner{b: b}).prodFactor("assembling-machine-3", b.Recipes[ri].Productivity)
	if err != nil {
		return nil, err
	}
	// packs / (packs a craft × productivity) × items a craft.
	rate := big.NewRat(milliPacks*fullMarginPct*need, 100*1000*made)
	return rate.Quo(rate, pf), nil
}

// planRowItem plans a line making item for a cell's row making pack, at the rate the
// row takes it (fullRowRate); what names the item in errors.
func planRowItem(b *sim.Bundle, milliPacks int64, pack, item, what string) (*Plan, error) {
	return planRowItemWith(b, milliPacks, pack, item, what, planChoices{})
}

// planRowItemWith is planRowItem with choices (planPartWith).
func planRowItemWith(b *sim.Bundle, milliPacks int64, pack, item, what string, choices planChoices) (*Plan, error) {
	rate, err := fullRowRate(b, milliPacks, pack, item)
	if err != nil {
		return nil, err
	}
	return planFeedItem(b, item, rate, what, choices)
}

// planFeedItem plans a feed line making item at rate a second from raw resources, with
// the feed lines' beacons and oil yield; what names the line in an error.
func planFeedItem(b *sim.Bundle, item string, rate *big.Rat, what string, choices planChoices) (*Plan, error) {
	p, err := planPartWith(b, map[string]*big.Rat{item: rate}, fullFeedBeacons, fullOilAmount, choices)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", what, err)
	}
	return p, nil
}

// fullFeedCounts is machines per task of the lines feeding one row.
type fullFeedCounts map[string]int

// drillsBeside puts n drills with productivity modules along a belt at row
// beltY (absolute): one facing south above it at each of cols, and, for the
// first n-len(cols) of them, one facing north below it.
func (l *layout) drillsBeside(cols []int32, n int, beltY int32) {
	mods := l.modules("electric-mining-drill", true)
	below := n - len(cols)
	for i, x := range cols {
		l.spec(sim.BuildSpec{Name: "electric-mining-drill", X: x, Y: beltY - 3, Dir: sim.South, Modules: mods})
		if i < below {
			l.spec(sim.BuildSpec{Name: "electric-mining-drill", X: x, Y: beltY + 1, Dir: sim.North, Modules: mods})
		}
	}
}

// planTasks indexes a feed line's plan by task: the machine count of each, and
// the line itself. It fails when the plan lacks a task of want, or, with exact,
// has a task the layout does not place; what names the line in the message.
func planTasks(p *Plan, what string, want []string, exact bool) (fullFeedCounts, map[string]*PlanLine, error) {
	counts, lines := fullFeedCounts{}, map[string]*PlanLine{}
	for i := range p.Lines {
		counts[p.Lines[i].Task] = p.Lines[i].Machines
		lines[p.Lines[i].Task] = &p.Lines[i]
	}
	for _, task := range want {
		if lines[task] == nil {
			return nil, nil, fmt.Errorf("the %s's plan lacks %s", what, task)
		}
	}
	if exact && len(lines) != len(want) {
		return nil, nil, fmt.Errorf("the %s's plan has %d tasks, the layout %d", what, len(lines), len(want))
	}
	return counts, lines, nil
}

// planFixedTasks is planTasks (exact) for a line whose layout draws a fixed number of
// some machines, then checkFixed: line names the line, makes what it makes.
func planFixedTasks(p *Plan, line string, want []string, fixed map[string]int, makes string) (fullFeedCounts, map[string]*PlanLine, error) {
	counts, lines, err := planTasks(p, line, want, true)
	if err != nil {
		return nil, nil, err
	}
	if err := checkFixed(counts, fixed, makes); err != nil {
		return nil, nil, err
	}
	return counts, lines, nil
}

// checkFixed fails when the plan asks for other counts of the machines a line's
// layout draws a fixed number of; what names what the line makes.
func checkFixed(counts fullFeedCounts, fixed map[string]int, what string) error {
	for _, task := range slices.Sorted(maps.Keys(fixed)) {
		if n := fixed[task]; counts[task] != n {
			return fmt.Errorf("%s need %d machines for %s; the line is laid out for %d", what, counts[task], task, n)
		}
	}
	return nil
}

// fullFeedSizing is machines per task of every fed row's lines, by pack, and how the
// logistic row's iron is split between its three iron blocks.
type fullFeedSizing struct {
	lines map[string]fullFeedCounts
	// The logistic row's iron blocks: for the circuits, for the gears and for the
	// inserter and belt assemblers; furnaces and drills of each, rounded up.
	iron [3]blockCount
	// oil is the oil block's machines per task (planFullSulfur).
	oil fullFeedCounts
	// engines is the engine line's (sizeFullEngines).
	engines fullEngineSizing
	// circuits is the advanced-circuit line's machines per task (sizeFullCircuits).
	circuits fullCircuitSizing
	// military is the military lines' (sizeFullMilitary).
	military fullMilitarySizing
	// rails is the production row's rail line's (sizeFullRails).
	rails fullRailSizing
	// modules is the production row's module line's (sizeFullModules).
	modules fullModuleSizing
	// furnaces is the production row's electric-furnace line's (sizeFullFurnaces).
	furnaces fullFurnaceSizing
	// processing is the utility row's processing-unit line's (sizeFullProcessing).
	processing fullProcessingSizing
	// processing2 is one half of the silo's and the satellites' processing-unit line
	// (sizeFullProcessing2).
	processing2 fullProcessingSizing
	// rocketFuel is the silo's rocket-fuel line's machines per task (planFullRocketFuel).
	rocketFuel fullFeedCounts
	// lds is one half of the low-density-structure line (sizeFullLDS).
	lds fullLDSSizing
	// frames is the utility row's flying-robot-frame line's (sizeFullFrames).
	frames fullFrameSizing
	// sat is the satellite-parts line's (sizeFullSatParts).
	sat fullSatSizing
}

// Indexes into fullFeedSizing.iron.
const (
	greenIronCircuits = iota
	greenIronGears
	greenIronRest
)

// sizeFullFeed sizes the lines feeding the fed rows of a cell sized for
// milliPacks/1000 packs a second of each pack.
func sizeFullFeed(b *sim.Bundle, milliPacks int64) (fullFeedSizing, error) {
	fs := fullFeedSizing{lines: map[string]fullFeedCounts{}, oil: fullFeedCounts{}}
	op, err := planFullSulfur(b, milliPacks)
	if err != nil {
		return fs, err
	}
	for _, l := range op.Lines {
		fs.oil[l.Task] = l.Machines
	}
	if fs.engines, err = sizeFullEngines(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.circuits, err = sizeFullCircuits(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.military, err = sizeFullMilitary(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.rails, err = sizeFullRails(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.modules, err = sizeFullModules(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.furnaces, err = sizeFullFurnaces(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.processing, err = sizeFullProcessing(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.processing2, err = sizeFullProcessing2(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.rocketFuel, err = sizeFullRocketFuel(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.lds, err = sizeFullLDS(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.frames, err = sizeFullFrames(b, milliPacks); err != nil {
		return fs, err
	}
	if fs.sat, err = sizeFullSatParts(b, milliPacks); err != nil {
		return fs, err
	}
	for _, pack := range fullFedPacks {
		p, err := planFullFeed(b, milliPacks, pack)
		if err != nil {
			return fs, err
		}
		c := fullFeedCounts{}
		lines := map[string]*PlanLine{}
		for i := range p.Lines {
			c[p.Lines[i].Task] = p.Lines[i].Machines
			lines[p.Lines[i].Task] = &p.Lines[i]
		}
		fs.lines[pack] = c
		if pack != "logistic-science-pack" {
			continue
		}
		// Iron plate crafts a second (net of the furnaces' productivity) for the
		// circuits, for the gears and for the rest.
		furn, mine := lines["iron-plate"], lines["mine iron-ore"]
		if furn == nil || mine == nil {
			return fs, fmt.Errorf("the logistic row's plan lacks iron plates or iron ore")
		}
		pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
		if err != nil {
			return fs, err
		}
		ore := new(big.Rat).Quo(mine.rate, furn.rate) // ore per plate craft
		rest := new(big.Rat).Set(furn.rate)
		for k, task := range []string{"electronic-circuit", "iron-gear-wheel", ""} {
			crafts := rest
			if task != "" {
				l := lines[task]
				if l == nil {
					return fs, fmt.Errorf("the logistic row's plan lacks %s", task)
				}
				ri, _ := b.Recipe(task)
				var iron int64
				for _, x := range b.Recipes[ri].Ingredients {
					if x.Name == "iron-plate" {
						iron = int64(x.Amount)
					}
				}
				crafts = new(big.Rat).Quo(new(big.Rat).Mul(l.rate, big.NewRat(iron, 1)), pf)
				rest = new(big.Rat).Sub(rest, crafts)
			}
			fs.iron[k].furn = ratCeil(new(big.Rat).Quo(crafts, furn.per))
			fs.iron[k].drills = ratCeil(new(big.Rat).Quo(new(big.Rat).Mul(crafts, ore), mine.per))
		}
	}
	return fs, nil
}

// ratCeil rounds r up.
func ratCeil(r *big.Rat) int {
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if new(big.Rat).SetInt(n).Cmp(r) < 0 {
		n.Add(n, big.NewInt(1))
	}
	return int(n.Int64())
}

// blockCount is how many furnaces and drills one smelting block of a line has.
type blockCount struct{ furn, drills int }

// smeltBlock is where a block of drills and furnaces lies: drills on both sides of
// an ore belt (west), furnaces beside the same belt (east, ending at xE), their output
// inserters putting plates on the plate belt at y = pb. north says the block lies north
// of the plate belt.
type smeltBlock struct {
	north bool
	out   string // the furnaces' output inserters

	pb                 int32
	drills             int
	drillCols, dGaps   []int32
	furnCols, furnGaps []int32
	xd, xs, xE         int32 // west end of the drills, of the furnaces; east end
}

func newSmeltBlock(drills, furnaces int, xE, pb int32, north bool) smeltBlock {
	g := smeltBlock{north: north, pb: pb, drills: drills, xE: xE}
	_, _, fw := columns(0, furnaces)
	g.xs = xE - fw - 1 // the beacon row's last beacon ends at xE-1
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
func (g *smeltBlock) facing() sim.Dir {
	if g.north {
		return sim.South
	}
	return sim.North
}

// away is the direction away from the plate belt.
func (g *smeltBlock) away() sim.Dir {
	if g.north {
		return sim.North
	}
	return sim.South
}

// Rows, counted from the plate belt: output inserters 1, furnaces 2–4, input inserters
// 5, ore belt 6, far drills and the beacon row 7–9; near drills 3–5 west of the
// furnaces.

// patch is the ore under the drills.
func (g *smeltBlock) patch(ore sim.ItemID, amount uint32) sim.Patch {
	x0 := g.drillCols[0]
	x1 := g.drillCols[len(g.drillCols)-1] + 3
	return sim.Patch{Resource: ore, X: x0, Y: g.y(3, 7), W: x1 - x0, H: 7, Amount: amount}
}

func (l *layout) smeltBlock(g *smeltBlock) {
	const (
		drill = "electric-mining-drill"
		furn  = "electric-furnace"
	)
	drillMods := l.modules(drill, true)
	furnMods := l.modules(furn, true)
	near := g.drills - len(g.drillCols)
	for i, x := range g.drillCols {
		l.spec(sim.BuildSpec{Name: drill, X: x, Y: g.y(7, 3), Dir: g.facing(), Modules: drillMods})
		if i < near {
			l.spec(sim.BuildSpec{Name: drill, X: x, Y: g.y(3, 3), Dir: g.away(), Modules: drillMods})
		}
	}
	for _, x := range g.dGaps {
		l.put("substation", x, g.y(7, 2), sim.North)
	}
	for _, x := range g.furnCols {
		l.put(fullOutInserter, x+1, g.y(1, 1), g.away())
		l.spec(sim.BuildSpec{Name: furn, X: x, Y: g.y(2, 3), Modules: furnMods})
		l.put(fullInInserter, x+1, g.y(5, 1), g.away())
	}
	for _, x := range g.furnGaps {
		l.put("substation", x, g.y(2, 2), sim.North)
	}
	last := g.furnCols[len(g.furnCols)-1]
	for x := g.furnCols[0] - 3; x <= last+3; x += 3 {
		l.beacon(x, g.y(7, 3))
	}
	l.belt(fullBelt, g.xd, g.y(6, 1), sim.East, last+3-g.xd)
}

// modules fills every module slot of an entity with productivity-module-3 (prod) or
// speed-module-3.
func (l *layout) modules(entity string, prod bool) []string {
	b := l.s.Bundle()
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

// fullFeedGeom is where one cell's feed lines lie. The automation row's: its
// ingredient belt at y = oy-24, copper north of it, gears and the iron plate belt
// (oy-18) south. The logistic row's, west of those: see fullGreen.
type fullFeedGeom struct {
	copper, iron smeltBlock
	gears        int
	gx0          int32 // west end of the gear section (a beacon)
	xE           int32
	green        fullGreenGeom
}

const (
	fullFeedBeltY  = -24 // the automation row's ingredient belt (its chests' row)
	fullIronBeltY  = -18
	fullGearY      = -22 // gear assemblers, level with the automation row
	fullFeedMargin = 4   // tiles between the feed lines and the cell's rows
	fullGreenBeltY = -12 // the logistic row's ingredient belt (its chests' row)
)

func newFullFeedGeom(fs *fullFeedSizing, ox, oy int32) fullFeedGeom {
	red := fs.lines["automation-science-pack"]
	xE := ox - fullFeedMargin
	g := fullFeedGeom{xE: xE, gears: red["iron-gear-wheel"]}
	g.gx0 = xE - 6*int32(g.gears) - 3
	g.copper = newSmeltBlock(red["mine copper-ore"], red["copper-plate"], xE, oy+fullFeedBeltY, true)
	// The iron furnaces end where the gears begin: every plate they put on the belt
	// passes the gear assemblers' inserters.
	g.iron = newSmeltBlock(red["mine iron-ore"], red["iron-plate"], g.gx0, oy+fullIronBeltY, false)
	g.green = newFullGreenGeom(fs, min(g.copper.xd, g.iron.xd)-fullFeedMargin, oy)
	return g
}

func (g *fullFeedGeom) patches(b *sim.Bundle) []sim.Patch {
	iron, copper, _, _, _ := oreIDs(b)
	return []sim.Patch{g.copper.patch(copper, megaOre), g.iron.patch(iron, megaOre),
		g.green.copper.patch(copper, megaOre), g.green.circIron.patch(iron, megaOre),
		g.green.gearIron.patch(iron, megaOre), g.green.restIron.patch(iron, megaOre)}
}

// fullFeed builds the fed rows' lines; their ingredient belts run to redEnd and
// greenEnd.
func (l *layout) fullFeed(g *fullFeedGeom, ox, oy, redEnd, greenEnd int32) {
	l.smeltBlock(&g.copper)
	l.smeltBlock(&g.iron)
	asmMods := l.modules("assembling-machine-3", true)
	for j := 0; j <= g.gears; j++ {
		x := g.gx0 + 6*int32(j)
		l.beacon(x, oy+fullGearY)
		if j < g.gears {
			l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x + 3, Y: oy + fullGearY, Recipe: "iron-gear-wheel", Modules: asmMods})
			l.put(fullInInserter, x+4, oy+fullFeedBeltY+1, sim.South) // gears -> ingredient belt
			l.put(fullInInserter, x+4, oy+fullIronBeltY-1, sim.South) // iron plates -> gears
		}
	}
	west := min(g.copper.xs, g.gx0)
	l.belt(fullBelt, west, oy+fullFeedBeltY, sim.East, redEnd-west)
	l.belt(fullBelt, g.iron.xs, oy+fullIronBeltY, sim.East, g.xE-g.iron.xs)
	l.fullGreen(&g.green, ox, oy, greenEnd)
}

// The logistic row's lines, west of the automation row's (rows relative to the cell's
// origin, everything flowing east; an express lane carries 22.5 items a second, so
// the iron travels on three lanes):
//
//	-34..-26  copper block, copper plates on belt K (-25)
//	-23..-21  cable assemblers: copper from K, cable onto belt H (-19)
//	-18..-10  iron block for the circuits, iron plates onto H (west of the cables),
//	          and west of it the iron block for the inserter and belt assemblers,
//	          iron plates onto belt F (-9)
//	-17..-15  circuit assemblers: iron and cable from H, circuits straight into
//	-13..-11  inserter assemblers: iron and gears from F
//	-7..-5    gear assemblers (west of the belt assemblers): iron from belt G (-3),
//	          gears onto F
//	-2..6     iron block for the gears, iron plates onto G
//	-8        belt O: inserters (long-handed, over F) and belts from
//	-6..-4    transport-belt assemblers (iron and gears from F, long-handed)
//
// O runs east to the cell, turns north at ox-3 and becomes the logistic row's
// ingredient belt at -12. Every assembler has a beacon on each side; circuit and
// inserter assemblers are paired (direct insertion), so both lines have the same
// count (fullInserterCols).
type fullGreenGeom struct {
	copper, circIron, gearIron, restIron smeltBlock
	cable, gears, circ, belts            int
	gx0, cx0, xW                         int32 // gear/cable section, circuit/inserter/belt section, east end
}

const (
	greenK     = -25
	greenCable = -23
	greenH     = -19
	greenCirc  = -17
	greenIns   = -13
	greenF     = -9
	greenO     = -8
	greenGear  = -7
	greenBelt  = -6
	greenG     = -3
)

// fullInserterCols is how many circuit/inserter assembler pairs the logistic row's
// lines have: the larger of the two plan counts.
func fullInserterCols(c fullFeedCounts) int {
	return max(c["electronic-circuit"], c["inserter"])
}

func newFullGreenGeom(fs *fullFeedSizing, xW, oy int32) fullGreenGeom {
	c := fs.lines["logistic-science-pack"]
	g := fullGreenGeom{cable: c["copper-cable"], gears: c["iron-gear-wheel"],
		circ: fullInserterCols(c), belts: c["transport-belt"], xW: xW}
	nIB := max(g.circ, g.belts)
	g.cx0 = xW - 6*int32(nIB) - 3
	gearEnd := g.cx0 - 2 // a column of substations between the sections
	g.gx0 = gearEnd - 6*int32(max(g.cable, g.gears)) - 3
	g.copper = newSmeltBlock(c["mine copper-ore"], c["copper-plate"], g.gx0, oy+greenK, true)
	ir := &fs.iron
	g.circIron = newSmeltBlock(ir[greenIronCircuits].drills, ir[greenIronCircuits].furn, g.gx0, oy+greenH, false)
	g.gearIron = newSmeltBlock(ir[greenIronGears].drills, ir[greenIronGears].furn, g.gx0, oy+greenG, false)
	g.restIron = newSmeltBlock(ir[greenIronRest].drills, ir[greenIronRest].furn, g.circIron.xd-fullFeedMargin, oy+greenF, true)
	return g
}

func (l *layout) fullGreen(g *fullGreenGeom, ox, oy, rowEnd int32) {
	l.smeltBlock(&g.copper)
	l.smeltBlock(&g.circIron)
	l.smeltBlock(&g.gearIron)
	l.smeltBlock(&g.restIron)
	prod := l.modules("assembling-machine-3", true)
	speed := l.modules("assembling-machine-3", false)
	beacon := func(x, y int32) { l.beacon(x, oy+y) }
	asm := func(x, y int32, recipe string, mods []string) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: oy + y, Recipe: recipe, Modules: mods})
	}
	// Cables and gears.
	n := max(g.cable, g.gears)
	for j := 0; j <= n; j++ {
		x := g.gx0 + 6*int32(j)
		beacon(x, greenCable)
		beacon(x, greenGear)
		l.put("substation", x, oy+greenCirc, sim.North) // links the blocks to the sections
		x += 3
		if j < g.cable {
			asm(x, greenCable, "copper-cable", prod)
			l.put(fullInInserter, x+1, oy+greenCable-1, sim.North) // copper from K
			l.put(fullInInserter, x+2, oy+greenCable+3, sim.North) // cable onto H: an inserter
			l.put(fullInInserter, x, oy+greenCable+3, sim.North)   // puts one a tick, two keep up
		}
		if j < g.gears {
			asm(x, greenGear, "iron-gear-wheel", prod)
			l.put(fullInInserter, x+1, oy+greenGear+3, sim.South) // iron from G
			l.put(fullInInserter, x+2, oy+greenGear-1, sim.South) // gears onto F
		}
	}
	// Circuits into inserters; belts.
	n = max(g.circ, g.belts)
	for j := 0; j <= n; j++ {
		x := g.cx0 + 6*int32(j)
		beacon(x, greenCirc)
		beacon(x, greenIns)
		beacon(x, greenBelt)
		x += 3
		if j < g.circ {
			asm(x, greenCirc, "electronic-circuit", prod)
			// Iron and cable from H: a bulk inserter's hand holds one item type, and a
			// circuit takes three cables, so three of them.
			for dx := int32(0); dx < 3; dx++ {
				l.put(fullInInserter, x+dx, oy+greenCirc-1, sim.North)
			}
			l.put(fullInInserter, x+1, oy+greenCirc+3, sim.North) // circuits into the inserter assembler
			asm(x, greenIns, "inserter", speed)
			l.put(fullInInserter, x+1, oy+greenIns+3, sim.South) // iron and gears from F
			l.put(fullLongInserter, x, oy+greenIns+3, sim.North) // inserters onto O, over F
			l.put(fullLongInserter, x+2, oy+greenIns+3, sim.North)
		}
		if j < g.belts {
			asm(x, greenBelt, "transport-belt", speed)
			l.put(fullLongInserter, x+1, oy+greenBelt-1, sim.North) // iron and gears from F, over O
			l.put(fullLongInserter, x+2, oy+greenBelt-1, sim.North)
			l.put(fullInInserter, x, oy+greenBelt-1, sim.South) // belts onto O
		}
	}
	for _, x := range []int32{g.cx0 - 2, g.xW} {
		for _, y := range []int32{greenCable, greenIns - 1, greenBelt + 1} {
			l.put("substation", x, oy+y, sim.North)
		}
	}
	l.belt(fullBelt, g.copper.xs, oy+greenK, sim.East, g.cx0-2-g.copper.xs)
	l.belt(fullBelt, g.circIron.xs, oy+greenH, sim.East, g.xW-g.circIron.xs)
	l.belt(fullBelt, g.restIron.xs, oy+greenF, sim.East, g.xW-g.restIron.xs)
	l.belt(fullBelt, g.gearIron.xs, oy+greenG, sim.East, g.cx0-2-g.gearIron.xs)
	// O: east to the cell, north at ox-3, east under the logistic row.
	turn := ox - 3
	l.belt(fullBelt, g.cx0, oy+greenO, sim.East, turn-g.cx0)
	l.belt(fullBelt, turn, oy+greenO, sim.North, greenO-fullGreenBeltY)
	l.belt(fullBelt, turn, oy+fullGreenBeltY, sim.East, rowEnd-turn)
}
