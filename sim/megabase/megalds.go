package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The low-density-structure line of a megabase-full cell: the utility row's low density
// structures from ore, coal, crude oil and water, east of the processing-unit line (the
// solar field moves east of it), in the cell's band of rows oy−32 to oy+32. Sized by
// planPart for the row's structures at fullMarginPct (6.85 a second a cell) with the
// beacons this layout gives (two for every assembler, steel furnace and chemical plant,
// three for the smelting blocks' furnaces). A structure takes 20 copper plates, 2 steel
// and 5 plastic, so the line carries some 98 copper plates, 9.8 steel and 24.5 plastic a
// second: more copper than four lanes (a lane that inserters fill carries about 19 a
// second) and more plastic than one. Rows from oy, columns from the line's west edge x0
// eastwards:
//
//	−32..−17   north: ldsUnits steel units (steelUnit: an iron block north of its iron
//	           belt at ldsL, steel furnaces under its drills putting steel on belt F at
//	           ldsF, which runs west), then the coal field and an oil block
//	           (fullOilBlock: three pumpjacks over three refineries, three light and one
//	           heavy cracker, four plastic plants; rows q−23..q+6, q = oy+ldsQ)
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
// last and the cell was at 424 SPM at minute 14 instead of 445. Every inserter
// carries one item and every lane one item.

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
	ldsLight   = 3 // light-oil crackers
	ldsPlastic = 4 // plastic plants
)

// fullLDSTasks are the tasks of the line's plan.
var fullLDSTasks = []string{"low-density-structure", "steel-plate", "plastic-bar", "advanced-oil-processing",
	"heavy-oil-cracking", "light-oil-cracking", "mine crude-oil", "pump water", "copper-plate", "iron-plate",
	"mine copper-ore", "mine iron-ore", "mine coal"}

// fullLDSFixed are the line's machine counts the layout is drawn for; sizing fails if
// the plan asks for others.
var fullLDSFixed = map[string]int{
	"advanced-oil-processing": 3, "mine crude-oil": 3, "heavy-oil-cracking": 1, "light-oil-cracking": ldsLight,
	"plastic-bar": ldsPlastic, "pump water": 1,
}

// planFullLDS plans the low-density-structure line for one cell's utility row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullLDS(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	return planRowItem(b, milliPacks, "utility-science-pack", "low-density-structure", "the utility row's low density structures")
}

// fullLDSSizing is the line's machines per task and how they are split: the
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

// sizeFullLDS sizes the low-density-structure line.
func sizeFullLDS(b *sim.Bundle, milliPacks int64) (fullLDSSizing, error) {
	ls := fullLDSSizing{lines: fullFeedCounts{}}
	p, err := planFullLDS(b, milliPacks)
	if err != nil {
		return ls, err
	}
	counts, lines, err := planFixedTasks(p, "low-density-structure line", fullLDSTasks, fullLDSFixed, "the utility row's low density structures")
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
