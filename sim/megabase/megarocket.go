package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The rocket-fuel line of a megabase-full cell: its silo's rocket fuel from crude oil
// and water, in the band south of belt D east of the silo. Sized by planPartWith with
// solid fuel from all three oil products (planChoices) and two beacons a machine. From
// west to east, rows from oy (the rf constants):
//
//   - two rows of machines facing the fluid header along rfHeader between them: the
//     rocket-fuel assemblers, then the solid-fuel plants on light oil, heavy oil and
//     gas, each group on its own stretch of the header; the plants put solid fuel on
//     the belts beyond their inserters (rfSolidN, rfSolidS), which run west under the
//     assemblers, and the assemblers put rocket fuel over them on rfBeltN and rfBeltS,
//     which run to a bulk inserter on the silo's south side;
//   - refineries facing south, pumpjacks north of them on a crude header, water from an
//     offshore pump down under it; their gas, heavy oil and light oil run west along
//     rfGas, rfHeavy and rfLight and come up to their stretches of the header.

// fullSiloRate is how many of item a second a cell's rocket silo takes for its
// rocket parts at fullMarginPct of milliPacks/1000 space science packs a second
// (a launch gives the satellite's launch products; the silo's productivity counted).
func fullSiloRate(b *sim.Bundle, milliPacks int64, item string) (*big.Rat, error) {
	pi, ok := b.Entity("rocket-silo")
	if !ok {
		return nil, fmt.Errorf("the bundle has no rocket-silo")
	}
	p := &b.Entities[pi]
	ri, ok := b.Recipe(p.FixedRecipe)
	if !ok {
		return nil, fmt.Errorf("the bundle has no recipe %s", p.FixedRecipe)
	}
	r := &b.Recipes[ri]
	var need int64
	for _, x := range r.Ingredients {
		if x.Name == item {
			need = int64(x.Amount)
		}
	}
	sat, ok := b.ItemID("satellite")
	if !ok || need == 0 || b.Item(sat).LaunchCount == 0 {
		return nil, fmt.Errorf("the silo's %s takes no %s, or satellites launch nothing", p.FixedRecipe, item)
	}
	pf, err := (&planner{b: b}).prodFactor("rocket-silo", r.Productivity)
	if err != nil {
		return nil, err
	}
	// rockets × parts a rocket / productivity × items a part.
	rate := big.NewRat(milliPacks*fullMarginPct*int64(p.RocketParts)*need, 100*1000*int64(b.Item(sat).LaunchCount))
	return rate.Quo(rate, pf), nil
}

// planFullRocketFuel plans the rocket-fuel line for one cell's silo at
// fullMarginPct of milliPacks/1000 packs a second: solid fuel from all three oil
// products (planChoices), so every fluid the refineries make is used.
func planFullRocketFuel(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullSiloRate(b, milliPacks, "rocket-fuel")
	if err != nil {
		return nil, err
	}
	p, err := planPartWith(b, map[string]*big.Rat{"rocket-fuel": rate}, fullFeedBeacons, fullOilAmount,
		planChoices{solidFuelFromOil: true})
	if err != nil {
		return nil, fmt.Errorf("plan the silo's rocket fuel: %w", err)
	}
	return p, nil
}

// sizeFullRocketFuel sizes the rocket-fuel line: machines per task, as planned.
func sizeFullRocketFuel(b *sim.Bundle, milliPacks int64) (fullFeedCounts, error) {
	p, err := planFullRocketFuel(b, milliPacks)
	if err != nil {
		return nil, err
	}
	c, _, err := planTasks(p, "rocket-fuel line", []string{"rocket-fuel", "advanced-oil-processing",
		"solid-fuel-from-heavy-oil", "solid-fuel-from-light-oil", "solid-fuel-from-petroleum-gas",
		"mine crude-oil", "pump water"}, true)
	if err != nil {
		return nil, err
	}
	if c["pump water"] != 1 || c["mine crude-oil"] > 2*c["advanced-oil-processing"] {
		return nil, fmt.Errorf("the rocket-fuel line is laid out for one offshore pump and at most two pumpjacks a refinery; the plan asks for %d and %d for %d",
			c["pump water"], c["mine crude-oil"], c["advanced-oil-processing"])
	}
	return c, nil
}

// Rows of the rocket-fuel line, from oy (the band south of belt D).
const (
	rfWater  = 22 // water header (refinery part)
	rfJack   = 23 // pumpjacks, facing south
	rfBeltN  = 23 // rocket fuel from the north assemblers; over the plants, their second solid-fuel belt
	rfSolidN = 24 // solid fuel for the north machine row
	rfInsN   = 25 // north row's inserters
	rfRowN   = 26 // north machine row, facing south
	rfCrude  = 26 // crude oil header (refinery part)
	rfRef    = 27 // refineries, facing south
	rfHeader = 29 // fluid inputs of both machine rows
	rfRowS   = 30 // south machine row, facing north
	rfOut    = 32 // refinery outputs: gas, light oil, heavy oil
	rfInsS   = 33 // south row's inserters
	rfSolidS = 34 // solid fuel for the south machine row
	rfGas    = 34 // petroleum gas, east of the machine part
	rfBeltS  = 35 // rocket fuel, south machine row's
	rfHeavy  = 36 // heavy oil
	rfLight  = 38 // light oil
)

