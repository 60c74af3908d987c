package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The low-density-structure line of a megabase-full cell: the low density structures
// of the utility row, of the silo's rocket parts and of the satellites (fullLDSRate,
// 14.65 a second a cell at fullMarginPct) from ore, coal, crude oil and water, east of
// the frame line, in the cell's band of rows oy−32 to oy+32. It is ldsHalves identical
// halves (fullLDSLineGeom), each sized by planPart for half the structures with the
// beacons this layout gives (two for every assembler, steel furnace and chemical plant,
// three for the smelting blocks' furnaces): one plan for them all asks for two heavy
// crackers, which an oil block has no room for. A structure takes 20 copper plates, 2
// steel and 5 plastic, so a half carries some 105 copper plates, 10.5 steel and 26.2
// plastic a second: more copper than five lanes (a lane that inserters fill carries
// about 19 a second) and more plastic than one. Both halves put their structures on
// belt UL's south lane (14.65 a second, within those 19). Rows from oy, columns from a
// half's west edge x0 eastwards:
//
//	−32..−17   north: ldsUnits steel units (steelUnit: an iron block north of its iron
//	           belt at ldsL, steel furnaces under its drills putting steel on belt F at
//	           ldsF, which runs west), then the coal field and an oil block
//	           (fullOilBlock: three pumpjacks over three refineries, four light and one
//	           heavy cracker, four plastic plants; rows q−23..q+6, q = oy+ldsQ; the
//	           fourth pumpjack east of the refineries, extraJacks)
//	−1         the plastic plants' belts: P2W under the first two plants runs west to
//	           column cW = x0+1, P2E under the other two east to column cE
//	2          a row of substations joining the parts
//	6..24      south: ldsGroups copper pairs, a block north of the pair's plate belt
//	           (ldsCu) and one south of it, each filling one lane
//	25         each pair's copper: its belt turns south east of its blocks (tc) and
//	           runs west along ldsCuRow over its group of assemblers
//	26         belt F: steel (north lane), from column cS = x0+3 east along the
//	           machine row
//	27         the assemblers' input inserters: copper from 25 (two long-handed,
//	           over F), steel from F (bulk); medium poles over the beacons
//	28..30     the groups of low-density-structure assemblers, each group under its
//	           pair, a beacon between neighbours
//	31         their output inserters (long-handed, over 32, onto belt UL's south lane
//	           at row 33: an inserter drops on the far lane), plastic from 32 (bulk)
//	32         plastic: P2W comes down cW and runs east to the split column, P2E down
//	           cE and west to it (two belts, one lane each, each with half the plastic
//	           for half the assemblers)
//
// F comes down column cS, passing under P2W through an underground pair. The steel
// units stand west of the oil block so that the steel reaches the first group (the
// nearest to the utility row) first: with the oil block west of them and F running
// east to the line's end and back (some 650 tiles), the first group got its steel
// last. Every inserter carries one item and every lane one item.

const (
	ldsQ     = -9       // the oil block's rows origin (fullOilBlock's oy)
	ldsP2    = ldsQ + 8 // the plastic belts P2W and P2E (the oil block's acP2)
	ldsL     = -23      // the steel units' iron belts
	ldsF     = ldsL + 6 // belt F along the steel units
	ldsSub   = 2        // the substations joining the parts
	ldsCu    = 15       // the copper pairs' plate belts
	ldsCuRow = 25       // each pair's copper along its group
	ldsSteel = 26       // belt F along the machine row
	ldsIn    = 27       // the assemblers' input inserters
	ldsAsm   = 28       // the assemblers
	ldsOut   = 31       // their output inserters
	ldsPl    = 32       // the plastic belts along the machine row

	ldsGroups  = 3 // copper pairs, each feeding a group of assemblers
	ldsUnits   = 3 // steel units
	ldsRef     = 3 // refineries
	ldsJacks   = 4 // pumpjacks: one over each refinery, the last east of them (extraJacks)
	ldsLight   = 4 // light-oil crackers
	ldsPlastic = 4 // plastic plants
	// ldsHalves is how many identical halves the line has, each sized for its share
	// of the structures (planFullLDS).
	ldsHalves = 2
)

