package megabase

import (
	"fmt"
	"math/big"

	"github.com/starlane/starlane/sim"
)

// megabase-full's power: a field of solar panels and accumulators east of each cell,
// as UPS-minded megabases are powered (no fuel, no fluid, nothing to update each tick).
//
// The field is sized from a cell's measured demand and the simulation's own day:
//
//   - demand: one cell (fullCellMilli) powered by an electric-energy-interface
//     (fullPowerEEI), run to game minute 22 (the labs full) and then for a whole day
//     (25,000 ticks), reading sim's Power().DemandW every tick: mean 4,083 MW, peak
//     4,199 MW (seed 1, with the silo fed from belts, the module, furnace, rocket-fuel,
//     processing-unit, low-density-structure,
//     frame and satellite-parts lines, the low-density-structure line sized for the
//     row, the silo and the satellites and the silo's and satellites' processing-unit
//     line; with the low-density-structure line for the row only, without the second
//     processing-unit line and the satellite-parts line, from minute 10, 2,987 and
//     3,115 MW; without the
//     frame line 2,868 and 2,979 MW; without either 2,511 and
//     2,617 MW; with the module,
//     furnace and processing-unit lines 2,388 and 2,491 MW; with the module, furnace
//     and rocket-fuel lines 2,222 and 2,314 MW; before both 2,099 and 2,188 MW; with
//     the module line only, 1,728 and 1,774 MW;
//     before it, 1,548 and 1,589 MW, of which the cell's 911 beacons drew a constant
//     437 MW). TestMegabaseFullCellDemandFitsItsField
//     repeats the measurement and fails if the cell asks for more than fullCellDemandW or
//     its peak drifts from fullCellPeakW;
//   - solar: the bundle's solar-panel production (60 kW at full light) and sim.Daylight with
//     the bundle's DayTicks (25,000): full light for half the day, a linear dusk and dawn of
//     a fifth each and a tenth of the day dark, so a panel gives 70 % of its peak over a day;
//   - accumulators: the bundle's buffer (5 MJ) and input and output limits (300 kW each).
//
// sizeFullSolar takes fullCellDemandW (the measured peak with fullSolarMarginPct on top,
// 4,408.95 MW) as a constant draw all day: enough panels that a day's light gives a
// day's energy at that draw (104,976), and the fewest accumulators that carry it
// through the evening, the night and the morning (88,180: 441 GJ; their output limit
// alone would need 14,697), computed tick by tick as sim's
// updatePower settles a network (solar first, then accumulators within their output
// limit, the surplus charging them within their input limit), starting full at noon and
// checked over two days.
const (
	fullCellPeakW      = 4_199_000_000 // measured peak of a cell, W (rounded up to a MW)
	fullSolarMarginPct = 105           // the field is sized for 105 % of the measured peak
	fullCellDemandW    = fullCellPeakW * fullSolarMarginPct / 100
)

// fullPower says how a generated megabase-full is powered.
type fullPower int

const (
	fullPowerSolar fullPower = iota // a solar field per cell (the map)
	fullPowerEEI                    // an electric-energy-interface per cell (to measure demand)
)

// fullSolar is one cell's solar field.
type fullSolar struct {
	panels, accumulators int
}

