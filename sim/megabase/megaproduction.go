package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The production row's rails of a megabase-full cell come on two belts, R1 (row 10)
// and R2 (row 11), where the row's infinity chests and the row of beacons behind it
// (rows 11..13, shared with the utility row) stood: a production pack takes 10 rails
// (30 a craft of 3), so a cell's row takes 68 rails a second at fullMarginPct, more
// than one express belt carries (45). Each machine takes rails from R1 with a bulk
// inserter and from R2 with a long-handed inserter over R1 (row 9), and its electric
// furnaces and productivity modules from belt FM on the north side (row 3) with a
// long-handed inserter over belt C (row 5; fullProductionFM). The production and
// utility rows now get 1 or 2 beacons (the beacons between neighbours) and are sized
// for one.
//
// R1 and R2 come from the rail line in the rows east of T that the labs leave free
// (rows 6..31, from T+5 to T+721; the labs end at T+1,283): R1 runs west along
// row 18 and north up column T+3, R2 along row 19 and up T+2, and both pass under belt
// D's northward run at T (underground pairs). Sized by planPart for the row's rails at
// fullMarginPct with the layout's beacons (2 for the rail and iron-stick assemblers
// and the steel furnaces, 3 for the iron furnaces). Everything flows west; from west
// to east:
//
//   - Rail assemblers: two pairs around column c = T+14. Pair 1's assemblers (rows
//     11..13) stand west and east of belt V1, which runs south and turns west into R1
//     at row 18; each puts rails on its own lane of V1 with three bulk inserters (an
//     assembler makes 17 rails a second, an express lane carries 22.5). They take steel
//     from belt P1 (row 9: steel | iron, bulk from the north) and stone from belt K1
//     (row 15, both lanes, bulk from the south; K1 passes under V1), and iron sticks
//     straight from an iron-stick assembler beside each (west of the west one, east
//     of the east one), which takes iron from P1's iron lane. Pair 2 (rows 24..26) is
//     pair 1 mirrored about rows 18/19: V2 runs north into R2 at row 19, stone from K2
//     (row 22), steel and iron from P2 (row 28). A row of beacons north of P1 (rows
//     6..8) and south of P2 (29..31) reaches every assembler two to four times. So the
//     layout has four rail and four iron-stick assemblers where the plan has three
//     and two: one rail assembler per lane of R1 and R2, each handed its sticks.
//   - Stone: K1 and K2 each run through a field of drills on both sides (rows 12..18
//     and 19..25), half the plan's stone drills each.
//   - Steel: P1 comes from steel line 1 along row 15 and turns north to row 9 east of
//     the stone fields (P2 from line 2 along row 22, south to row 28). Line 1: four
//     smelting blocks north of its belt (rows 6..14) put iron on its south lane, and
//     under each block's drills a row of steel furnaces south of the belt (rows 16..19,
//     a beacon between neighbours) takes iron and puts steel on the north lane; no
//     cross-section of the iron lane carries more than one block's iron (a lane
//     delivers about 19 plates a second) and the steel adds up to half the rails'.
//     Line 2 is line 1 mirrored about row 22 (blocks south, rows 23..31; steel
//     furnaces north, rows 18..21); the two lines' furnace rows share rows 16..21, so
//     each row of steel furnaces starts east of the other line's last. West of the
//     lines a small block each (iron for the sticks) puts its iron on the belt after
//     the last steel furnace: with the sticks' iron in the steel blocks, the steel
//     furnaces (more than the steel needs, as every line is sized at fullMarginPct)
//     took it all until the steel backed up, and the rails came at the full rate
//     four game minutes late.
//
// The rail line stands this close to T because its rails would otherwise travel the
// labs' length: laid east of the labs (first try), R1 and R2 were 1,300 tiles long,
// the first rails reached the row at minute 6 and the cell was at 386 and 460 SPM at
// minutes 11 and 12 (505 and 510 here, as with the chests). Substations stand beside
// the pairs, in the stone fields' gaps, in the blocks and along each row of steel
// furnaces (rows 20 and 16).

