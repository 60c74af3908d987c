package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The rocket-fuel line of a megabase-full cell: its silo's and its satellite
// assembler's rocket fuel from crude oil and water, in the band south of belt D west of
// the silo (megasilo.go). Sized by planPartWith with solid fuel from all three oil
// products (planChoices) and two beacons a machine. From west to east, rows from oy
// (the rf constants):
//
//   - refineries facing south, pumpjacks north of them on a crude header, water from an
//     offshore pump down under it; their gas, heavy oil and light oil run east along
//     rfGas, rfHeavy and rfLight and come up to their stretches of the header;
//   - two rows of machines facing the fluid header along rfHeader between them: the
//     solid-fuel plants on gas, heavy oil and light oil, each group on its own stretch
//     of the header, then the rocket-fuel assemblers, nearest the silo; the plants put
//     solid fuel on the belts beyond their inserters (rfSolidN, rfSolidS), which run
//     east under the assemblers, and the assemblers put rocket fuel over them on
//     rfBeltN and rfBeltS, which run east past the line's end, join, and take the
//     rocket fuel under belts UL and PU to the silo's west side (fullSilo).
//
// The line is the mirror image of the one that stood east of the silo when the silo
// stood west of the rows: the refineries are not mirrored (a refinery's inputs and
// outputs are not symmetric), only their place and the way their pipes run.

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

// planFullRocketFuel plans the rocket-fuel line for one cell's silo and satellite
// assembler at fullMarginPct of milliPacks/1000 packs a second: solid fuel from all
// three oil products (planChoices), so every fluid the refineries make is used.
func planFullRocketFuel(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullSiloRate(b, milliPacks, "rocket-fuel")
	if err != nil {
		return nil, err
	}
	sat, err := fullSatelliteRate(b, milliPacks, "rocket-fuel")
	if err != nil {
		return nil, err
	}
	rate.Add(rate, sat)
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
	rfGas    = 34 // petroleum gas, west of the machine part (refinery part)
	rfBeltS  = 35 // rocket fuel, south machine row's; on east to the silo
	rfHeavy  = 36 // heavy oil
	rfLight  = 38 // light oil
)

// fullRocketFuelGeom is where the line's machines stand, west to east.
type fullRocketFuelGeom struct {
	nRF, nL, nH, nG, nR int     // machines: rocket fuel, solid fuel from light, heavy, gas; refineries
	nJ                  int     // pumpjacks
	xR                  int32   // first refinery's west edge
	e, h, c             int32   // columns where gas, heavy oil and light oil reach the header
	xG, xH, xL          int32   // first plant of each solid-fuel group
	x0                  int32   // first rocket-fuel assembler's west edge
	merge               int32   // the column where rfBeltN comes down to rfBeltS, east of the line
	jacks               []int32 // pumpjacks' west edges
}

// newFullRocketFuelGeom places the line so that rfBeltN comes down column merge,
// just east of its last beacon.
func newFullRocketFuelGeom(c fullFeedCounts, merge int32) fullRocketFuelGeom {
	g := fullRocketFuelGeom{nRF: c["rocket-fuel"], nL: c["solid-fuel-from-light-oil"],
		nH: c["solid-fuel-from-heavy-oil"], nG: c["solid-fuel-from-petroleum-gas"], nR: c["advanced-oil-processing"],
		nJ: c["mine crude-oil"]}
	cols := func(n int) int32 { return int32((n + 1) / 2) }
	// From a west edge at 0, then shifted: the refineries (a beacon west of the first,
	// one east of each), a free column, each group's riser west of its plants, a beacon
	// west of each rocket-fuel assembler and one east of the last.
	g.xR = 3
	g.e = g.xR + 8*int32(g.nR-1) + 7 + 2
	g.xG = g.e + 1
	g.h = g.xG + 6*(cols(g.nG)-1) + 2 + 2
	g.xH = g.h + 1
	g.c = g.xH + 6*(cols(g.nH)-1) + 2 + 2
	g.xL = g.c + 1
	g.x0 = g.xL + 6*(cols(g.nL)-1) + 2 + 4
	d := merge - 1 - g.east()
	g.xR, g.e, g.xG, g.h, g.xH, g.c, g.xL, g.x0 = g.xR+d, g.e+d, g.xG+d, g.h+d, g.xH+d, g.c+d, g.xL+d, g.x0+d
	g.merge = merge
	for j := 0; len(g.jacks) < g.nJ; j++ {
		x := g.xR + 8*int32(j/2) + 5*int32(j%2)
		g.jacks = append(g.jacks, x)
	}
	return g
}

// lastRF is the last (easternmost) rocket-fuel assembler's west edge.
func (g *fullRocketFuelGeom) lastRF() int32 { return g.x0 + 6*int32((g.nRF+1)/2-1) }

// east is the line's last column (the last rocket-fuel assembler's east beacon).
func (g *fullRocketFuelGeom) east() int32 { return g.lastRF() + 5 }

