package megabase

import (
	"github.com/starlane/starlane/sim"
)

// The rocket silo of a megabase-full cell and the assembler that makes its
// satellites, both fed from belts. The silo stands in the band south of belt D east
// of belt PU's northward column (fullSiloWest: sx, rows 22 to 30), where the belts it
// needs pass by: belt D (row 20) north of it, flowing east to the turn column and the
// labs; belt PU (row 32) and belt UL (row 33) south of it, flowing west; belts SA
// (row 34) and SB (row 35), which bring the satellite's and the silo's other
// ingredients from east of the labs, south of those. Columns from sx, rows from oy:
//
//	sx-8        a substation between UL's and PU's northward columns (rows 27, 28)
//	sx-5..sx-3  three beacons west of the silo (rows 22, 25, 28); three more north of
//	            it (columns sx, sx+3, sx+6, rows 17 to 19, over belt D and the
//	            output inserters), where one of the utility row's gap beacons stood
//	            (east of the row's last machine they reach nothing): its east side
//	            takes its processing units and satellites
//	sx-2        the rocket-fuel belt: the rocket-fuel line's rfBeltS (row 35) turns
//	            north here, passes under UL and PU (rows 34 to 31) and runs up the
//	            silo's west side, then east along row 21 (under the silo's output
//	            inserters) and down column sx+11 to row 25, beside the satellite
//	            assembler's inserter
//	sx-1        bulk inserters: rocket fuel into the silo (rows 23 and 27)
//	sx..sx+8    the silo; row 21 above it three fast inserters putting space science
//	            on belt D's north lane, as before; row 31 below it six long-handed
//	            inserters taking low density structures from UL's south lane over
//	            PU, and two medium poles
//	sx+9        bulk inserters: processing units from SB into the silo (rows 23, 24,
//	            26); a fast inserter putting satellites into it (row 29)
//	sx+10       SB's last run, north (rows 26 to 23)
//	sx+10..12   the satellite assembler (rows 28 to 30): low density structures from
//	            UL (row 31, long-handed), processing units and radars from SB's run
//	            west along row 26 and rocket fuel from the end of its belt in row 25
//	            (row 27, a fast and a long-handed inserter), solar panels and
//	            accumulators from SA (column sx+13, two long-handed over SB); a beacon
//	            north of it (sx+12, rows 23 to 25)
//	sx+14       SB, north from under UL and PU (rows 31 to 27), then west along row 26
//	sx+15       SA, north from under UL and PU (rows 31 to 29)
//	sx+16       a substation (rows 25, 26)
//
// SA and SB come up from their rows with underground belts: a belt cannot turn north
// out of row 34 or 35 into UL's or PU's row, so each jogs one row south and enters a
// northward underground belt from behind (side-loading into an underground belt would
// put both of its lanes on one). SB leaves its row east of SA's jog and runs west
// along row 36 under it; SA's jog passes over SB's underground. Turns keep lanes: SB's
// processing units (north lane) ride the east and then north lane of its last runs,
// its radars the west and south lanes; SA's solar panels and accumulators both go to
// the satellite assembler. Every lane ends at the machines that take its item: the
// processing units at the silo's inserters (the satellite assembler takes them on the
// way), radars, solar panels and accumulators at the satellite assembler, the rocket
// fuel at the satellite assembler's inserter (the silo's take it on the way), the low
// density structures on UL, which goes on to the utility row (fullUtilityUL).
const (
	siloTop = 22 // the silo's top row (rows 22 to 30)
	siloIns = 31 // the row of inserters under the silo and the satellite assembler
	siloSat = 28 // the satellite assembler's top row (rows 28 to 30)
	siloJog = 36 // SB's run west under SA's jog
)

// fullSiloWest is the silo's west edge in a cell at ox: east of belt PU's northward
// column (fullFMColumn + utilC2), its west beacons and rocket-fuel belt between.
func fullSiloWest(sz *fullSizing, ox int32) int32 { return fullFMColumn(sz, ox) + utilC2 + 6 }

// fullRocketFuelMerge is the column where the rocket-fuel line's two belts join, just
// east of the line and west of belt UL's northward column (fullFMColumn + utilC1).
func fullRocketFuelMerge(sz *fullSizing, ox int32) int32 { return fullFMColumn(sz, ox) + utilC1 - 2 }