const (
	prodR1     = 10 // rails, both lanes
	prodR2     = 11 // rails, both lanes
	prodFM     = 3  // belt FM: electric furnaces and productivity modules
	prodFMHead = 22 // FM's head in the band south of belt D, where belt MD joins it

	// The rail pairs, east of T (rows 6..31).
	railBeacon1 = 6  // pair 1's beacons (3 tall)
	railP1      = 9  // steel | iron
	railRow1    = 11 // pair 1's assemblers (3 tall)
	railK1      = 15 // stone
	railR1      = 18 // R1 east of T
	railR2      = 19 // R2 east of T
	railK2      = 22 // stone
	railRow2    = 24 // pair 2's assemblers
	railP2      = 28 // iron | steel
	railBeacon2 = 29 // pair 2's beacons
	// The steel lines, east of the stone fields.
	railL1    = 15 // line 1's belt (P1 before it turns north to row 9)
	railL2    = 22 // line 2's belt (P2 before it turns south to row 28)
	railF1    = 17 // line 1's steel furnaces (3 tall), their inserters at 16
	railF2    = 18 // line 2's, their inserters at 21
	railSubF1 = 20 // substations along line 1's steel furnaces
	railSubF2 = 16 // and line 2's
	railUnits = 4  // smelting blocks (and rows of steel furnaces) per steel line
)

// fullProductionPacks are the pack rows whose rails come on belts R1 and R2.
var fullProductionPacks = map[string]bool{"production-science-pack": true}

// fullRailTasks are the tasks the rail line lays out.
var fullRailTasks = []string{"rail", "iron-stick", "steel-plate", "iron-plate", "mine iron-ore", "mine stone"}

// Rail and iron-stick assemblers laid out (see above).
const (
	fullRailAsms  = 4
	fullStickAsms = 4
)

// fullRailSizing is the rail line's machines per task and how they are split between
// the two steel lines and their blocks, each rounded up.
type fullRailSizing struct {
	lines fullFeedCounts
	steel [2][railUnits]int           // steel furnaces per line and unit
	iron  [2*railUnits + 2]blockCount // line 1's steel blocks, line 2's, then each line's stick block
	stone [2]int                      // drills per stone field
}

// planFullRails plans the rails of a cell's production row at fullMarginPct.
func planFullRails(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	pl := &planner{b: b}
	pf, err := pl.prodFactor("assembling-machine-3", true)
	if err != nil {
		return nil, err
	}
	ri, ok := b.Recipe("production-science-pack")
	if !ok {
		return nil, fmt.Errorf("the bundle has no production-science-pack recipe")
	}
	r := &b.Recipes[ri]
	packs, rails := recipeOut(b, r.Name, "production-science-pack"), recipeIn(b, r.Name, "rail")
	if packs <= 0 || rails <= 0 {
		return nil, fmt.Errorf("production-science-pack takes no rails")
	}
	// Rails a second: packs a second / (packs a craft × productivity) × rails a craft.
	rate := big.NewRat(milliPacks*fullMarginPct*rails, 100*1000*packs)
	rate.Quo(rate, pf)
	p, err := planPart(b, map[string]*big.Rat{"rail": rate}, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the rail line: %w", err)
	}
	return p, nil
}