// west is the line's first column (the first refinery's west beacon).
func (g *fullRocketFuelGeom) west() int32 { return g.xR - 3 }

// patches are the crude-oil tiles under the pumpjacks.
func (g *fullRocketFuelGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	crude, _ := b.ItemID("crude-oil")
	var ps []sim.Patch
	for _, x := range g.jacks {
		ps = append(ps, sim.Patch{Resource: crude, X: x + 1, Y: oy + rfJack + 1, W: 1, H: 1, Amount: fullOilAmount})
	}
	return ps
}

// fullRocketFuel builds the rocket-fuel line of a cell at oy and its belts east to
// column x, where rfBeltS turns north (the silo's rocket-fuel belt, fullSilo).
func (l *layout) fullRocketFuel(g *fullRocketFuelGeom, oy, x int32) {
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	pipes := func(x0, r0, x1, r1 int32) { l.pipes(x0, y(r0), x1, y(r1)) }
	under := func(x, rTop, rBottom int32) { l.pipeUnder(x, y(rTop), y(rBottom)) }
	pole := func(x, r int32) { l.put("medium-electric-pole", x, y(r), sim.North) }

	// Two machine rows either side of the fluid header, a beacon between neighbours in
	// each: the solid-fuel plants from gas, heavy oil and light oil, each group on its
	// own stretch of the header, then the rocket-fuel assemblers.
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
	group := func(x int32, n int, recipe string, beaconsBefore bool) {
		cols := (n + 1) / 2
		for k := 0; k < cols; k++ {
			xk := x + 6*int32(k)
			machine(xk, true, recipe)
			if k < n/2 {
				machine(xk, false, recipe)
			}
			if k > 0 || beaconsBefore {
				beacon(xk-3, rfRowN)
				beacon(xk-3, rfRowS)
			}
			// Medium poles on both inserter rows, west of each column.
			pole(xk-2, rfInsN)
			pole(xk-2, rfInsS)
		}
	}
	group(g.xG, g.nG, "solid-fuel-from-petroleum-gas", false)
	group(g.xH, g.nH, "solid-fuel-from-heavy-oil", false)
	group(g.xL, g.nL, "solid-fuel-from-light-oil", false)
	group(g.x0, g.nRF, "rocket-fuel", true)
	xk := g.lastRF()
	beacon(xk+3, rfRowN)
	beacon(xk+3, rfRowS)
	// The header: gas from e over its plants, heavy oil from h, light oil from c to
	// the last assembler; each comes up from its row south of the line.
	pipes(g.e, rfHeader, g.h-2, rfHeader)
	pipes(g.h, rfHeader, g.c-2, rfHeader)
	pipes(g.c, rfHeader, xk+1, rfHeader)
	pipes(g.c, rfHeader+1, g.c, rfInsS-1)
	under(g.c, rfInsS, rfLight-1)
	pipes(g.h, rfHeader+1, g.h, rfInsS-1)
	under(g.h, rfInsS, rfHeavy-1)
	pipes(g.e, rfHeader+1, g.e, rfGas)

	// Solid fuel east to the assemblers; rocket fuel east to the silo. The north
	// plants fill both lanes of theirs: a fast inserter puts solid fuel on its north
	// lane, a long-handed one on a belt along rfBeltN that flows west and turns round
	// into it, its north lane becoming the south lane. (The south plants fill one
	// lane, about 19 a second.)
	lEnd := g.x0 - 4 // the last light plant's long-handed inserter drops here
	l.belt(fullBelt, lEnd, y(rfBeltN), sim.West, lEnd-g.e-1)
	l.put(fullBelt, g.e+1, y(rfBeltN), sim.South)
	l.belt(fullBelt, g.e+1, y(rfSolidN), sim.East, xk-g.e)
	l.belt(fullBelt, g.e+1, y(rfSolidS), sim.East, xk-g.e)
	// Rocket fuel: rfBeltN east past the line and down column merge onto rfBeltS's
	// north lane; rfBeltS east along its row to x, past belts UL and PU, which turn
	// north further west.
	xs := g.x0 + 2 // the first assembler's long-handed inserters drop here
	l.belt(fullBelt, xs, y(rfBeltN), sim.East, g.merge-xs)
	l.belt(fullBelt, g.merge, y(rfBeltN), sim.South, rfBeltS-rfBeltN)
	l.belt(fullBelt, xs, y(rfBeltS), sim.East, x-xs)

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
	pipes(g.xR, rfGas, g.e-1, rfGas)
	pipes(g.xR+4, rfHeavy, g.h, rfHeavy)
	pipes(g.xR+2, rfLight, g.c, rfLight)

	// A pole for the first refinery's west beacon. The machine rows' poles join the
	// silo's substation east of the line (fullSilo): two in the last beacon's column,
	// one beside column merge.
	pole(g.xR-2, rfOut)
	pole(xk+4, rfInsN)
	pole(xk+4, rfInsS)
	pole(g.merge+1, rfHeader+1)
}