// fullLDSTasks are the tasks of the line's plan.
var fullLDSTasks = []string{"low-density-structure", "steel-plate", "plastic-bar", "advanced-oil-processing",
	"heavy-oil-cracking", "light-oil-cracking", "mine crude-oil", "pump water", "copper-plate", "iron-plate",
	"mine copper-ore", "mine iron-ore", "mine coal"}

// fullLDSFixed are the line's machine counts the layout is drawn for; sizing fails if
// the plan asks for others.
var fullLDSFixed = map[string]int{
	"advanced-oil-processing": ldsRef, "mine crude-oil": ldsJacks, "heavy-oil-cracking": 1, "light-oil-cracking": ldsLight,
	"plastic-bar": ldsPlastic, "pump water": 1,
}

// fullLDSRate is how many low density structures a second one cell's line makes at
// fullMarginPct of milliPacks/1000 packs a second: the utility row's, the silo's
// rocket parts' and the satellites' (one a rocket).
func fullLDSRate(b *sim.Bundle, milliPacks int64) (*big.Rat, error) {
	const item = "low-density-structure"
	row, err := fullRowRate(b, milliPacks, "utility-science-pack", item)
	if err != nil {
		return nil, err
	}
	launch, err := fullLaunchRate(b, milliPacks, item)
	if err != nil {
		return nil, err
	}
	return launch.Add(launch, row), nil
}

// planFullLDS plans one half of the low-density-structure line (ldsHalves): its share
// of one cell's utility row's, silo's and satellites' structures (fullLDSRate). One
// plan for the whole rate asks for two heavy-oil crackers, which an oil block
// (fullOilBlock) does not have room for.
func planFullLDS(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullLDSRate(b, milliPacks)
	if err != nil {
		return nil, err
	}
	rate.Quo(rate, big.NewRat(ldsHalves, 1))
	return planFeedItem(b, "low-density-structure", rate, "the low density structures of the utility row, the silo and the satellites", planChoices{})
}

// fullLDSSizing is a half's machines per task and how they are split: the
// assemblers between the groups, the copper between each group's two blocks (a
// group's share by its assemblers), the iron between the steel units and the steel
// furnaces between the units, each rounded up.
type fullLDSSizing struct {
	lines  fullFeedCounts
	groups [ldsGroups]int
	copper [2 * ldsGroups]blockCount // group k's north block 2k, south block 2k+1
	iron   [ldsUnits]blockCount
	steel  [ldsUnits]int
}

// sizeFullLDS sizes one half of the low-density-structure line.
func sizeFullLDS(b *sim.Bundle, milliPacks int64) (fullLDSSizing, error) {
	ls := fullLDSSizing{lines: fullFeedCounts{}}
	p, err := planFullLDS(b, milliPacks)
	if err != nil {
		return ls, err
	}
	counts, lines, err := planFixedTasks(p, "low-density-structure line", fullLDSTasks, fullLDSFixed, "the utility row's, the silo's and the satellites' low density structures")
	if err != nil {
		return ls, err
	}
	ls.lines = counts
	n := counts["low-density-structure"]
	if n < ldsGroups {
		return ls, fmt.Errorf("the low-density-structure line's plan has %d assemblers; the layout has %d groups", n, ldsGroups)
	}
	spread(ls.groups[:], n)
	copper := lines["copper-plate"]
	var parts []*big.Rat
	for k := range ls.groups {
		half := new(big.Rat).Mul(copper.rate, big.NewRat(int64(ls.groups[k]), int64(2*n)))
		parts = append(parts, half, half)
	}
	copy(ls.copper[:], splitBlocks(copper, lines["mine copper-ore"], parts...))
	iron := lines["iron-plate"]
	parts = parts[:0]
	for range ldsUnits {
		parts = append(parts, new(big.Rat).Quo(iron.rate, big.NewRat(ldsUnits, 1)))
	}
	copy(ls.iron[:], splitBlocks(iron, lines["mine iron-ore"], parts...))
	spread(ls.steel[:], counts["steel-plate"])
	for u := range ls.steel {
		// The unit's steel furnaces stand under its drills.
		if bl := smeltBlockAt(ls.iron[u].drills, ls.iron[u].furn, 0, 0, true); rowEnd(bl.xd, ls.steel[u]) >= bl.xs {
			return ls, fmt.Errorf("the low-density-structure line's steel unit %d has %d steel furnaces, more than fit under its %d drills", u, ls.steel[u], ls.iron[u].drills)
		}
	}
	// Each group's assemblers stand under its copper blocks.
	for k := range ls.groups {
		if 6*ls.groups[k]+2 > pairWidth(ls.copper[2*k], ls.copper[2*k+1]) {
			return ls, fmt.Errorf("the low-density-structure line's group %d has %d assemblers, more than fit under its copper blocks", k, ls.groups[k])
		}
	}
	return ls, nil
}

