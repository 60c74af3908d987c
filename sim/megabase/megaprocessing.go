package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The processing-unit line of a megabase-full cell: the utility row's processing units
// from ore, coal, crude oil and water, sized by planPart for the row's processing
// units at fullMarginPct with the beacons this layout gives (two for every assembler
// and plant, three for the furnaces). It stands in the rows the labs leave free east
// of the rail line's east end (rows 6 to 31 from oy), so a flatter shape than the
// advanced-circuit line's 60 rows.
//
// Built so far: its circuits. 74.5 circuits a second (65.2 for the processing units,
// 9.3 for the advanced circuits) take more than three express lanes, and one lane of
// copper or of iron feeds about three cable/circuit pairs, so the pairs stand in
// groups of three, each group with a copper block north of its plate belt M and an
// iron block south of it, from west to east. Rows, from oy:
//
//	6          belt CB: group 0's circuits (north lane) | group 1's (south lane), east
//	7..16      each group's copper block, its plates on M's south lane
//	10         each group's circuit belt, east of its blocks: group 0's turns north
//	           into CB, group 1's side-loads CB's south lane, group 2's runs on east
//	11         the pairs' output inserters (two a circuit assembler)
//	12..14     the pairs: a cable assembler handing its cable straight to a circuit
//	           assembler (as fullCablePairs), a substation after each pair
//	15         the pairs' input inserters: copper and iron from M
//	16         belt M: copper (south lane) | iron (north lane), east
//	16..25     each group's iron block, its plates on M's north lane
//	17..19     the pairs' beacons, under M: two reach each machine
//
// Not built yet: the oil, plastic, sulfur and sulfuric-acid plants, the advanced
// circuits' cable and advanced-circuit assemblers, the processing-unit assemblers and
// the belt to the utility row (sim/megabase/DESIGN.md); the circuits back up on their
// belts.
const (
	puCB     = 6  // belt CB
	puOut    = 10 // the groups' circuit belts
	puPair   = 12 // the pairs' top row
	puM      = 16 // belt M, the groups' plate belt
	puGroups = 3  // groups of cable/circuit pairs
)

// fullProcessingTasks are the tasks of the processing-unit line's plan.
var fullProcessingTasks = []string{"processing-unit", "advanced-circuit", "electronic-circuit", "copper-cable",
	"sulfuric-acid", "sulfur", "plastic-bar", "advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking",
	"mine crude-oil", "pump water", "copper-plate", "iron-plate", "mine copper-ore", "mine iron-ore", "mine coal"}

// fullProcessingBuilt are the tasks the layout builds so far: the circuits' (their
// copper and iron split between the groups, fullProcessingSizing).
var fullProcessingBuilt = []string{"electronic-circuit", "copper-cable", "copper-plate", "iron-plate",
	"mine copper-ore", "mine iron-ore"}

// fullUtilityRate is how many of item a cell's utility row takes a second at
// fullMarginPct of milliPacks/1000 packs a second.
func fullUtilityRate(b *sim.Bundle, milliPacks int64, item string) (*big.Rat, error) {
	const pack = "utility-science-pack"
	ri, ok := b.Recipe(pack)
	if !ok {
		return nil, fmt.Errorf("the bundle has no recipe %s", pack)
	}
	made, need := recipeOut(b, pack, pack), recipeIn(b, pack, item)
	if made <= 0 || need <= 0 {
		return nil, fmt.Errorf("recipe %s takes no %s", pack, item)
	}
	pf, err := (&planner{b: b}).prodFactor("assembling-machine-3", b.Recipes[ri].Productivity)
	if err != nil {
		return nil, err
	}
	// packs / (packs a craft × productivity) × items a craft.
	rate := big.NewRat(milliPacks*fullMarginPct*need, 100*1000*made)
	return rate.Quo(rate, pf), nil
}

// planFullProcessing plans the processing-unit line for one cell's utility row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullProcessing(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullUtilityRate(b, milliPacks, "processing-unit")
	if err != nil {
		return nil, err
	}
	p, err := planPart(b, map[string]*big.Rat{"processing-unit": rate}, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the utility row's processing units: %w", err)
	}
	return p, nil
}