// fullRocketFuelX0 is the west edge of the line's first rocket-fuel assembler, east
// of the silo's beacons (the belt to the silo turns south in the column X0-4).
func fullRocketFuelX0(ox int32) int32 { return ox + fullSiloX + 16 }

// fullRocketFuelGeom is where the line's machines stand, west to east.
type fullRocketFuelGeom struct {
	x0                  int32   // first rocket-fuel assembler's west edge
	nRF, nL, nH, nG, nR int     // machines: rocket fuel, solid fuel from light, heavy, gas; refineries
	nJ                  int     // pumpjacks
	xL, xH, xG          int32   // first plant of each solid-fuel group
	c, h, e             int32   // columns where light oil, heavy oil and gas reach the header
	xR                  int32   // first refinery's west edge
	jacks               []int32 // pumpjacks' west edges
}

func newFullRocketFuelGeom(c fullFeedCounts, ox int32) fullRocketFuelGeom {
	g := fullRocketFuelGeom{x0: fullRocketFuelX0(ox), nRF: c["rocket-fuel"], nL: c["solid-fuel-from-light-oil"],
		nH: c["solid-fuel-from-heavy-oil"], nG: c["solid-fuel-from-petroleum-gas"], nR: c["advanced-oil-processing"],
		nJ: c["mine crude-oil"]}
	cols := func(n int) int32 { return int32((n + 1) / 2) }
	g.xL = g.x0 + 6*cols(g.nRF)
	g.c = g.xL + 6*(cols(g.nL)-1) + 3
	g.xH = g.c + 2
	g.h = g.xH + 6*(cols(g.nH)-1) + 3
	g.xG = g.h + 2
	g.e = g.xG + 6*(cols(g.nG)-1) + 3
	g.xR = g.e + 5
	for j := 0; len(g.jacks) < g.nJ; j++ {
		x := g.xR + 8*int32(j/2) + 5*int32(j%2)
		g.jacks = append(g.jacks, x)
	}
	return g
}

// east is the line's last column (the last refinery's east beacon).
func (g *fullRocketFuelGeom) east() int32 { return g.xR + 8*int32(g.nR-1) + 7 }

// patches are the crude-oil tiles under the pumpjacks.
func (g *fullRocketFuelGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	crude, _ := b.ItemID("crude-oil")
	var ps []sim.Patch
	for _, x := range g.jacks {
		ps = append(ps, sim.Patch{Resource: crude, X: x + 1, Y: oy + rfJack + 1, W: 1, H: 1, Amount: fullOilAmount})
	}
	return ps
}