// spread shares n between the elements of parts, the first ones one more when they
// do not divide.
func spread(parts []int, n int) {
	for i := range parts {
		parts[i] = n / len(parts)
		if i < n%len(parts) {
			parts[i]++
		}
	}
}

// pairWidth is how many columns a copper pair's blocks take, both ending at one column.
func pairWidth(north, south blockCount) int {
	a, c := smeltBlockAt(north.drills, north.furn, 0, 0, true), smeltBlockAt(south.drills, south.furn, 0, 0, false)
	return int(max(a.xE, c.xE))
}

// fullLDSGeom is where one cell's low-density-structure line lies (x absolute, rows
// from oy).
type fullLDSGeom struct {
	x0, cW, cS, cE     int32 // west edge; the columns of P2W, F and P2E
	X0                 int32 // the oil block's first refinery
	coalCols, coalGaps []int32
	coal               int
	crude              []int32
	units              [ldsUnits]smeltBlock
	steel              [ldsUnits]int
	pairs              [ldsGroups][2]smeltBlock // north and south copper blocks
	n                  [ldsGroups]int           // assemblers per group
	tc, xg             [ldsGroups]int32         // each pair's southward column; its group's first beacon
	split              int32                    // the beacon column where P2W and P2E end
}

// newFullLDSGeom lays the line out from column x0 eastwards.
func newFullLDSGeom(ls *fullLDSSizing, x0 int32) fullLDSGeom {
	const m = fullFeedMargin
	g := fullLDSGeom{x0: x0, cW: x0 + 1, cS: x0 + 3, coal: ls.lines["mine coal"], steel: ls.steel, n: ls.groups}
	// South: the copper pairs, each group's assemblers ending west of its column tc.
	x := g.cS + 2 + m
	for k := range g.pairs {
		cn, cs := ls.copper[2*k], ls.copper[2*k+1]
		xE := max(smeltBlockAt(cn.drills, cn.furn, x, 0, true).xE, smeltBlockAt(cs.drills, cs.furn, x, 0, false).xE)
		g.pairs[k] = [2]smeltBlock{newSmeltBlock(cn.drills, cn.furn, xE, 0, true), newSmeltBlock(cs.drills, cs.furn, xE, 0, false)}
		g.tc[k] = xE + 1
		g.xg[k] = g.tc[k] - 1 - (6*int32(g.n[k]) + 2)
		x = g.tc[k] + 2 + m
	}
	pairsEnd := x
	// The plastic belts meet at the beacon before the first assembler of the second
	// half.
	h := 0
	for k := range g.n {
		h += g.n[k]
	}
	h /= 2
	for k := range g.n {
		if h <= g.n[k] {
			g.split = g.xg[k] + 6*int32(h)
			break
		}
		h -= g.n[k]
	}
	// North: the steel units (their steel travels least to the first group), the coal
	// field, the oil block.
	x = g.cS + 2 + m
	for u := range g.units {
		a := ls.iron[u]
		g.units[u] = smeltBlockAt(a.drills, a.furn, x, 0, true)
		x = g.units[u].xE + m
	}
	_, _, coalW := columns(0, (g.coal+1)/2)
	g.X0 = x + coalW + 12
	g.coalCols, g.coalGaps, _ = columns(g.X0-12-coalW, (g.coal+1)/2)
	for k := range ldsJacks {
		g.crude = append(g.crude, g.X0+1+8*int32(k))
	}
	// East of the oil block's last substation and of the copper pairs.
	g.cE = max(g.X0+20+6*ldsLight+10+m, pairsEnd) + 1
	return g
}