// sizeFullSolar sizes a field that powers a constant demand of demandW watts through
// the whole day.
func sizeFullSolar(b *sim.Bundle, demandW int64) (fullSolar, error) {
	var f fullSolar
	panel, err := entityProto(b, "solar-panel")
	if err != nil {
		return f, err
	}
	acc, err := entityProto(b, "accumulator")
	if err != nil {
		return f, err
	}
	day := b.DayTicks
	if day <= 0 || panel.Production <= 0 || acc.Buffer <= 0 || acc.FlowOut <= 0 || acc.FlowIn <= 0 {
		return f, fmt.Errorf("the bundle's day (%d ticks), solar panel or accumulator cannot power a base", day)
	}
	// A day's light, in SatOne-ticks; energy is in W-ticks (sim's units: a power of P W
	// is P energy units a tick).
	light := dayLight(day)
	// panels × production × light / SatOne ≥ demand × day, rounded up (big: the product
	// exceeds 63 bits from 5 GW on).
	num := new(big.Int).Mul(big.NewInt(demandW), big.NewInt(day))
	num.Mul(num, big.NewInt(sim.SatOne))
	den := new(big.Int).Mul(big.NewInt(panel.Production), big.NewInt(light))
	num.Add(num, den).Sub(num, big.NewInt(1))
	f.panels = int(num.Quo(num, den).Int64())

	// The energy the accumulators give over a day, and the accumulators for it; at
	// least enough to give the whole demand in the dark.
	peak := int64(f.panels) * panel.Production
	var short int64
	for t := int64(0); t < day; t++ {
		short += max(0, demandW-peak*sim.Daylight(day, uint64(t))/sim.SatOne)
	}
	n := max((short+acc.Buffer-1)/acc.Buffer, (demandW+acc.FlowOut-1)/acc.FlowOut)
	// Two days from noon with full accumulators: the evening never finds them short.
	energy := n * acc.Buffer
	for t := int64(0); t < 2*day; t++ {
		solar := peak * sim.Daylight(day, uint64(t)) / sim.SatOne
		if need := demandW - solar; need > 0 {
			if need > min(energy, n*acc.FlowOut) {
				return f, fmt.Errorf("%d accumulators run short at tick %d of a day", n, t%day)
			}
			energy -= need
		} else {
			energy += min(-need, n*acc.FlowIn, n*acc.Buffer-energy)
		}
	}
	f.accumulators = int(n)
	return f, nil
}

// dayLight is a day of day ticks' light, in SatOne-ticks (sim.Daylight summed).
func dayLight(day int64) int64 {
	var light int64
	for t := int64(0); t < day; t++ {
		light += sim.Daylight(day, uint64(t))
	}
	return light
}

func entityProto(b *sim.Bundle, name string) (*sim.EntityProto, error) {
	i, ok := b.Entity(name)
	if !ok {
		return nil, fmt.Errorf("the bundle has no %s", name)
	}
	return &b.Entities[i], nil
}

// Field geometry: the field of a cell at oy fills rows oy-33 to oy+32 (the cell pitch)
// east of the labs, in slabs of fullSlab columns, each with a substation in its first two
// columns at rows fullFieldSubs (a substation's wire reach and supply width are 18 tiles,
// so the slabs' substations form one grid that supplies every tile of the band and joins
// the next cell's field). Panels fill the first slabs, accumulators the next.
const (
	fullFieldTop = -33
	fullFieldH   = fullCellPitch
	fullSlab     = 18
)

var fullFieldSubs = []int32{-27, -9, 9, 27}

// fullFieldSlabs returns how many slabs a field's panels and accumulators take: a slab
// holds 22 rows of six panels less the four whose spot a substation takes (the first
// slab one less, for the substation joining the labs), or 33 rows of nine accumulators
// less four.
func fullFieldSlabs(f fullSolar) (panelSlabs, accSlabs int32) {
	perPanels := int(fullFieldH/3)*(fullSlab/3) - len(fullFieldSubs)
	perAcc := int(fullFieldH/2)*(fullSlab/2) - len(fullFieldSubs)
	return int32((f.panels + 1 + perPanels - 1) / perPanels), int32((f.accumulators + perAcc - 1) / perAcc)
}

// fullFieldWidth is how many columns a field takes: its slabs and a last column of
// substations (a substation at x supplies columns x-8 to x+9).
func fullFieldWidth(f fullSolar) int32 {
	p, a := fullFieldSlabs(f)
	return (p+a)*fullSlab + 2
}

// fullLabsEnd is the first column east of a cell's labs and belts.
func fullLabsEnd(sz *fullSizing, ox int32) int32 {
	return fullTurnX(sz, ox) + 5 + 6*int32(sz.labs-1) + 6
}

// fullSolarField lays out a cell's field from column x0 (east of the lines east of the
// labs, fullProcessing2Geom.east), joined to the last line's last
// substations by one at (x0, oy), between the field's first rows of substations.
func (l *layout) fullSolarField(f fullSolar, x0, oy int32) {
	p, a := fullFieldSlabs(f)
	y0, y1 := oy+fullFieldTop, oy+fullFieldTop+fullFieldH-1
	for k := int32(0); k <= p+a; k++ {
		for _, dy := range fullFieldSubs {
			l.put("substation", x0+k*fullSlab, oy+dy, sim.North)
		}
	}
	l.put("substation", x0, oy, sim.North)
	xa := x0 + p*fullSlab
	l.fill("solar-panel", x0, y0, xa-1, y1, f.panels)
	l.fill("accumulator", xa, y0, xa+a*fullSlab-1, y1, f.accumulators)
}
