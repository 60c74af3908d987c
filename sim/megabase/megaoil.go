package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The oil block of a megabase-full cell: the chemical row's sulfur from crude oil.
// A pumpjack on a crude-oil tile and an offshore pump feed an oil refinery on
// advanced oil processing; a heavy-oil and a light-oil cracking plant turn its heavy
// and light oil into petroleum gas, and a chemical plant makes sulfur from gas and
// water. Sized by planPart with two beacons a machine, the chemical row's sulfur at
// fullMarginPct needs one of each, which is what this block lays out (sizing checks
// it). The sulfur goes onto a belt that runs under the chemical row, whose
// long-handed inserters take it; the row's infinity chests no longer hold sulfur.
//
// The plants stand in a staircase with their boxes joined by single pipes: the
// heavy cracker's light oil goes straight into the light cracker's oil input, whose
// gas goes straight into the sulfur plant's. The refinery faces west; its three
// outputs reach the staircase on three rows, two of them crossing the light-oil row
// under pipe-to-ground pairs. Water comes round the block to every water input.
// Positions are relative to the heavy cracker's top-left tile (h, v):
//
//	heavy cracker (h, v), light cracker (h-2, v+4), sulfur plant (h-4, v+8)
//	refinery (h+11, v+1) facing west, pumpjack (h+17, v) facing west
//	offshore pump (h-7, v+7) facing west; sulfur belt along v+12

// fullSulfurPacks are the pack rows whose sulfur comes from the oil block.
var fullSulfurPacks = map[string]bool{"chemical-science-pack": true}

// planFullSulfur plans the oil block for the sulfur of one cell's chemical row at
// fullMarginPct of milliPacks/1000 packs a second.
func planFullSulfur(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullRowRate(b, milliPacks, "chemical-science-pack", "sulfur")
	if err != nil {
		return nil, err
	}
	p, err := planPart(b, map[string]*big.Rat{"sulfur": rate}, fullFeedBeacons, fullOilAmount)
	if err != nil {
		return nil, fmt.Errorf("plan the chemical row's sulfur: %w", err)
	}
	for _, l := range p.Lines {
		if l.Machines != 1 {
			return nil, fmt.Errorf("the chemical row's sulfur needs %d machines for %s; the oil block is laid out for one", l.Machines, l.Task)
		}
	}
	return p, nil
}

// fullOilOrigin is the heavy cracker's top-left tile for a cell at (ox, oy): south
// of the red science lines, west of the silo.
func fullOilOrigin(ox, oy int32) (int32, int32) { return ox - 27, oy - 3 }

// fullOilPatch is the crude-oil tile under the pumpjack.
func fullOilPatch(b *sim.Bundle, ox, oy int32) sim.Patch {
	crude, _ := b.ItemID("crude-oil")
	h, v := fullOilOrigin(ox, oy)
	return sim.Patch{Resource: crude, X: h + 18, Y: v + 1, W: 1, H: 1, Amount: fullOilAmount}
}

// fullOil builds the oil block and the sulfur belt, which runs under the chemical
// row (its long-handed inserters pick from y = oy+5) to rowEnd.
func (l *layout) fullOil(ox, oy, rowEnd int32) {
	h, v := fullOilOrigin(ox, oy)
	chem := l.modules("chemical-plant", true)
	beacon, pipes := l.beacon, l.pipes
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: h, Y: v, Recipe: "heavy-oil-cracking", Modules: chem})
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: h - 2, Y: v + 4, Recipe: "light-oil-cracking", Modules: chem})
	l.spec(sim.BuildSpec{Name: "chemical-plant", X: h - 4, Y: v + 8, Recipe: "sulfur", Modules: chem})
	l.spec(sim.BuildSpec{Name: "oil-refinery", X: h + 11, Y: v + 1, Dir: sim.West, Recipe: "advanced-oil-processing",
		Modules: l.modules("oil-refinery", true)})
	l.spec(sim.BuildSpec{Name: "pumpjack", X: h + 17, Y: v, Dir: sim.West, Modules: l.modules("pumpjack", true)})
	l.put("offshore-pump", h-7, v+7, sim.West)

	// Heavy oil: west out of the refinery, up under the light and gas rows, west into
	// the heavy cracker.
	pipes(h+10, v+5, h+8, v+5)
	l.put("pipe-to-ground", h+8, v+4, sim.South)
	l.put("pipe-to-ground", h+8, v, sim.North)
	pipes(h+8, v-1, h+2, v-1)
	// Light oil: straight west into the pipe between the two crackers.
	pipes(h+10, v+3, h, v+3)
	// Petroleum gas: west, down under the light row, west into the pipe between the
	// light cracker and the sulfur plant.
	pipes(h+10, v+1, h+6, v+1)
	l.put("pipe-to-ground", h+6, v+2, sim.North)
	l.put("pipe-to-ground", h+6, v+4, sim.South)
	pipes(h+6, v+5, h+6, v+7)
	pipes(h+5, v+7, h-2, v+7)
	// Crude oil: pumpjack to refinery.
	l.put("pipe", h+16, v+2, sim.North)
	// Water: pump, a column west of the plants with a stub to each, round the top to
	// the refinery.
	pipes(h-6, v-3, h-6, v+7)
	pipes(h-5, v-1, h, v-1)
	pipes(h-5, v+3, h-2, v+3)
	pipes(h-5, v+7, h-4, v+7)
	pipes(h-5, v-3, h+21, v-3)
	pipes(h+21, v-2, h+21, v+4)
	pipes(h+20, v+4, h+16, v+4)

	// Two beacons reach each plant and the refinery.
	beacon(h+3, v)
	beacon(h-3, v)
	beacon(h-7, v+8)
	beacon(h-1, v+8)
	beacon(h+11, v+6)
	beacon(h+14, v+6)
	for _, p := range [][2]int32{{h - 9, v + 1}, {h + 2, v + 9}, {h + 13, v - 2}} {
		l.put("substation", p[0], p[1], sim.North)
	}

	// Sulfur: onto a belt east along v+12, north at ox-2, east under the chemical row.
	l.put(fullOutInserter, h-3, v+11, sim.North)
	y := v + 12
	turn := ox - 2
	l.belt(fullBelt, h-3, y, sim.East, turn-(h-3))
	l.belt(fullBelt, turn, y, sim.North, y-(oy+fullSulfurBeltY))
	l.belt(fullBelt, turn, oy+fullSulfurBeltY, sim.East, rowEnd-turn)
}

// fullSulfurBeltY is the row of the sulfur belt under the chemical row.
const fullSulfurBeltY = 5