// fullProcessingSizing is the processing-unit line's machines per task, its
// cable/circuit pairs per group and the copper and iron blocks of each group, sized
// for the group's share of the circuits, each rounded up.
type fullProcessingSizing struct {
	lines  fullFeedCounts
	pairs  [puGroups]int
	copper [puGroups]blockCount
	iron   [puGroups]blockCount
}

// sizeFullProcessing sizes the processing-unit line.
func sizeFullProcessing(b *sim.Bundle, milliPacks int64) (fullProcessingSizing, error) {
	ps := fullProcessingSizing{lines: fullFeedCounts{}}
	p, err := planFullProcessing(b, milliPacks)
	if err != nil {
		return ps, err
	}
	counts, lines, err := planTasks(p, "processing-unit line", fullProcessingTasks, true)
	if err != nil {
		return ps, err
	}
	ps.lines = counts
	n := counts["electronic-circuit"]
	if n < puGroups {
		return ps, fmt.Errorf("the processing-unit line's plan has %d circuit assemblers; the layout has %d groups of pairs", n, puGroups)
	}
	if counts["copper-cable"] < n {
		return ps, fmt.Errorf("the processing-unit line's plan has %d cable assemblers for %d circuit assemblers", counts["copper-cable"], n)
	}
	for k := range ps.pairs {
		ps.pairs[k] = n / puGroups
		if k < n%puGroups {
			ps.pairs[k]++
		}
	}
	// The pairs' share of the copper (by the cable the circuits and the advanced
	// circuits take) and of the iron (the rest is the sulfuric acid's), a group's
	// share by its pairs.
	in := func(recipe, item string) *big.Rat { return big.NewRat(recipeIn(b, recipe, item), 1) }
	mul := func(xs ...*big.Rat) *big.Rat {
		r := big.NewRat(1, 1)
		for _, x := range xs {
			r.Mul(r, x)
		}
		return r
	}
	ec := mul(lines["electronic-circuit"].rate, in("electronic-circuit", "copper-cable"))
	ac := mul(lines["advanced-circuit"].rate, in("advanced-circuit", "copper-cable"))
	copper := lines["copper-plate"]
	cu := mul(copper.rate, ec, new(big.Rat).Inv(new(big.Rat).Add(ec, ac)))
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return ps, err
	}
	fe := mul(lines["electronic-circuit"].rate, in("electronic-circuit", "iron-plate"), new(big.Rat).Inv(pf))
	var cuParts, feParts []*big.Rat
	for k := range ps.pairs {
		share := big.NewRat(int64(ps.pairs[k]), int64(n))
		cuParts = append(cuParts, mul(cu, share))
		feParts = append(feParts, mul(fe, share))
	}
	copy(ps.copper[:], splitBlocks(copper, lines["mine copper-ore"], cuParts...))
	copy(ps.iron[:], splitBlocks(lines["iron-plate"], lines["mine iron-ore"], feParts...))
	return ps, nil
}

// fullProcessingGroup is where one group of cable/circuit pairs lies (x absolute).
type fullProcessingGroup struct {
	pairs        int
	copper, iron smeltBlock // plate belts placed by fullProcessingGeom.at
	x            int32      // the pairs' first beacon
	end          int32      // the group's circuit belt's last column
}

// fullProcessingGeom is where one cell's processing-unit line lies.
type fullProcessingGeom struct {
	groups [puGroups]fullProcessingGroup
	x0     int32 // west edge
	xEnd   int32 // east edge
}