// sizeFullRails sizes the rail line for a cell of milliPacks/1000 packs a second.
func sizeFullRails(b *sim.Bundle, milliPacks int64) (fullRailSizing, error) {
	rs := fullRailSizing{lines: fullFeedCounts{}}
	p, err := planFullRails(b, milliPacks)
	if err != nil {
		return rs, err
	}
	counts, lines, err := planTasks(p, "rail line", fullRailTasks, true)
	if err != nil {
		return rs, err
	}
	rs.lines = counts
	if rs.lines["rail"] > fullRailAsms || rs.lines["iron-stick"] > fullStickAsms {
		return rs, fmt.Errorf("the rail line's plan has %d rail and %d iron-stick assemblers, the layout %d and %d",
			rs.lines["rail"], rs.lines["iron-stick"], fullRailAsms, fullStickAsms)
	}
	// Steel furnaces: the plan's, half per line and a quarter of that per unit (the
	// first lines and units one more when they do not divide). Rounded up per unit,
	// they would take the iron the iron-stick assemblers at the lines' ends need.
	n := rs.lines["steel-plate"]
	for k := range rs.steel {
		nk := n / 2
		if k < n%2 {
			nk++
		}
		for u := range rs.steel[k] {
			rs.steel[k][u] = nk / railUnits
			if u < nk%railUnits {
				rs.steel[k][u]++
			}
		}
	}
	// Iron plate crafts a second (net of the furnaces' productivity) for the iron
	// sticks, half a line; the rest for the steel, an eighth a block.
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return rs, err
	}
	furn := lines["iron-plate"]
	sticks := new(big.Rat).Quo(new(big.Rat).Mul(lines["iron-stick"].rate, big.NewRat(recipeIn(b, "iron-stick", "iron-plate"), 1)), pf)
	steel := new(big.Rat).Sub(furn.rate, sticks)
	parts := make([]*big.Rat, 0, len(rs.iron))
	for range 2 * railUnits {
		parts = append(parts, new(big.Rat).Quo(steel, big.NewRat(2*railUnits, 1)))
	}
	for range 2 {
		parts = append(parts, new(big.Rat).Quo(sticks, big.NewRat(2, 1)))
	}
	copy(rs.iron[:], splitBlocks(furn, lines["mine iron-ore"], parts...))
	stone := lines["mine stone"]
	half := new(big.Rat).Quo(stone.rate, big.NewRat(2, 1))
	for k := range rs.stone {
		rs.stone[k] = ratCeil(new(big.Rat).Quo(half, stone.per))
	}
	return rs, nil
}

// fullRailGeom is where one cell's rail line lies (x absolute, rows from oy).
type fullRailGeom struct {
	c                   int32 // the column of V1 and V2
	stoneCols, stoneGap [2][]int32
	stoneDrills         [2]int
	turn                int32                     // where P1 turns north and P2 south
	blocks              [2 * railUnits]smeltBlock // line 1's steel blocks, then line 2's
	stickIron           [2]smeltBlock             // each line's iron for the iron sticks
	steel               [2][railUnits]int
	xEnd                int32
}

// steelEnd is the east end of the row of steel furnaces under block i.
func (g *fullRailGeom) steelEnd(i int) int32 {
	return rowEnd(g.blocks[i].xd, g.steel[i/railUnits][i%railUnits])
}

// newFullRailGeom lays the rail line out east of the turn column T.
func newFullRailGeom(rs *fullRailSizing, T, oy int32) fullRailGeom {
	const m = fullFeedMargin
	g := fullRailGeom{c: T + 14, steel: rs.steel}
	var end int32
	for k := range g.stoneCols {
		g.stoneDrills[k] = rs.stone[k]
		g.stoneCols[k], g.stoneGap[k], end = columns(g.c+12, (rs.stone[k]+1)/2)
	}
	g.turn = end + 1
	x := g.turn + 1 + m
	for k := range g.stickIron {
		a := rs.iron[2*railUnits+k]
		g.stickIron[k] = smeltBlockAt(a.drills, a.furn, x, oy+[]int32{railL1, railL2}[k], k == 0)
	}
	// Line 2's steel furnaces share rows with line 1's: each row of them starts east
	// of the other line's last.
	x = max(g.stickIron[0].xE, g.stickIron[1].xE) + m
	b2 := x
	for u := 0; u < railUnits; u++ {
		a, b := rs.iron[u], rs.iron[railUnits+u]
		g.blocks[u] = smeltBlockAt(a.drills, a.furn, x, oy+railL1, true)
		b2 = max(b2, g.steelEnd(u)+1)
		g.blocks[railUnits+u] = smeltBlockAt(b.drills, b.furn, b2, oy+railL2, false)
		b2 = g.blocks[railUnits+u].xE + m
		x = max(g.blocks[u].xE+m, g.steelEnd(railUnits+u)+1)
	}
	g.xEnd = max(g.blocks[railUnits-1].xE, g.blocks[2*railUnits-1].xE)
	return g
}

