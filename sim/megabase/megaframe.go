package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The flying-robot-frame line of a megabase-full cell: the utility row's frames from
// ore, crude oil and water. A frame takes an electric engine unit, two batteries, a
// steel plate and three circuits; an electric engine unit an engine unit, two circuits
// and lubricant; a battery iron, copper and sulfuric acid. Sized by planPartWith for
// the row's frames at fullMarginPct with the beacons this layout gives (two for every
// assembler, plant, refinery and steel furnace, three for the smelting blocks'
// furnaces).
//
// Lubricant and sulfur take more heavy oil for each unit of petroleum gas than
// advanced oil processing and cracking can give (the plan's solve asks for heavy-oil
// cracking at a negative rate), so the line's refinery is sized for the heavy oil
// (gasSurplusToSolidFuel): its light oil is all cracked and the gas the sulfur plant
// does not take becomes solid fuel, which boilers burn for steam engines on the cell's
// network. The engines give power only when the solar field gives less than the cell
// asks (sim/DESIGN.md, steam after solar), so the boilers are sized to burn a day's
// solid fuel in the ticks below the day's mean light, and a belt holds what is made
// in the others.

// fullFrameFixed are the frame line's machine counts the layout is drawn for; sizing
// fails if the plan asks for others.
var fullFrameFixed = map[string]int{
	"advanced-oil-processing": 1, "light-oil-cracking": 1, "lubricant": 1, "sulfur": 1, "sulfuric-acid": 1,
	"solid-fuel-from-petroleum-gas": 1, "mine crude-oil": 1, "pump water": 1,
	"electronic-circuit": 1, "copper-cable": 1, "iron-gear-wheel": 1, "pipe": 1,
}

// fullFrameTasks are the tasks the frame line lays out.
var fullFrameTasks = []string{"flying-robot-frame", "electric-engine-unit", "engine-unit", "battery",
	"lubricant", "sulfuric-acid", "sulfur", "solid-fuel-from-petroleum-gas", "advanced-oil-processing",
	"light-oil-cracking", "mine crude-oil", "pump water", "steel-plate", "iron-gear-wheel", "pipe",
	"electronic-circuit", "copper-cable", "copper-plate", "iron-plate", "mine copper-ore", "mine iron-ore"}

// planFullFrames plans the frame line for one cell's utility row at fullMarginPct of
// milliPacks/1000 packs a second.
func planFullFrames(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	return planRowItemWith(b, milliPacks, "utility-science-pack", "flying-robot-frame",
		"the utility row's flying robot frames", planChoices{gasSurplusToSolidFuel: true})
}

// fullFrameSizing is the frame line's machines per task, how its iron is split
// between block A (the steel's) and block B (the rest's), each rounded up, and the
// boilers that burn its solid fuel, one steam engine each.
type fullFrameSizing struct {
	lines   fullFeedCounts
	iron    [2]blockCount
	boilers int
}

// sizeFullFrames sizes the frame line.
func sizeFullFrames(b *sim.Bundle, milliPacks int64) (fullFrameSizing, error) {
	fs := fullFrameSizing{lines: fullFeedCounts{}}
	p, err := planFullFrames(b, milliPacks)
	if err != nil {
		return fs, err
	}
	counts, lines, err := planFixedTasks(p, "frame line", fullFrameTasks, fullFrameFixed, "the utility row's flying robot frames")
	if err != nil {
		return fs, err
	}
	fs.lines = counts
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return fs, err
	}
	iron := lines["iron-plate"]
	forSteel := new(big.Rat).Quo(new(big.Rat).Mul(lines["steel-plate"].rate, big.NewRat(recipeIn(b, "steel-plate", "iron-plate"), 1)), pf)
	copy(fs.iron[:], splitBlocks(iron, lines["mine iron-ore"], forSteel, new(big.Rat).Sub(iron.rate, forSteel)))
	if fs.boilers, err = fullFrameBoilers(b, lines["solid-fuel-from-petroleum-gas"]); err != nil {
		return fs, err
	}
	return fs, nil
}