// newFullProcessingGeom lays the processing-unit line out from column west eastward.
func newFullProcessingGeom(ps *fullProcessingSizing, west int32) fullProcessingGeom {
	const m = fullFeedMargin
	g := fullProcessingGeom{x0: west}
	x := west
	for k := range g.groups {
		gr := &g.groups[k]
		gr.pairs = ps.pairs[k]
		cu, fe := ps.copper[k], ps.iron[k]
		// Both blocks end at one column, the pairs east of it.
		xE := max(smeltBlockAt(cu.drills, cu.furn, x, 0, true).xE, smeltBlockAt(fe.drills, fe.furn, x, 0, false).xE)
		gr.copper = newSmeltBlock(cu.drills, cu.furn, xE, 0, true)
		gr.iron = newSmeltBlock(fe.drills, fe.furn, xE, 0, false)
		gr.x = xE + 1
		gr.end = gr.x + 9*int32(gr.pairs)
		x = gr.end + 1 + m
	}
	g.xEnd = g.groups[puGroups-1].end
	return g
}

// at returns the geometry with the blocks' plate belts placed for a cell at oy.
func (g fullProcessingGeom) at(oy int32) fullProcessingGeom {
	for k := range g.groups {
		g.groups[k].copper.pb = oy + puM
		g.groups[k].iron.pb = oy + puM
	}
	return g
}

func (g *fullProcessingGeom) patches(b *sim.Bundle, oy int32) []sim.Patch {
	iron, _ := b.ItemID("iron-ore")
	copper, _ := b.ItemID("copper-ore")
	h := g.at(oy)
	var ps []sim.Patch
	for k := range h.groups {
		ps = append(ps, h.groups[k].copper.patch(copper, megaOre), h.groups[k].iron.patch(iron, megaOre))
	}
	return ps
}

// fullProcessing builds the processing-unit line of a cell at oy (what is built so
// far: the circuits onto belt CB and group 2's circuit belt).
func (l *layout) fullProcessing(g0 *fullProcessingGeom, oy int32) {
	g := g0.at(oy)
	y := func(r int32) int32 { return oy + r }
	speed2 := []string{planSpeed, planSpeed}
	beacon := func(x, r int32) { l.spec(sim.BuildSpec{Name: "beacon", X: x, Y: y(r), Modules: speed2}) }
	asm := func(x, r int32, recipe string) {
		l.spec(sim.BuildSpec{Name: "assembling-machine-3", X: x, Y: y(r), Recipe: recipe,
			Modules: l.modules("assembling-machine-3", true)})
	}
	for k := range g.groups {
		gr := &g.groups[k]
		l.smeltBlock(&gr.copper)
		l.smeltBlock(&gr.iron)
		mx := min(gr.copper.xs, gr.iron.xs)
		l.belt(fullBelt, mx, y(puM), sim.East, gr.end-mx)
		for j := 0; j < gr.pairs; j++ {
			kx := gr.x + 1 + 9*int32(j)
			ex := kx + 4
			asm(kx, puPair, "copper-cable")
			asm(ex, puPair, "electronic-circuit")
			l.put(fullInInserter, kx+3, y(puPair+1), sim.West) // cable into the circuit assembler
			l.put(fullInInserter, kx+1, y(puM-1), sim.South)   // copper from M
			l.put(fullInInserter, ex+1, y(puM-1), sim.South)   // iron from M
			l.put(fullInInserter, ex, y(puOut+1), sim.South)   // circuits onto the group's belt
			l.put(fullInInserter, ex+2, y(puOut+1), sim.South) // (two keep up)
			l.put("substation", kx+7, y(puPair), sim.North)
			beacon(kx-1, puM+1)
			beacon(kx+5, puM+1)
		}
		// The group's circuits: east along row 10; group 0's turn north into CB,
		// group 1's side-load CB's south lane, group 2's run on east.
		x1 := gr.x + 5
		switch k {
		case 0:
			l.belt(fullBelt, x1, y(puOut), sim.East, gr.end-x1)
			l.belt(fullBelt, gr.end, y(puOut), sim.North, puOut-puCB)
			l.belt(fullBelt, gr.end, y(puCB), sim.East, g.groups[1].end-gr.end)
		case 1:
			l.belt(fullBelt, x1, y(puOut), sim.East, gr.end-x1)
			l.belt(fullBelt, gr.end, y(puOut), sim.North, puOut-puCB)
			l.put(fullBelt, gr.end, y(puCB), sim.East)
		default:
			l.belt(fullBelt, x1, y(puOut), sim.East, gr.end-x1+1)
		}
	}
}
