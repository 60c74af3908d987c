package megabase

import (
	"github.com/starlane/starlane/sim"
)

// The utility row's belts in a megabase-full cell. A utility pack takes three
// ingredients (processing units, flying robot frames and low density structures), so
// the row takes them from two belts, one item a lane, as the military and production
// rows do: each machine's bulk inserter (row 15, where its infinity chest's inserter
// stood) takes from belt U1 (row 14: low density structures on the south lane, flying
// robot frames on the north lane), a long-handed inserter beside it from belt U2 (row
// 13, over U1: processing units on its south lane). Rows 12 to 15 are free east of the
// row's last machine and rows 13 to 14 over its machines, but for belt FM's
// underground pair in column fullFMColumn (rows 21 to 12), which U1 and U2 cross.
//
// Both belts run west from heads east of FM's column to the row's first machine. Each
// head is a northward stub that turns west (a turn keeps the lanes: the stub's west
// lane becomes the belt's south lane): U1's at column c1 (rows 15, 14), U2's at c2
// (rows 14, 13). Belt PU from the processing-unit line (megaprocessing.go) comes up
// under the row into U2's stub, its units on the stub's west lane. The low density
// structures come from the low-density-structure line (megalds.go), which puts them on
// UL's south lane, the frames from the frame line (megaframe.go), which side-loads
// UL's north lane.
//
// U1's items come from east of the labs, where there is room for their lines: belt UL
// (fullUtilityUL) runs west along row 33, the one row free for the labs' whole length
// between a cell's belts and the next cell's military lines, to U1's head column, north
// up it and under belt D and the utility row into U1's stub. UL's south lane becomes
// the stub's west lane and U1's south lane (low density structures), its north lane
// U1's north lane (frames): a line north of UL puts structures on it with inserters
// (an inserter drops on the far lane) and frames by side-loading (a belt ending on UL's
// side fills the near lane).

const (
	utilU1  = 14 // belt U1: flying robot frames (north lane) | low density structures (south lane)
	utilU2  = 13 // belt U2: processing units (south lane)
	utilInY = 15 // the utility row's input inserters
	utilC1  = 5  // U1's head, columns east of fullFMColumn
	utilC2  = 11 // U2's head
	utilUL  = 33 // belt UL's run west to U1's head column
	// utilUnder is where belt UL dives under belt D (row 20) to come up in row 19,
	// south of U1's stub.
	utilUnder = 21
	// utilSA and utilSB are the two rows south of belt UL that no cell uses (the cell
	// pitch leaves them free across the whole width): belts bringing the silo's and the
	// satellite's ingredients from east of the labs. SA carries solar panels (north
	// lane) and accumulators (south lane), SB the silo's and the satellite's processing
	// units (north lane) and radars (south lane). Each lane has one item and ends at
	// the machines that take it, so no lane can lock.
	utilSA = 34
	utilSB = 35
)

// fullUtilityPacks are the pack rows that take their ingredients from belts U1 and U2.
var fullUtilityPacks = map[string]bool{"utility-science-pack": true}

// fullUtilityBelts builds belts U1 and U2 from their heads east of belt FM's column xf
// west to the row's first machine at rowX.
func (l *layout) fullUtilityBelts(oy, xf, rowX int32) {
	y := func(r int32) int32 { return oy + r }
	c1, c2 := xf+utilC1, xf+utilC2
	// U1: the stub at c1 and west along row 14; belt UL comes up into the stub from
	// the south (fullUtilityUL), its lanes becoming U1's.
	l.put(fullBelt, c1, y(utilU1+1), sim.North)
	l.belt(fullBelt, c1, y(utilU1), sim.West, c1-rowX+1)
	// U2: the stub at c2 and west along row 13; processing units on its south lane,
	// from belt PU (fullProcessing), which comes up under the row into the stub.
	l.put(fullBelt, c2, y(utilU2+1), sim.North)
	l.belt(fullBelt, c2, y(utilU2), sim.West, c2-rowX+1)
}

// fullUtilityUL builds belt UL of the cell at oy from column east (east of the labs,
// the processing-unit line, the frame line, whose frames side-load UL's north lane:
// megaframe.go, and the low-density-structure line, which puts its structures on UL's
// south lane: megalds.go) west along row utilUL to U1's head column, north, and under
// belt D into U1's stub (fullUtilityBelts).
func (l *layout) fullUtilityUL(oy, xf, east int32) {
	y := func(r int32) int32 { return oy + r }
	c1 := xf + utilC1
	l.belt(fullBelt, east, y(utilUL), sim.West, east-c1)
	l.belt(fullBelt, c1, y(utilUL), sim.North, utilUL-utilUnder)
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: c1, Y: y(utilUnder), Dir: sim.North, Underground: "input"})
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: c1, Y: y(utilUnder - 2), Dir: sim.North, Underground: "output"})
	l.belt(fullBelt, c1, y(utilUnder-3), sim.North, utilUnder-3-utilU1-1)
}
