package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
)

// The flying-robot-frame line of a megabase-full cell: the utility row's frames from
// ore, crude oil and water. A frame takes an electric engine unit, two batteries, a
// steel plate and three circuits; an electric engine unit an engine unit, two circuits
// and lubricant; a battery iron, copper and sulfuric acid. Sized by planPartWith for
// the row's frames at fullMarginPct with the beacons this layout gives (two for every
// assembler, plant, refinery and steel furnace, three for the smelting blocks'
// furnaces).
//
// Lubricant and sulfur take more heavy oil for each unit of petroleum gas than
// advanced oil processing and cracking can give (the plan's solve asks for heavy-oil
// cracking at a negative rate), so the line's refinery is sized for the heavy oil
// (gasSurplusToSolidFuel): its light oil is all cracked and the gas neither the sulfur
// plant takes becomes solid fuel, which boilers burn for steam engines on the cell's
// network. The engines give power only when the solar field gives less than the cell
// asks (sim/DESIGN.md, steam after solar), so the boilers are sized to burn a day's
// solid fuel in the ticks below the day's mean light, and a belt holds what is made
// in the others.

// fullFrameFixed are the frame line's machine counts the layout is drawn for; sizing
// fails if the plan asks for others.
var fullFrameFixed = map[string]int{
	"advanced-oil-processing": 1, "light-oil-cracking": 1, "lubricant": 1, "sulfur": 1, "sulfuric-acid": 1,
	"solid-fuel-from-petroleum-gas": 1, "mine crude-oil": 1, "pump water": 1,
	"electronic-circuit": 1, "copper-cable": 1, "iron-gear-wheel": 1, "pipe": 1,
}

// fullFrameTasks are the tasks the frame line lays out.
var fullFrameTasks = []string{"flying-robot-frame", "electric-engine-unit", "engine-unit", "battery",
	"lubricant", "sulfuric-acid", "sulfur", "solid-fuel-from-petroleum-gas", "advanced-oil-processing",
	"light-oil-cracking", "mine crude-oil", "pump water", "steel-plate", "iron-gear-wheel", "pipe",
	"electronic-circuit", "copper-cable", "copper-plate", "iron-plate", "mine copper-ore", "mine iron-ore"}

// fullFrameEnginesPerBoiler is how many steam engines one boiler's steam drives: a
// boiler makes 60 steam a second at 1.8 MW, an engine takes 30 at 900 kW.
const fullFrameEnginesPerBoiler = 2

// planFullFrames plans the frame line for one cell's utility row at fullMarginPct of
// milliPacks/1000 packs a second.
func planFullFrames(b *sim.Bundle, milliPacks int64) (*Plan, error) {
	rate, err := fullRowRate(b, milliPacks, "utility-science-pack", "flying-robot-frame")
	if err != nil {
		return nil, err
	}
	p, err := planPartWith(b, map[string]*big.Rat{"flying-robot-frame": rate}, fullFeedBeacons, fullOilAmount,
		planChoices{gasSurplusToSolidFuel: true})
	if err != nil {
		return nil, fmt.Errorf("plan the utility row's flying robot frames: %w", err)
	}
	return p, nil
}

// fullFrameSizing is the frame line's machines per task, how its iron is split
// between block A (the steel's) and block B (the rest's), each rounded up, and the
// boilers that burn its solid fuel.
type fullFrameSizing struct {
	lines   fullFeedCounts
	iron    [2]blockCount
	boilers int
}

// sizeFullFrames sizes the frame line.
func sizeFullFrames(b *sim.Bundle, milliPacks int64) (fullFrameSizing, error) {
	fs := fullFrameSizing{lines: fullFeedCounts{}}
	p, err := planFullFrames(b, milliPacks)
	if err != nil {
		return fs, err
	}
	counts, lines, err := planFixedTasks(p, "frame line", fullFrameTasks, fullFrameFixed, "the utility row's flying robot frames")
	if err != nil {
		return fs, err
	}
	fs.lines = counts
	pf, err := (&planner{b: b}).prodFactor("electric-furnace", true)
	if err != nil {
		return fs, err
	}
	iron := lines["iron-plate"]
	forSteel := new(big.Rat).Quo(new(big.Rat).Mul(lines["steel-plate"].rate, big.NewRat(recipeIn(b, "steel-plate", "iron-plate"), 1)), pf)
	copy(fs.iron[:], splitBlocks(iron, lines["mine iron-ore"], forSteel, new(big.Rat).Sub(iron.rate, forSteel)))
	if fs.boilers, err = fullFrameBoilers(b, lines["solid-fuel-from-petroleum-gas"]); err != nil {
		return fs, err
	}
	return fs, nil
}

// fullFrameBoilers is how many boilers burn the solid fuel the plan's line sf makes
// in the ticks of a day below its mean light, when the solar field gives less than
// the cell asks and the steam engines run.
func fullFrameBoilers(b *sim.Bundle, sf *PlanLine) (int, error) {
	boiler, err := entityProto(b, "boiler")
	if err != nil {
		return 0, err
	}
	fuel, ok := b.ItemID("solid-fuel")
	if !ok || b.Item(fuel).FuelValue <= 0 || boiler.EnergyUsage <= 0 {
		return 0, fmt.Errorf("the bundle's solid fuel or boiler burns nothing")
	}
	day := b.DayTicks
	var light int64
	for t := int64(0); t < day; t++ {
		light += sim.Daylight(day, uint64(t))
	}
	var steam int64 // ticks below the mean light
	for t := int64(0); t < day; t++ {
		if sim.Daylight(day, uint64(t))*day < light {
			steam++
		}
	}
	if steam == 0 {
		return 0, fmt.Errorf("a day of %d ticks has no tick below its mean light", day)
	}
	pf, err := (&planner{b: b}).prodFactor("chemical-plant", true)
	if err != nil {
		return 0, err
	}
	// Solid fuel a day (crafts a second × productivity × results × day / 60) × fuel
	// value over what a boiler burns in the steam ticks.
	made := new(big.Rat).Mul(sf.rate, pf)
	made.Mul(made, big.NewRat(recipeOut(b, "solid-fuel-from-petroleum-gas", "solid-fuel")*day*b.Item(fuel).FuelValue, sim.TicksPerSecond))
	return ratCeil(made.Quo(made, big.NewRat(steam*boiler.EnergyUsage, 1))), nil
}
