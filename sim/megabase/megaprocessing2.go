package megabase

import (
	"github.com/starlane/starlane/sim"

	"math/big"
)

// The second processing-unit line of a megabase-full cell: the processing units of
// its rocket silo's rocket parts and of its satellites (one a rocket), from ore, coal,
// crude oil and water, east of the low-density-structure line. It is two identical
// halves, each laid out as the processing-unit line (megaprocessing.go: four groups
// of cable/circuit pairs, then the processing-unit row, then the oil block, plastic,
// sulfur and acid plants and the advanced-circuit row; the rest starting east of the
// processing-unit row instead of east of the labs) and sized by planPart for half the
// units. One plan for them all asks for fifteen circuit assemblers (91 circuits a
// second: more than the four lanes of the groups' belts carry), three plastic plants
// (the sulfur plant takes the third slot) and three cable assemblers for the advanced
// circuits; half of it fits the layout but for two things: one refinery for two
// pumpjacks (the second pumpjack stands in the second refinery's slot and pipes its
// crude oil to the first, extraJacks) and one cable assembler for the advanced
// circuits, for which the layout has two (KA and KB, each filling one lane of P1).
//
// Each half puts its units on belt SB's north lane (row utilSB, flowing west): belt PU
// comes down the processing-unit row's west edge to row puBack, dives there under
// belts UL, SA and SB (an underground pair to row pu2Stub−1) and turns west along
// row pu2Stub, from which bulk inserters in row pu2Stub−1 drop the units on SB's far
// lane, its north lane (rows oy+36 and oy+37 are free east of the labs: the next
// cell's lines start at its oy−32). SB runs west from the line's east edge to the
// labs' east end, where the silo's belt takes over.

// pu2Halves is how many identical halves the second processing-unit line has.
const pu2Halves = 2

// pu2Stub is the row of the short belt south of SB that each half's inserters take
// its units from, from oy.
const pu2Stub = utilSB + 2

// fullProcessing2Fixed are a half's machine counts the layout is drawn for; sizing
// fails if the plan asks for others. Its cable assemblers for the advanced circuits
// are checked apart (fullProcessing2ACCable).
var fullProcessing2Fixed = map[string]int{
	"advanced-oil-processing": 1, "heavy-oil-cracking": 1, "light-oil-cracking": 2,
	"plastic-bar": 2, "sulfur": 1, "sulfuric-acid": 1, "mine crude-oil": 2, "pump water": 1,
}

// fullProcessing2ACCable is how many cable assemblers a half's plan has for its
// advanced circuits: the layout's two (KA and KB) stand for it.
const fullProcessing2ACCable = 1

// fullProcessing2Rate is how many processing units a second one cell's silo takes
// for its rocket parts and its satellites at fullMarginPct of milliPacks/1000 packs a
// second.
func fullProcessing2Rate(b *sim.Bundle, milliPacks int64) (*big.Rat, error) {
	return fullLaunchRate(b, milliPacks, "processing-unit")
}

// fullLaunchRate is how much of item a second one cell's silo takes for its rocket
// parts and its satellites together at fullMarginPct of milliPacks/1000 packs a
// second.
func fullLaunchRate(b *sim.Bundle, milliPacks int64, item string) (*big.Rat, error) {
	silo, err := fullSiloRate(b, milliPacks, item)
	if err != nil {
		return nil, err
	}
	sat, err := fullSatelliteRate(b, milliPacks, item)
	if err != nil {
		return nil, err
	}
	return silo.Add(silo, sat), nil
}

// planFullProcessing2 plans one half of the second processing-unit line: half of
// fullProcessing2Rate.
func planFullProcessing2(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullProcessing2Rate(b, milliPacks)
	if err != nil {
		return nil, err
	}
	rate.Quo(rate, big.NewRat(pu2Halves, 1))
	return planFeedItem(b, "processing-unit", rate, "the processing units of the silo and the satellites", planChoices{})
}

// sizeFullProcessing2 sizes one half of the second processing-unit line.
func sizeFullProcessing2(b *sim.Bundle, milliPacks int64) (fullProcessingSizing, error) {
	p, err := planFullProcessing2(b, milliPacks)
	if err != nil {
		return fullProcessingSizing{}, err
	}
	return sizeProcessingPlan(b, p, "second processing-unit line", fullProcessing2Fixed, fullProcessing2ACCable,
		"the silo's and the satellites' processing units")
}

// fullProcessing2Geom is where one cell's second processing-unit line lies: its
// halves from west to east, and where each one's rest starts (its labsEnd).
type fullProcessing2Geom struct {
	halves [pu2Halves]fullProcessingGeom
	rest   [pu2Halves]int32
}

// pu2Join is the row of the substation joining a half's processing-unit row to its
// circuits, from oy (rows 6 to 20 east of CB's southward column are free).
const pu2Join = 18

// pu2RestGap is the columns from a half's processing-unit row's east end to where
// its rest starts (its substation at (rest, oy) joining the two).
const pu2RestGap = 6

// newFullProcessing2Geom lays the line out from column x0 eastwards.
func newFullProcessing2Geom(ps *fullProcessingSizing, x0 int32) fullProcessing2Geom {
	var g fullProcessing2Geom
	for h := range g.halves {
		row := newFullProcessingGeom(ps, x0, 0)
		g.rest[h] = row.xEnd + pu2RestGap
		g.halves[h] = newFullProcessingGeom(ps, x0, g.rest[h])
		x0 = g.halves[h].fieldX()
	}
	return g
}

// east is the line's east edge: the lines east of it start east of it, and SB starts
// there.
func (g *fullProcessing2Geom) east() int32 { return g.halves[pu2Halves-1].fieldX() - 1 }

func (g *fullProcessing2Geom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	var ps []sim.Patch
	for h := range g.halves {
		ps = append(ps, g.halves[h].patches(b, oy)...)
	}
	return ps
}

// fullProcessing2 builds the second processing-unit line of a cell at oy and belt SB
// from its east edge west to column sbWest (a line west of it takes SB on from there),
// its units on SB's north lane.
func (l *layout) fullProcessing2(g *fullProcessing2Geom, oy, sbWest int32) {
	y := func(r int32) int32 { return oy + r }
	for h := range g.halves {
		xp := g.halves[h].xp
		l.fullProcessingLine(&g.halves[h], oy, g.rest[h], func() {
			// Under UL, SA and SB to the stub, west along it; two bulk inserters
			// drop the units on SB's north lane (the far lane), a medium pole over
			// the acid row's end reaching one beside them.
			l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xp, Y: y(puBack), Dir: sim.South, Underground: "input"})
			l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xp, Y: y(pu2Stub - 1), Dir: sim.South, Underground: "output"})
			l.belt(fullBelt, xp, y(pu2Stub), sim.West, 4)
			l.put(fullInInserter, xp-1, y(pu2Stub-1), sim.South)
			l.put(fullInInserter, xp-2, y(pu2Stub-1), sim.South)
			l.put("medium-electric-pole", xp-1, y(puAcid-1), sim.North)
			l.put("medium-electric-pole", xp-3, y(pu2Stub-1), sim.North)
		})
		// The processing-unit row's poles joined to the last group's substation (the
		// labs' substations join them in the first line).
		l.put("substation", xp+2, y(pu2Join), sim.North)
	}
	east := g.east()
	l.belt(fullBelt, east, y(utilSB), sim.West, east-sbWest+1)
}