// fullFrameBoilers is how many boilers, each with one steam engine, burn the solid
// fuel the plan's line sf makes in the ticks of a day below its mean light, when the
// solar field gives less than the cell asks and the steam engines run. A boiler makes
// 60 steam a second at 1.8 MW and an engine takes 30 (900 kW), so each boiler burns at
// half its rate; one engine a boiler keeps the pairs in a row of one engine's height.
func fullFrameBoilers(b *sim.Bundle, sf *PlanLine) (int, error) {
	boiler, err := entityProto(b, "boiler")
	if err != nil {
		return 0, err
	}
	fuel, ok := b.ItemID("solid-fuel")
	if !ok || b.Item(fuel).FuelValue <= 0 || boiler.EnergyUsage <= 0 {
		return 0, fmt.Errorf("the bundle's solid fuel or boiler burns nothing")
	}
	day := b.DayTicks
	light := dayLight(day)
	var steam int64 // ticks below the mean light
	for t := int64(0); t < day; t++ {
		if sim.Daylight(day, uint64(t))*day < light {
			steam++
		}
	}
	if steam == 0 {
		return 0, fmt.Errorf("a day of %d ticks has no tick below its mean light", day)
	}
	pf, err := (&planner{b: b}).prodFactor("chemical-plant", true)
	if err != nil {
		return 0, err
	}
	// Solid fuel a day (crafts a second × productivity × results × day / 60) × fuel
	// value over what a boiler burns in the steam ticks.
	made := new(big.Rat).Mul(sf.rate, pf)
	made.Mul(made, big.NewRat(recipeOut(b, "solid-fuel-from-petroleum-gas", "solid-fuel")*day*b.Item(fuel).FuelValue, sim.TicksPerSecond))
	return ratCeil(made.Quo(made, big.NewRat(steam*boiler.EnergyUsage/2, 1))), nil
}

// The frame line's rows, from oy, and columns, from its west column x0 (the fr
// constants). Everything flows east unless said otherwise.
//
//	−32        water from the offshore pump (x0) to the refinery; the solid-fuel belt,
//	           west over the boilers' fuel inserters (−31)
//	−31..−23   pumpjack over the refinery (facing south, advanced oil processing);
//	           east of them boilers facing south (−30, −29), one steam engine under
//	           each (−28..−24), and the solid-fuel plant facing south (−24..−22),
//	           taking gas straight from the gas row under it
//	−21 −19 −17 petroleum gas, light oil (one tile), heavy oil then lubricant (a
//	           tile apart); the refinery's light and heavy oil reach their rows under
//	           pipe-to-ground pairs
//	−19        sulfuric acid, east of the light oil
//	−15        water, down column x0+1 from the pump
//	−14..−10   the chemical row, facing north, a beacon between neighbours: light
//	           cracker, acid plant, sulfur plant, batteries, lubricant plant, electric
//	           engine assemblers; each input from its row above through a pipe or a
//	           pipe-to-ground pair; the cracker's gas, the acid and the lubricant
//	           come back up to their rows through pipe-to-ground pairs
//	−9, −8     under the chemical row: sulfur (west, to the acid plant), belt P
//	           (copper | iron, −8 then −9) for the acid plant and the batteries, BB
//	           (−8, batteries); EN (−9, engines | electric engines) and F2 (−8,
//	           steel | circuits) from the east end of the batteries to the frames
//	−7..−1     the frame row (−6..−4): electric engines from EN (long-handed) and
//	           steel and circuits from F2 (bulk) on the north side, batteries from
//	           BB (−2) on the south side; frames onto FO (−1), which runs east and
//	           south at the line's east end onto belt UL's north lane (row 33)
//	0, 1       pipes (N0) and gears (N1) from their assemblers to the engine
//	           assemblers; iron for the steel (N1, west from column x0+111)
//	2..6       pipe and gear assemblers (west), engine assemblers and steel furnaces
//	7, 8       M1 = F2 (steel from the furnaces | circuits from the circuit
//	           assembler) and M2 = EN (engines), west and north up columns x0+53 and
//	           x0+52 (under rows 1 to −2) to the chemical row; P west of them
//	10..12     cable and circuit assemblers: copper and iron from P (15, long-handed),
//	           cable on S2 (14); circuits onto M1 (long-handed, over M2)
//	6..24      copper block north of P, iron block B south of it (east of x0+116)
//	24..32     iron block A south of its belt (23), which runs east to column x0+111
const (
	frWater  = -32
	frJack   = -31
	frRef    = -27
	frBoil   = -30
	frEng    = -28
	frSF     = -24
	frGas    = -21
	frLight  = -19
	frHeavy  = -17
	frWater2 = -15
	frChem   = -13
	frIn     = -10 // the chemical row's output row and item inserters
	frEN     = -9
	frF2     = -8
	frFrame  = -6
	frBB     = -2
	frFO     = -1
	frN0     = 0
	frN1     = 1
	frU      = 3
	frM1     = 7
	frM2     = 8
	frL      = 10
	frS2     = 14
	frP      = 15
	frIA     = 23

	frGap    = 51  // BB's southward column; EN's (52) and F2's (53) northward ones
	frPCol   = 14  // P's northward column to the chemical row
	frPTurn  = 45  // P's turn from its row to row 7
	frIACol  = 111 // iron A's northward column to row 1
	frBlocks = 116 // the copper and iron B blocks' west edge (beyond the steel furnaces' beacons)
)