func (g *fullRailGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, _, _, stone, _ := oreIDs(b)
	var ps []sim.Patch
	for k, r := range []int32{railK1, railK2} {
		cols := g.stoneCols[k]
		x0, x1 := cols[0], cols[len(cols)-1]+3
		ps = append(ps, sim.Patch{Resource: stone, X: x0, Y: oy + r - 3, W: x1 - x0, H: 7, Amount: megaOre})
	}
	for i := range g.blocks {
		ps = append(ps, g.blocks[i].patch(iron, megaOre))
	}
	for i := range g.stickIron {
		ps = append(ps, g.stickIron[i].patch(iron, megaOre))
	}
	return ps
}

// fullProductionRails builds the rail line and belts R1 and R2 from it west to the
// production row's first machine at rowX.
func (l *layout) fullProductionRails(g *fullRailGeom, T, oy, rowX int32) {
	y := func(r int32) int32 { return oy + r }
	beacon := func(x, r int32) { l.beacon(x, y(r)) }
	asm := func(x, r int32, recipe string) {
		ri, _ := l.s.Bundle().Recipe(recipe)
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", l.s.Bundle().Recipes[ri].Productivity)})
	}
	west := func(x1, x0, r int32) { l.belt(fullBelt, x1, y(r), sim.West, x1-x0+1) }
	under := func(xIn, xOut, r int32) {
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xIn, Y: y(r), Dir: sim.West, Underground: "input"})
		l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xOut, Y: y(r), Dir: sim.West, Underground: "output"})
	}
	c := g.c

	// R1 and R2: west from the pairs, north at T+3 and T+2, west under belt D at T.
	west(c, T+4, railR1)
	l.belt(fullBelt, T+3, y(railR1), sim.North, railR1-prodR1)
	west(T+3, T+2, prodR1)
	west(c, T+3, railR2)
	l.belt(fullBelt, T+2, y(railR2), sim.North, railR2-prodR2)
	west(T+2, T+2, prodR2)
	for _, r := range []int32{prodR1, prodR2} {
		under(T+1, T-1, r)
		west(T-2, rowX, r)
	}
	// The rail pairs: V1 south into R1, V2 north into R2.
	l.belt(fullBelt, c, y(railRow1), sim.South, railR1-railRow1)
	l.belt(fullBelt, c, y(railRow2+2), sim.North, railRow2+2-railR2)
	for k, p := range []struct {
		row, steel, stone  int32
		steelDir, stoneDir sim.Dir // where the input inserters pick up from
		beacons            int32
	}{{railRow1, railP1, railK1, sim.North, sim.South, railBeacon1}, {railRow2, railP2, railK2, sim.South, sim.North, railBeacon2}} {
		steelIn := p.row - 1 // input inserters' rows
		stoneIn := p.row + 3
		if p.steelDir == sim.South {
			steelIn, stoneIn = p.row+3, p.row-1
		}
		for _, s := range []struct {
			rail, stick, side int32
			d                 sim.Dir // the output inserter picks up from this side
		}{{c - 4, c - 8, -1, sim.West}, {c + 2, c + 6, 1, sim.East}} {
			asm(s.rail, p.row, "rail")
			asm(s.stick, p.row, "iron-stick")
			l.put(fullInInserter, s.rail+1, y(steelIn), p.steelDir)  // steel
			l.put(fullInInserter, s.rail+1, y(stoneIn), p.stoneDir)  // stone
			l.put(fullInInserter, s.stick+1, y(steelIn), p.steelDir) // iron
			// Rails onto V: one bulk inserter puts about 12 a second on a lane, the
			// assembler makes 17.
			for dy := int32(0); dy < 3; dy++ {
				l.put(fullInInserter, c+s.side, y(p.row+dy), s.d)
			}
			l.put(fullInInserter, c+5*s.side, y(p.row+1), s.d) // sticks into the rail assembler
		}
		for x := c - 9; x <= c+6; x += 3 {
			beacon(x, p.beacons)
		}
		// Steel and iron from the steel line, turning at g.turn.
		last := &g.blocks[k*railUnits+railUnits-1]
		lr := []int32{railL1, railL2}[k]
		west(last.furnCols[len(last.furnCols)-1]+2, g.turn+1, lr)
		if k == 0 {
			l.belt(fullBelt, g.turn, y(lr), sim.North, lr-p.steel)
		} else {
			l.belt(fullBelt, g.turn, y(lr), sim.South, p.steel-lr)
		}
		west(g.turn, c-7, p.steel)
		// Stone: both sides of K through the field, under V.
		cols := g.stoneCols[k]
		west(cols[len(cols)-1]+2, c+2, p.stone)
		under(c+1, c-1, p.stone)
		west(c-2, c-3, p.stone)
		l.drillsBeside(cols, g.stoneDrills[k], y(p.stone))
		for _, x := range g.stoneGap[k] {
			l.put("substation", x, y(p.stone+1), sim.North)
		}
	}
	l.put("substation", c-10, y(16), sim.North) // links the pairs to the labs' substations
	l.put("substation", c-2, y(16), sim.North)
	l.put("substation", c-2, y(20), sim.North)

	// Steel lines; the sticks' iron enters P after the last steel furnace.
	l.smeltBlock(&g.stickIron[0])
	l.smeltBlock(&g.stickIron[1])
	for i := range g.blocks {
		bl := &g.blocks[i]
		l.smeltBlock(bl)
		row, inY, pick, drop, sub := int32(railF1), int32(railF1-1), sim.North, sim.South, int32(railSubF1)
		if i >= railUnits {
			row, inY, pick, drop, sub = railF2, railF2+3, sim.South, sim.North, railSubF2
		}
		machineRow(bl.xd, g.steel[i/railUnits][i%railUnits], func(x int32) { beacon(x, row) }, func(_ int, x int32) {
			l.spec(sim.BuildSpec{Name: "electric-furnace", X: x, Y: y(row), Modules: l.modules("electric-furnace", true)})
			l.put(fullInInserter, x+1, y(inY), pick) // iron from P
			l.put(fullOutInserter, x, y(inY), drop)  // steel onto P's other lane
		})
		// A substation supplies 8 tiles west and 10 east of its x.
		for x := bl.xd; ; x = min(x+16, g.steelEnd(i)-1) {
			l.put("substation", x, y(sub), sim.North)
			if x+10 > g.steelEnd(i) {
				break
			}
		}
	}
}