// east is the half's east edge.
func (g *fullLDSGeom) east() int32 { return g.cE + 3 }

// fullLDSLineGeom is where one cell's low-density-structure line lies: its
// ldsHalves identical halves from x0 eastwards, each starting east of the one before
// (its row of substations along ldsSub joined to that half's last).
type fullLDSLineGeom [ldsHalves]fullLDSGeom

// newFullLDSLineGeom lays the line's halves out from column x0 eastwards.
func newFullLDSLineGeom(ls *fullLDSSizing, x0 int32) fullLDSLineGeom {
	var g fullLDSLineGeom
	for h := range g {
		g[h] = newFullLDSGeom(ls, x0)
		x0 = g[h].east() + 1
	}
	return g
}

// east is the line's east edge: the lines east of it start there.
func (g *fullLDSLineGeom) east() int32 { return g[len(g)-1].east() }

func (g *fullLDSLineGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	var ps []sim.Patch
	for h := range g {
		ps = append(ps, g[h].patches(b, oy)...)
	}
	return ps
}

// fullLDSLine builds the low-density-structure line of a cell at oy: both halves
// put their structures on the south lane of belt UL (row utilUL).
func (l *layout) fullLDSLine(g *fullLDSLineGeom, oy int32) {
	for h := range g {
		l.fullLDS(&g[h], oy)
	}
}

// extraJacks builds the pumpjacks at jacks east of an oil block's refineries
// (fullOilBlock, refineries refineries drawn from X0 at row origin oy), which it has
// no refinery for: they stand in the next refinery slots (X0+1+8k), out of the
// beacons' reach, and put their crude oil on a pipe along the refineries' input row
// (acRef−1) west to the last refinery's crude input, passing under its water input
// through a pipe-to-ground pair.
func (l *layout) extraJacks(X0, oy int32, refineries int, jacks []int32) {
	if len(jacks) == 0 {
		return
	}
	y := func(r int32) int32 { return oy + r }
	last := X0 + 8*int32(refineries-1)
	for _, x := range jacks {
		l.spec(sim.BuildSpec{Name: "pumpjack", X: x, Y: y(acJack), Dir: sim.South, Modules: l.modules("pumpjack", true)})
	}
	l.put("pipe-to-ground", last+2, y(acRef-1), sim.West)
	l.put("pipe-to-ground", last+5, y(acRef-1), sim.East)
	l.pipes(last+6, y(acRef-1), jacks[len(jacks)-1], y(acRef-1))
}

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullLDSGeom) at(oy int32) fullLDSGeom {
	for k := range g.pairs {
		g.pairs[k][0].pb = oy + ldsCu
		g.pairs[k][1].pb = oy + ldsCu
	}
	for u := range g.units {
		g.units[u].pb = oy + ldsL
	}
	return g
}

func (g *fullLDSGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, copper, coal, _, crude := oreIDs(b)
	h := g.at(oy)
	var ps []sim.Patch
	for k := range h.pairs {
		ps = append(ps, h.pairs[k][0].patch(copper, megaOre), h.pairs[k][1].patch(copper, megaOre))
	}
	for u := range h.units {
		ps = append(ps, h.units[u].patch(iron, megaOre))
	}
	return append(ps, coalAndCrude(coal, crude, g.coalCols, g.crude, oy+ldsQ)...)
}