// fullFrameGap is the columns between the frame line's east end (fullFrameGeom.east)
// and the low-density-structure line's west column.
const fullFrameGap = 2

// fullFrameCables is how many cable assemblers the frame line lays out for the plan's
// one (fullFrames).
const fullFrameCables = 2

// fullFrameGeom is where one cell's frame line lies (x absolute, rows from oy).
type fullFrameGeom struct {
	x0                         int32
	eeu, batt, frames, engines int
	steel, boilers             int
	copper, ironB, ironA       smeltBlock
	xEnd                       int32 // FO's southward column, the line's last
}

// newFullFrameGeom lays the frame line out from column x0.
func newFullFrameGeom(fs *fullFrameSizing, x0 int32) fullFrameGeom {
	c := fs.lines
	g := fullFrameGeom{x0: x0, eeu: c["electric-engine-unit"], batt: c["battery"], frames: c["flying-robot-frame"],
		engines: c["engine-unit"], steel: c["steel-plate"], boilers: fs.boilers}
	cu, fe, fa := blockCount{c["copper-plate"], c["mine copper-ore"]}, fs.iron[1], fs.iron[0]
	xE := max(smeltBlockAt(cu.drills, cu.furn, x0+frBlocks, 0, true).xE, smeltBlockAt(fe.drills, fe.furn, x0+frBlocks, 0, false).xE)
	g.copper = newSmeltBlock(cu.drills, cu.furn, xE, 0, true)
	g.ironB = newSmeltBlock(fe.drills, fe.furn, xE, 0, false)
	g.ironA = newSmeltBlock(fa.drills, fa.furn, x0+frIACol-3, 0, false)
	g.xEnd = max(xE, rowEnd(x0+frGap+3, g.frames)) + 3
	return g
}

// east is the line's east end (the low-density-structure line stands east of it;
// belt UL passes FO's end).
func (g *fullFrameGeom) east() int32 { return g.xEnd + 2 }

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullFrameGeom) at(oy int32) fullFrameGeom {
	g.copper.pb = oy + frP
	g.ironB.pb = oy + frP
	g.ironA.pb = oy + frIA
	return g
}

func (g *fullFrameGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, _, _, crude := oreIDs(b)
	h := g.at(oy)
	return []sim.Patch{h.copper.patch(copper, megaOre), h.ironB.patch(iron, megaOre), h.ironA.patch(iron, megaOre),
		{Resource: crude, X: g.x0 + 8, Y: oy + frJack + 1, W: 1, H: 1, Amount: fullOilAmount}}
}