// fullProductionFM builds belt FM, which carries the production row's electric furnaces
// and productivity modules (one item a lane) to its machines, whose long-handed
// inserters (row 5, over belt C) take them from row 3. FM's head is in the band south
// of belt D (row 22, free between the silo and T), in column xf, the gap west of the
// row's first machine, where the module line's belt MD joins it from the west
// (fullModules): north under D and the utility row (an underground pair, rows 21 to
// 12, the express underground's reach of 9), up rows 11..4 through the gap (R1 and
// R2 end east of it), then east along row 3 to the row's last machine at lastX. MD
// brings the modules on its north lane and the electric furnaces, from the furnace
// line (fullFurnaces, which feeds MD's start), on its south lane; the head's two
// turns keep the lanes, so FM carries them the same way.
func (l *layout) fullProductionFM(oy, xf, lastX int32) {
	y := func(r int32) int32 { return oy + r }
	l.put(fullBelt, xf, y(prodFMHead), sim.North)
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xf, Y: y(prodFMHead - 1), Dir: sim.North, Underground: "input"})
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: xf, Y: y(prodR2 + 1), Dir: sim.North, Underground: "output"})
	l.belt(fullBelt, xf, y(prodR2), sim.North, prodR2-prodFM)
	l.belt(fullBelt, xf, y(prodFM), sim.East, lastX-xf+1)
}
