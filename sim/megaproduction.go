package sim

// The production row's rails of a megabase-full cell come on two belts, R1 (row 10)
// and R2 (row 11), where the row's infinity chests and the row of beacons behind it
// (rows 11..13, shared with the utility row) stood: a production pack takes 10 rails
// (30 a craft of 3), so a cell's row takes 68 rails a second at fullMarginPct, more
// than one express belt carries (45). Each machine takes rails from R1 with a bulk
// inserter and from R2 with a long-handed inserter over R1 (row 9), and its electric
// furnaces and productivity modules from an infinity chest on the north side (row 3)
// with a long-handed inserter over belt C (row 5). The production and utility rows
// now get 1 or 2 beacons (the beacons between neighbours) and are sized for one.
//
// R1 and R2 come from the east, under belt D's northward run at T (underground
// pairs), from the rails' heads east of T: R1's head is fed by a belt coming south
// (rows 6..9) and turning west, R2's by one coming north (rows 12..15); each feeder
// is loaded on both lanes by bulk inserters from infinity chests holding rails, the
// map editor's source, until a rail line stands there.

const (
	prodR1     = 10 // rails, both lanes
	prodR2     = 11 // rails, both lanes
	prodChestY = 3  // the production row's infinity chests (electric furnaces, productivity modules)
	prodFeedX  = 6  // the feeders' column, from T
)

// fullProductionPacks are the pack rows whose rails come on belts R1 and R2.
var fullProductionPacks = map[string]bool{"production-science-pack": true}

// fullRailFeedChests is how many infinity chests load a cell's rail feeders.
const fullRailFeedChests = 8

// fullProductionRails lays belts R1 and R2 from their heads east of T west to the
// production row's first machine at rowX, and their feeders.
func (l *layout) fullProductionRails(T, oy, rowX int32) {
	rail := &InfinitySettings{Filters: []InfinityFilter{{Item: "rail", Count: 100, Mode: "exactly"}}}
	xa := T + prodFeedX
	for _, r := range []int32{prodR1, prodR2} {
		l.belt(fullBelt, xa, oy+r, West, xa-(T+2)+1)
		l.spec(BuildSpec{Name: "express-underground-belt", X: T + 1, Y: oy + r, Dir: West, Underground: "input"})
		l.spec(BuildSpec{Name: "express-underground-belt", X: T - 1, Y: oy + r, Dir: West, Underground: "output"})
		l.belt(fullBelt, T-2, oy+r, West, T-2-rowX+1)
	}
	// R1's feeder comes south from row 6 and turns west at R1's head; R2's comes north
	// from row 15. Bulk inserters on both sides fill both lanes.
	l.belt(fullBelt, xa, oy+6, South, prodR1-6)
	l.belt(fullBelt, xa, oy+15, North, 15-prodR2)
	for _, y := range []int32{8, 9, 12, 13} {
		l.put(fullInInserter, xa-1, oy+y, West) // onto the east lane
		l.spec(BuildSpec{Name: "infinity-chest", X: xa - 2, Y: oy + y, Infinity: rail})
		l.put(fullInInserter, xa+1, oy+y, East) // onto the west lane
		l.spec(BuildSpec{Name: "infinity-chest", X: xa + 2, Y: oy + y, Infinity: rail})
	}
	l.put("substation", xa+4, oy+12, North)
}