// fullRocketFuel builds the rocket-fuel line of a cell at oy and the belt that
// brings its rocket fuel to the silo at (sx, sy).
func (l *layout) fullRocketFuel(g *fullRocketFuelGeom, oy, sx, sy int32) {
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	pipes := func(x0, r0, x1, r1 int32) { l.pipes(x0, y(r0), x1, y(r1)) }
	under := func(x, rTop, rBottom int32) { l.pipeUnder(x, y(rTop), y(rBottom)) }
	pole := func(x, r int32) { l.put("medium-electric-pole", x, y(r), sim.North) }
	x0 := g.x0

	// Two machine rows either side of the fluid header, a beacon between neighbours in
	// each: the rocket-fuel assemblers, then the solid-fuel plants from light oil,
	// heavy oil and gas, each group on its own stretch of the header.
	asm := l.modules("assembling-machine-3", true)
	chem := l.modules("chemical-plant", true)
	machine := func(x int32, north bool, recipe string) {
		name, mods, r, d := "chemical-plant", chem, int32(rfRowS), sim.North
		if recipe == "rocket-fuel" {
			name, mods = "assembling-machine-3", asm
		}
		if north {
			r, d = rfRowN, sim.South
		}
		l.spec(sim.BuildSpec{Name: name, X: x, Y: y(r), Dir: d, Recipe: recipe, Modules: mods})
		ins, solid, out := int32(rfInsS), sim.South, sim.North
		if north {
			ins, solid, out = rfInsN, sim.North, sim.South
		}
		if recipe == "rocket-fuel" {
			l.put(fullInInserter, x, y(ins), solid)   // solid fuel from its belt
			l.put(fullLongInserter, x+2, y(ins), out) // rocket fuel over it
			return
		}
		l.put(fullOutInserter, x+1, y(ins), out) // solid fuel onto its belt
		if north {
			l.put(fullLongInserter, x+2, y(ins), out) // and onto the belt beyond it
		}
	}
	group := func(x int32, n int, recipe string, beaconsAfter bool) {
		cols := (n + 1) / 2
		for k := 0; k < cols; k++ {
			xk := x + 6*int32(k)
			machine(xk, true, recipe)
			if k < n/2 {
				machine(xk, false, recipe)
			}
			if k < cols-1 || beaconsAfter {
				beacon(xk+3, rfRowN)
				beacon(xk+3, rfRowS)
			}
			// Medium poles on both inserter rows, east of each column.
			pole(xk+4, rfInsN)
			pole(xk+4, rfInsS)
		}
	}
	beacon(x0-3, rfRowN)
	beacon(x0-3, rfRowS)
	group(x0, g.nRF, "rocket-fuel", true)
	group(g.xL, g.nL, "solid-fuel-from-light-oil", false)
	group(g.xH, g.nH, "solid-fuel-from-heavy-oil", false)
	group(g.xG, g.nG, "solid-fuel-from-petroleum-gas", false)
	// The header: light oil from the assemblers to c, heavy oil from xH to h, gas
	// from xG to e; each comes up from its row south of the line.
	pipes(x0+1, rfHeader, g.c, rfHeader)
	pipes(g.xH, rfHeader, g.h, rfHeader)
	pipes(g.xG, rfHeader, g.e, rfHeader)
	pipes(g.c, rfHeader+1, g.c, rfInsS-1)
	under(g.c, rfInsS, rfLight-1)
	pipes(g.h, rfHeader+1, g.h, rfInsS-1)
	under(g.h, rfInsS, rfHeavy-1)
	pipes(g.e, rfHeader+1, g.e, rfGas)

	// Solid fuel west to the assemblers; rocket fuel west to the silo.
	// The north plants fill both lanes of theirs: a fast inserter puts solid fuel on
	// its north lane, a long-handed one on a belt along rfBeltN that flows east and
	// turns round into it, its north lane becoming the south lane. (The south plants
	// fill one lane, about 19 a second.)
	l.belt(fullBelt, g.xL, y(rfBeltN), sim.East, g.e-1-g.xL)
	l.put(fullBelt, g.e-1, y(rfBeltN), sim.South)
	l.belt(fullBelt, g.e-1, y(rfSolidN), sim.West, g.e-x0)
	l.belt(fullBelt, g.e-1, y(rfSolidS), sim.West, g.e-x0)
	xe := g.xL - 4 // the last assembler's long-handed inserters drop here
	l.belt(fullBelt, xe, y(rfBeltN), sim.West, xe-(x0-4))
	l.belt(fullBelt, x0-4, y(rfBeltN), sim.South, sy+9-y(rfBeltN)+1)
	l.belt(fullBelt, x0-4, sy+10, sim.West, x0-4-(sx+8)+1)
	l.belt(fullBelt, xe, y(rfBeltS), sim.West, xe-(x0-5))
	l.belt(fullBelt, x0-5, y(rfBeltS), sim.North, y(rfBeltS)-(sy+10))
	l.put(fullInInserter, sx+8, sy+9, sim.South)

	// Refineries facing south, a beacon each side; pumpjacks north of them (out of
	// the beacons' reach) feed a crude header that hops over the water inputs, which
	// come down under it from the water header.
	ref := l.modules("oil-refinery", true)
	jack := l.modules("pumpjack", true)
	beacon(g.xR-3, rfRef+2)
	for j := 0; j < g.nR; j++ {
		x := g.xR + 8*int32(j)
		l.spec(sim.BuildSpec{Name: "oil-refinery", X: x, Y: y(rfRef), Dir: sim.South, Recipe: "advanced-oil-processing", Modules: ref})
		beacon(x+5, rfRef+2)
		pipes(x, rfCrude, x+1, rfCrude)
		l.put("pipe-to-ground", x+2, y(rfCrude), sim.West)
		l.put("pipe-to-ground", x+4, y(rfCrude), sim.East)
		pipes(x+5, rfCrude, x+7, rfCrude)
		l.put("pipe-to-ground", x+3, y(rfJack), sim.North) // water
		l.put("pipe-to-ground", x+3, y(rfCrude), sim.South)
		// Gas down to its row; light and heavy oil under it to theirs.
		pipes(x, rfOut, x, rfGas-1)
		under(x+2, rfOut, rfLight-1)
		under(x+4, rfOut, rfHeavy-1)
		pole(x+4, rfJack+1)
		pole(x+6, rfOut)
	}
	xl := g.xR + 8*int32(g.nR-1)
	for _, x := range g.jacks {
		l.spec(sim.BuildSpec{Name: "pumpjack", X: x, Y: y(rfJack), Dir: sim.South, Modules: jack})
	}
	pipes(g.xR+3, rfWater, xl+3, rfWater)
	l.put("offshore-pump", xl+4, y(rfWater), sim.East)
	pipes(g.e+1, rfGas, xl, rfGas)
	pipes(g.h, rfHeavy, xl+4, rfHeavy)
	pipes(g.c, rfLight, xl+2, rfLight)

	// The machine rows' poles join the cell's substations west of the line.
	pole(x0-3, rfInsN)
	pole(x0-2, rfInsS)
	l.put("medium-electric-pole", sx+9, sy+9, sim.North)
}