// fullLDS builds the low-density-structure line of a cell at oy; its assemblers put
// their structures on the south lane of belt UL (row utilUL), which starts at the
// line's east edge (fullUtilityUL).
func (l *layout) fullLDS(g0 *fullLDSGeom, oy int32) {
	g := g0.at(oy)
	y := func(r int32) int32 { return oy + r }
	q := oy + ldsQ
	X0 := g.X0
	east := func(x0, x1, r int32) { l.belt(fullBelt, x0, y(r), sim.East, x1-x0+1) }
	west := func(x1, x0, r int32) { l.belt(fullBelt, x1, y(r), sim.West, x1-x0+1) }
	south := func(x, r0, r1 int32) { l.belt(fullBelt, x, y(r0), sim.South, r1-r0+1) }

	// North: coal, oil and plastic; the plastic belts.
	l.fullOilBlock(X0, q, g.crude[:ldsRef], ldsLight, ldsPlastic)
	l.extraJacks(X0, q, ldsRef, g.crude[ldsRef:])
	l.put("substation", X0+8*ldsRef-3, q+acJack+1, sim.North) // the last pumpjack's
	l.drillsBeside(g.coalCols, g.coal, q+acCoal)
	for _, x := range g.coalGaps {
		l.put("substation", x, q+acCoal-3, sim.North)
	}
	l.belt(fullBelt, g.coalCols[0], q+acCoal, sim.East, X0+6*ldsPlastic-3-g.coalCols[0])
	for _, p := range [][2]int32{{X0 - 7, -13}, {X0 + 13, -13}, {X0 + 4, -3}, {X0 + 14, -3}, {X0 + 29, 1}, {X0 + 45, 1}} {
		l.put("substation", p[0], q+p[1], sim.North)
	}
	// P2W under the first two plants, west and down cW; P2E under the others, east and
	// down cE.
	west(X0+10, g.cW+1, ldsP2)
	south(g.cW, ldsP2, ldsPl-1)
	east(g.cW, g.split, ldsPl)
	east(X0+12, g.cE-1, ldsP2)
	south(g.cE, ldsP2, ldsPl-1)
	west(g.cE, g.split+2, ldsPl)

	// The steel units, their steel on F: west, down cS under P2W, east along the
	// machine row.
	for u := range g.units {
		l.steelUnit(&g.units[u], g.steel[u], y(ldsL))
	}
	lu := ldsUnits - 1
	west(rowEnd(g.units[lu].xd, g.steel[lu]), g.cS+1, ldsF)
	south(g.cS, ldsF, ldsP2-2)
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: g.cS, Y: y(ldsP2 - 1), Dir: sim.South, Underground: "input"})
	l.spec(sim.BuildSpec{Name: "express-underground-belt", X: g.cS, Y: y(ldsP2 + 1), Dir: sim.South, Underground: "output"})
	south(g.cS, ldsP2+2, ldsSteel-1)
	east(g.cS, rowEnd(g.xg[ldsGroups-1], g.n[ldsGroups-1]), ldsSteel)
	l.put("substation", g.units[0].xd-2, y(ldsP2-7), sim.North) // joins the units to the row below

	// South: the copper pairs and their groups of assemblers.
	asmMods := l.modules("assembling-machine-3", true)
	for k := range g.pairs {
		cn, cs := &g.pairs[k][0], &g.pairs[k][1]
		l.smeltBlock(cn)
		l.smeltBlock(cs)
		tc, xg := g.tc[k], g.xg[k]
		east(min(cn.xs, cs.xs), tc-1, ldsCu)
		south(tc, ldsCu, ldsCuRow-1)
		west(tc, xg, ldsCuRow)
		l.put("substation", xg-2, y(ldsAsm), sim.North)
		machineRow(xg, g.n[k], func(x int32) {
			l.beacon(x, y(ldsAsm))
			l.put("medium-electric-pole", x+1, y(ldsIn), sim.North)
			l.put("medium-electric-pole", x+1, y(ldsOut), sim.North)
		}, func(_ int, x int32) {
			l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(ldsAsm), Recipe: "low-density-structure", Modules: asmMods})
			l.put(fullLongInserter, x, y(ldsIn), sim.North)   // copper from the pair's belt, over F
			l.put(fullInInserter, x+1, y(ldsIn), sim.North)   // steel from F
			l.put(fullLongInserter, x+2, y(ldsIn), sim.North) // copper
			l.put(fullLongInserter, x, y(ldsOut), sim.North)  // structures onto UL, over the plastic
			l.put(fullInInserter, x+1, y(ldsOut), sim.South)  // plastic
		})
	}

	// Substations along row ldsSub joining the parts, the processing-unit line's last
	// substations west of x0 and the solar field's first, east of the line.
	for x := g.cS + 2; x+1 < g.cE-1; x += 16 {
		l.put("substation", x, y(ldsSub), sim.North)
	}
	l.put("substation", g.cE+1, y(ldsSub), sim.North)
}