// fullFrames builds the frame line of a cell at oy; its frames reach belt UL at row
// utilUL in column xEnd.
func (l *layout) fullFrames(g0 *fullFrameGeom, oy int32) {
	g := g0.at(oy)
	X := func(dx int32) int32 { return g.x0 + dx }
	y := func(r int32) int32 { return oy + r }
	put := func(name string, dx, r int32, d sim.Dir) { l.put(name, X(dx), y(r), d) }
	pipes := func(dx0, r0, dx1, r1 int32) { l.pipes(X(dx0), y(r0), X(dx1), y(r1)) }
	under := func(dx, rTop, rBottom int32) { l.pipeUnder(X(dx), y(rTop), y(rBottom)) }
	beacon := func(dx, r int32) { l.beacon(X(dx), y(r)) }
	belt := func(dx, r int32, d sim.Dir, n int32) { l.belt(fullBelt, X(dx), y(r), d, n) }
	east := func(dx0, dx1, r int32) { belt(dx0, r, sim.East, dx1-dx0+1) }
	west := func(dx1, dx0, r int32) { belt(dx1, r, sim.West, dx1-dx0+1) }
	north := func(dx, r0, r1 int32) { belt(dx, r0, sim.North, r0-r1+1) }
	south := func(dx, r0, r1 int32) { belt(dx, r0, sim.South, r1-r0+1) }
	ug := func(dx, r int32, d sim.Dir, kind string) {
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: X(dx), Y: y(r), Dir: d, Underground: kind})
	}
	chem := l.modules("chemical-plant", true)
	plant := func(dx, r int32, recipe string, d sim.Dir) {
		l.spec(sim.BuildSpec{Name: "chemical-plant", X: X(dx), Y: y(r), Dir: d, Recipe: recipe, Modules: chem})
	}
	asm := func(dx, r int32, recipe string) {
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: X(dx), Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
	}

	// Oil: pumpjack, refinery, water; the refinery's outputs to their rows.
	put("offshore-pump", 0, frWater, sim.West)
	pipes(1, frWater, 10, frWater)
	pipes(10, frWater+1, 10, frRef-1)
	put("pipe", 9, frRef-1, sim.North)
	pipes(1, frWater+1, 1, frWater2-1)
	l.spec(sim.BuildSpec{Name: "pumpjack", X: X(7), Y: y(frJack), Dir: sim.South, Modules: l.modules("pumpjack", true)})
	put("pipe", 7, frRef-1, sim.North)
	l.spec(sim.BuildSpec{Name: "oil-refinery", X: X(6), Y: y(frRef), Dir: sim.South, Recipe: "advanced-oil-processing",
		Modules: l.modules("oil-refinery", true)})
	beacon(3, frRef+2)
	beacon(11, frRef+2)
	put("pipe", 6, frRef+5, sim.North) // gas, onto the gas row
	under(8, frRef+5, frLight-1)
	put("pipe", 8, frLight, sim.North)
	under(10, frRef+5, frHeavy-1)

	// Boilers facing south, one steam engine under each, water along their top row
	// from the refinery's water column; the solid-fuel plant east of them on the gas
	// row, its fuel north and west along the top row over the boilers' inserters.
	pipes(11, frBoil, 15, frBoil)
	for k := 0; k < g.boilers; k++ {
		bx := 16 + 3*int32(k)
		l.spec(sim.BuildSpec{Name: "boiler", X: X(bx), Y: y(frBoil), Dir: sim.South})
		put("steam-engine", bx, frEng, sim.North)
		put(fullOutInserter, bx+1, frBoil-1, sim.North)
	}
	sx := 16 + 3*int32(g.boilers) + 5
	plant(sx, frSF, "solid-fuel-from-petroleum-gas", sim.South)
	beacon(sx-3, frSF)
	beacon(sx+3, frSF)
	put(fullOutInserter, sx+1, frSF-1, sim.South)
	north(sx+1, frSF-2, frWater+1)
	west(sx+1, 16, frWater)
	for _, dx := range []int32{18, 36, 54, sx + 6} {
		put("substation", dx, frSF+1, sim.North)
	}
	pipes(5, frGas, sx+2, frGas)

	// The chemical row.
	type slot struct {
		recipe string
		n      int
	}
	slots := []slot{{"light-oil-cracking", 1}, {"sulfuric-acid", 1}, {"sulfur", 1}, {"battery", g.batt},
		{"lubricant", 1}, {"electric-engine-unit", g.eeu}}
	var xs []int32
	var recipes []string
	for _, s := range slots {
		for range s.n {
			xs = append(xs, 6+6*int32(len(xs)))
			recipes = append(recipes, s.recipe)
		}
	}
	first := func(recipe string) int32 {
		for i, r := range recipes {
			if r == recipe {
				return xs[i]
			}
		}
		return 0
	}
	last := func(recipe string) int32 {
		var x int32
		for i, r := range recipes {
			if r == recipe {
				x = xs[i]
			}
		}
		return x
	}
	machineRow(X(3), len(xs), func(x int32) { l.beacon(x, y(frChem)) }, func(j int, _ int32) {
		x := xs[j]
		switch recipes[j] {
		case "electric-engine-unit":
			asm(x, frChem, recipes[j])
			under(x+1, frHeavy+1, frChem-1)                     // lubricant
			put("medium-electric-pole", x, frChem-1, sim.North) // beside the pipe
			put(fullOutInserter, x, frIn, sim.North)            // electric engines onto EN
			put(fullInInserter, x+1, frIn, sim.South)           // engines from EN
			put(fullLongInserter, x+2, frIn, sim.South)         // circuits from F2
			return
		}
		plant(x, frChem, recipes[j], sim.North)
		put("medium-electric-pole", x+1, frChem-1, sim.North)
		switch recipes[j] {
		case "light-oil-cracking":
			put("pipe", x, frChem-1, sim.North) // water
			under(x+2, frLight+1, frChem-1)     // light oil
			// Its gas back up to the gas row.
			pipes(x, frIn, x, frEN)
			put("pipe", x-1, frEN, sim.North)
			under(x-1, frGas+1, frIn)
		case "sulfuric-acid":
			put("pipe", x, frChem-1, sim.North)         // water
			put(fullInInserter, x+1, frIn, sim.South)   // sulfur
			put(fullLongInserter, x+2, frIn, sim.South) // iron from P
			// The acid up to its row.
			pipes(x, frIn, x, frEN)
			put("pipe", x-1, frEN, sim.North)
			under(x-1, frLight+1, frIn)
		case "sulfur":
			put("pipe", x, frChem-1, sim.North) // water
			under(x+2, frGas+1, frChem-1)       // gas
			put(fullOutInserter, x+1, frIn, sim.North)
			west(x+1, first("sulfuric-acid")+1, frEN)
		case "battery":
			under(x, frLight+1, frChem-1)               // acid
			put(fullInInserter, x+1, frIn, sim.South)   // copper and iron from P
			put(fullLongInserter, x+2, frIn, sim.North) // batteries onto BB
		case "lubricant":
			under(x, frHeavy+1, frChem-1) // heavy oil
			// The lubricant up to its row.
			pipes(x, frIn, x, frEN)
			pipes(x+1, frEN, x+2, frEN)
			under(x+2, frHeavy+1, frIn)
		}
	})
	pipes(1, frWater2, first("sulfur"), frWater2)
	pipes(first("sulfuric-acid")-1, frLight, last("battery"), frLight)
	pipes(10, frHeavy, first("lubricant"), frHeavy)
	pipes(first("lubricant")+2, frHeavy, last("electric-engine-unit")+1, frHeavy)

	// P: north up column 14 to row −8, east past the acid plant, up to row −9 under the
	// batteries. BB: the batteries east and south at the gap to row −2.
	pTurn := first("battery") - 1
	north(frPCol, frM1, frF2+1)
	east(frPCol, pTurn-1, frF2)
	put(fullBelt, pTurn, frF2, sim.North)
	east(pTurn, last("battery")+1, frEN)
	east(first("battery")+2, frGap-1, frF2)
	south(frGap, frF2, frBB-1)
	x1 := X(frGap+3) + 6*int32(g.frames-1) + 3 // the last frame assembler
	east(frGap, x1+1-g.x0, frBB)

	// The frame row.
	machineRow(X(frGap+3), g.frames, func(x int32) { l.beacon(x, y(frFrame)) }, func(_ int, x int32) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(frFrame), Recipe: "flying-robot-frame",
			Modules: l.modules("assembling-machine-3", true)})
		l.put(fullLongInserter, x, y(frFrame-1), sim.North) // electric engines from EN
		l.put(fullInInserter, x+1, y(frFrame-1), sim.North) // steel and circuits from F2
		l.put("medium-electric-pole", x+2, y(frFrame-1), sim.North)
		l.put(fullInInserter, x+1, y(frFrame+3), sim.South)   // batteries from BB
		l.put(fullLongInserter, x+2, y(frFrame+3), sim.North) // frames onto FO
		l.put("medium-electric-pole", x, y(frFrame+3), sim.North)
	})
	l.belt(fullBelt, X(frGap+3)+5, y(frFO), sim.East, g.xEnd-X(frGap+3)-5)
	l.belt(fullBelt, g.xEnd, y(frFO), sim.South, utilUL-frFO)

	// EN and F2: from M2 and M1, north up columns 52 and 53, under rows 1 to −2, and
	// east under the electric engine assemblers and the frame row.
	for _, c := range []struct{ dx, from, to int32 }{{frGap + 1, frM2, frEN}, {frGap + 2, frM1, frF2}} {
		north(c.dx, c.from, frU)
		ug(c.dx, frU-1, sim.North, "input")
		ug(c.dx, frBB-1, sim.North, "output")
		north(c.dx, frBB-2, c.to+1)
		l.belt(fullBelt, X(c.dx), y(c.to), sim.East, x1+2-X(c.dx))
	}

	// The street: pipe and gear assemblers (west of the gap), engine assemblers and
	// steel furnaces (east of it) over M1 and M2; cable and circuit assemblers under them.
	machineRow(X(24), 2, func(x int32) { l.beacon(x, y(frU)) }, func(j int, x int32) {
		recipe := []string{"pipe", "iron-gear-wheel"}[j]
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(frU), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
		l.put(fullInInserter, x+1, y(frU+3), sim.South) // iron from P
		if j == 0 {
			l.put(fullLongInserter, x, y(frU-1), sim.South) // pipes onto N0
		} else {
			l.put(fullOutInserter, x+1, y(frU-1), sim.South) // gears onto N1
		}
		l.put("medium-electric-pole", x+2, y(frU-1), sim.North)
		l.put("medium-electric-pole", x+2, y(frU+3), sim.North)
	})
	xe := X(frGap + 3)
	machineRow(xe, g.engines+g.steel, func(x int32) { l.beacon(x, y(frU)) }, func(j int, x int32) {
		if j < g.engines {
			asm(x-g.x0, frU, "engine-unit")
			l.put(fullLongInserter, x, y(frU-1), sim.North) // pipes from N0
			l.put(fullInInserter, x+1, y(frU-1), sim.North) // gears from N1
			l.put(fullLongInserter, x, y(frU+3), sim.North) // engines onto M2
			l.put(fullInInserter, x+1, y(frU+3), sim.South) // steel from M1
		} else {
			l.spec(sim.BuildSpec{Name: "electric-furnace", X: x, Y: y(frU), Modules: l.modules("electric-furnace", true)})
			l.put(fullInInserter, x+1, y(frU-1), sim.North)  // iron from N1
			l.put(fullOutInserter, x+1, y(frU+3), sim.North) // steel onto M1
		}
		l.put("medium-electric-pole", x+2, y(frU-1), sim.North)
		l.put("medium-electric-pole", x+2, y(frU+3), sim.North)
	})
	lastEngine := xe + 6*int32(g.engines-1) + 3
	lastSteel := xe + 6*int32(g.engines+g.steel-1) + 3
	l.belt(fullBelt, X(27), y(frN0), sim.East, lastEngine-X(27)+1)
	l.belt(fullBelt, X(34), y(frN1), sim.East, lastEngine+1-X(34)+1)
	l.belt(fullBelt, lastSteel+1, y(frM1), sim.West, lastSteel+1-X(frGap+2))
	l.belt(fullBelt, lastEngine, y(frM2), sim.West, lastEngine-X(frGap+1))
	// Two cable assemblers fill S2 (14) and the circuit assembler takes from it: a
	// bulk inserter puts about 12 items a second on a belt and the circuit assembler
	// takes 15.5 cables. All take plates from P (15) with two long-handed inserters.
	machineRow(xe, fullFrameCables+1, func(x int32) { l.beacon(x, y(frL)) }, func(j int, x int32) {
		l.put(fullLongInserter, x, y(frL+3), sim.South) // copper or iron from P
		l.put(fullLongInserter, x+2, y(frL+3), sim.South)
		if j < fullFrameCables {
			asm(x-g.x0, frL, "copper-cable")
			l.put(fullInInserter, x+1, y(frL+3), sim.North) // cable onto S2
			return
		}
		asm(x-g.x0, frL, "electronic-circuit")
		l.put(fullInInserter, x+1, y(frL+3), sim.South) // cable from S2
		for dx := int32(0); dx < 3; dx++ {              // circuits onto M1, over M2: 7.2 a second
			l.put(fullLongInserter, x+dx, y(frL-1), sim.South)
		}
	})
	l.belt(fullBelt, xe+4, y(frS2), sim.East, 6*fullFrameCables+1)
	l.put("substation", xe+12, y(frS2+2), sim.North)

	// The blocks: copper and iron B on P, which runs west beyond the cable and circuit
	// assemblers, north at column 45 to row 7 and west under the pipe and gear
	// assemblers to column 14; iron A on its belt east to column 111, north (under P)
	// and west along row 1 to the steel furnaces.
	l.smeltBlock(&g.copper)
	l.smeltBlock(&g.ironB)
	l.smeltBlock(&g.ironA)
	pEnd := max(g.copper.furnCols[len(g.copper.furnCols)-1], g.ironB.furnCols[len(g.ironB.furnCols)-1]) + 2
	l.belt(fullBelt, pEnd, y(frP), sim.West, pEnd-X(frPTurn))
	north(frPTurn, frP, frM1+1)
	west(frPTurn, frPCol+1, frM1)
	l.belt(fullBelt, g.ironA.xs, y(frIA), sim.East, X(frIACol)-g.ironA.xs)
	north(frIACol, frIA, frP+2)
	ug(frIACol, frP+1, sim.North, "input")
	ug(frIACol, frP-1, sim.North, "output")
	north(frIACol, frP-2, frN1+1) // S2 ends west of the column
	l.belt(fullBelt, X(frIACol), y(frN1), sim.West, X(frIACol)-(xe+6*int32(g.engines)+4)+1)

	// Substations joining the parts: west of everything (to the processing-unit
	// line), between the rows and east of them (to the solar field).
	for _, p := range [][2]int32{{2, -6}, {2, 10}, {16, -6}, {16, 10}, {34, -6}, {40, 10}, {frGap - 3, 10}, {frGap - 3, 18},
		{frIACol + 2, -12}, {frIACol + 2, 8}, {frIACol - 2, 20}, {4, -30}, {46, -6}} {
		put("substation", p[0], p[1], sim.North)
	}
	for _, r := range []int32{-18, 0, 16} {
		l.put("substation", g.xEnd+1, y(r), sim.North)
	}
}