// fullSilo builds a cell's rocket silo at (sx, oy+22), its satellite assembler, the
// rocket-fuel belt from column sx-2 (where the rocket-fuel line's rfBeltS arrives
// along row 35) and belts SA and SB from column east (the labs' east end) west to
// them.
func (l *layout) fullSilo(sx, oy, east int32) {
	y := func(r int32) int32 { return oy + r }
	belt := func(x, r int32, d sim.Dir, n int32) { l.belt(fullBelt, x, y(r), d, n) }
	under := func(xIn, rIn, xOut, rOut int32, d sim.Dir) {
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xIn, Y: y(rIn), Dir: d, Underground: "input"})
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xOut, Y: y(rOut), Dir: d, Underground: "output"})
	}
	b := l.s.Bundle()

	l.spec(sim.BuildSpec{Name: "rocket-silo", X: sx, Y: y(siloTop), Modules: l.modules("rocket-silo", true)})
	for _, d := range []int32{0, 3, 6} {
		l.beacon(sx-5, y(siloTop+d)) // west
		l.beacon(sx+d, y(siloTop-5)) // north, over belt D
	}
	for _, dx := range []int32{1, 3, 5} {
		l.put(fullOutInserter, sx+dx, y(siloTop-1), sim.South) // space science onto D
	}
	for _, dx := range []int32{0, 1, 2, 6, 7, 8} {
		l.put(fullLongInserter, sx+dx, y(siloIns), sim.South) // structures from UL
	}

	// Rocket fuel: north from rfBeltS's row under UL and PU, up the silo's west side,
	// east along row 21 under the output inserters and down to row 25, where the
	// satellite assembler's inserter takes it (the belt's last tile turns east so
	// that it ends against nothing).
	rf := sx - 2
	l.put(fullBelt, rf, y(rfBeltS), sim.North)
	under(rf, utilSA, rf, siloIns, sim.North)
	belt(rf, siloIns-1, sim.North, siloIns-siloTop)
	l.put(fullBelt, rf, y(siloTop-1), sim.East)
	under(rf+1, siloTop-1, sx+8, siloTop-1, sim.East)
	belt(sx+9, siloTop-1, sim.East, 2)
	belt(sx+11, siloTop-1, sim.South, 4)
	l.put(fullBelt, sx+11, y(siloTop+3), sim.East)
	for _, r := range []int32{siloTop + 1, siloTop + 5} {
		l.put(fullInInserter, sx-1, y(r), sim.West)
	}

	// The satellite assembler, east of the silo.
	ri, _ := b.Recipe("satellite")
	a := sx + 10
	l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: a, Y: y(siloSat), Recipe: "satellite",
		Modules: l.modules("assembling-machine-3", b.Recipes[ri].Productivity)})
	l.put(fullOutInserter, sx+9, y(siloSat+1), sim.East)  // satellites into the silo
	l.put(fullLongInserter, a+1, y(siloIns), sim.South)   // structures from UL
	l.put(fullOutInserter, a, y(siloSat-1), sim.North)    // units and radars from SB
	l.put(fullLongInserter, a+1, y(siloSat-1), sim.North) // rocket fuel
	l.put(fullLongInserter, a+3, y(siloSat+1), sim.East)  // panels and accumulators from SA
	l.put(fullLongInserter, a+3, y(siloSat+2), sim.East)  // (two: about two items a second)
	l.beacon(a+2, y(siloTop+1))

	// SB: west along row 35, south and west along row 36, north under SA's row, UL
	// and PU, up column sx+14, west along row 26 over the satellite assembler and up
	// column sx+10 beside the silo's processing-unit inserters.
	belt(east, utilSB, sim.West, east-(sx+17))
	l.put(fullBelt, sx+17, y(utilSB), sim.South)
	belt(sx+17, siloJog, sim.West, 3)
	l.put(fullBelt, sx+14, y(siloJog), sim.North)
	under(sx+14, utilSB, sx+14, siloIns, sim.North)
	belt(sx+14, siloIns-1, sim.North, siloIns-1-(siloSat-2))
	belt(sx+14, siloSat-2, sim.West, 4)
	belt(sx+10, siloSat-2, sim.North, 4)
	for _, r := range []int32{siloTop + 1, siloTop + 2, siloTop + 4} {
		l.put(fullInInserter, sx+9, y(r), sim.East)
	}
	// SA: west along row 34, south into row 35 and north under UL and PU, up column
	// sx+15 to the satellite assembler's long-handed inserters.
	belt(east, utilSA, sim.West, east-(sx+16))
	l.put(fullBelt, sx+16, y(utilSA), sim.South)
	l.put(fullBelt, sx+16, y(utilSB), sim.West)
	l.put(fullBelt, sx+15, y(utilSB), sim.North)
	under(sx+15, utilSA, sx+15, siloIns, sim.North)
	belt(sx+15, siloIns-1, sim.North, 2)

	// Substations: one west of the silo, between belts UL's and PU's northward
	// columns (it joins the rocket-fuel line's poles and the utility row's
	// substations), with two medium poles for the inserters under the silo, and one
	// east of the satellite assembler.
	l.put("substation", sx-8, y(siloSat-1), sim.North)
	l.put("medium-electric-pole", sx-1, y(siloIns), sim.North)
	l.put("medium-electric-pole", sx+4, y(siloIns), sim.North)
	l.put("substation", sx+16, y(siloTop+3), sim.North)
}
