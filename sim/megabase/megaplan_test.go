package megabase

import (
	"maps"
	"slices"

	"github.com/starlane/starlane/sim"

	"math/big"
	"testing"
)

// The megabase-full plan at 2,700 SPM (45 of each pack a second): every item and
// fluid the plan consumes is made at exactly that rate, all seven packs and the
// rocket are in it, and the beaconed machines get the game's numbers.
func TestPlanFullBalancesAt2700SPM(t *testing.T) {
	b := sim.DefaultBundle()
	p, err := PlanFull(b, big.NewRat(45, 1), 1_500_000)
	if err != nil {
		t.Fatal(err)
	}
	if p.SPM != 2700 {
		t.Fatalf("plan SPM %v, want 2700", p.SPM)
	}
	checkBalanced(t, p)
	lines := map[string]PlanLine{}
	for _, l := range p.Lines {
		lines[l.Task] = l
		t.Logf("%-32s %-22s %5d machines  speed %+4d%%  prod %+3d%%  %8.3f/s (%.4f each)  %6.1f MW",
			l.Task, l.Machine, l.Machines, l.Speed, l.Productivity, l.Rate, l.PerMachine, float64(l.PowerW)/1e6)
	}
	t.Logf("%d machines, %.0f MW without beacons", p.Machines, float64(p.PowerW)/1e6)
	for _, task := range []string{"automation-science-pack", "logistic-science-pack", "military-science-pack",
		"chemical-science-pack", "production-science-pack", "utility-science-pack", "launch", "research",
		"advanced-oil-processing", "heavy-oil-cracking", "light-oil-cracking", "mine crude-oil", "pump water",
		"mine iron-ore", "mine copper-ore", "mine stone", "mine coal"} {
		if lines[task].Machines <= 0 {
			t.Errorf("the plan has no %s", task)
		}
	}
	// An assembling machine 3 with four productivity-module-3 and eight beacons of two
	// speed-module-3 (modules.json: speed 50 each, distribution 1.5, profile(8)
	// 0.3535): beacons 8 × 100 × 1.5 × 0.3535 = 424.2 → 424 %; own modules
	// 4 × (-15 %) speed and 4 × 10 % productivity.
	if l := lines["processing-unit"]; l.Speed != 364 || l.Productivity != 40 || l.Beacons != 8 {
		t.Errorf("beaconed assembler: speed %d%%, productivity %d%%, %d beacons; want 364, 40, 8", l.Speed, l.Productivity, l.Beacons)
	}
	// No productivity on final products: inserters get speed modules.
	if l := lines["inserter"]; l.Productivity != 0 || l.Modules[0] != "speed-module-3" {
		t.Errorf("inserter line: productivity %d%%, modules %v", l.Productivity, l.Modules)
	}
	// Labs consume one of each pack per unit: 45 units a second.
	if l := lines["research"]; l.Rate != 45 {
		t.Errorf("research at %v units a second, want 45", l.Rate)
	}
	if f := p.Flows["space-science-pack"]; f != 45 {
		t.Errorf("space science %v a second, want 45", f)
	}
}

// The plan's rate for a beaconed assembler is what the simulation makes: the
// automation and logistic pack lines, each machine built as the plan says (four
// productivity-module-3, eight beacons of two speed-module-3), fed from chests.
func TestPlanRatesMatchTheSimulation(t *testing.T) {
	b := sim.DefaultBundle()
	p, err := PlanFull(b, big.NewRat(45, 1), 1_500_000)
	if err != nil {
		t.Fatal(err)
	}
	feeds := map[string][]sim.InfinityFilter{
		"automation-science-pack": {{Item: "copper-plate", Count: 50, Mode: "exactly"}, {Item: "iron-gear-wheel", Count: 50, Mode: "exactly"}},
		"logistic-science-pack":   {{Item: "inserter", Count: 50, Mode: "exactly"}, {Item: "transport-belt", Count: 50, Mode: "exactly"}},
	}
	checked := 0
	for _, l := range p.Lines {
		feed, ok := feeds[l.Task]
		if !ok {
			continue
		}
		checked++
		s, _ := beaconedAssembler(t, l.Task, l.Modules, l.Beacons, []string{planSpeed, planSpeed}, feed)
		s.Run(600)
		a := s.Production().Produced[l.Task]
		s.Run(3 * 3600)
		got := float64(s.Production().Produced[l.Task]-a) / 180
		want := l.PerMachine * float64(100+l.Productivity) / 100 // packs a second (one pack a craft)
		if got < want*0.98 || got > want*1.02 {
			t.Errorf("%s: a machine made %.3f packs a second, the plan says %.3f", l.Task, got, want)
		}
		t.Logf("%s: %.3f packs a second, plan %.3f", l.Task, got, want)
	}
	if checked != len(feeds) {
		t.Fatalf("checked %d lines, want %d", checked, len(feeds))
	}
}

// A part of a base making only rocket fuel cannot balance its oil with cracking
// (rocket fuel takes light oil and solid fuel, cracking makes gas); with solid fuel
// from all three oil products every fluid the refineries make is used, exactly.
func TestPlanPartRocketFuelUsesEveryOilProduct(t *testing.T) {
	b := sim.DefaultBundle()
	rate := big.NewRat(7, 1)
	if _, err := planPart(b, map[string]*big.Rat{"rocket-fuel": rate}, nil, fullOilAmount); err == nil {
		t.Errorf("rocket fuel alone balanced with cracking; the solid-fuel choice is not needed")
	}
	p, err := planPartWith(b, map[string]*big.Rat{"rocket-fuel": rate}, nil, fullOilAmount, planChoices{solidFuelFromOil: true})
	if err != nil {
		t.Fatal(err)
	}
	checkBalanced(t, p)
	lines := map[string]PlanLine{}
	for _, l := range p.Lines {
		lines[l.Task] = l
	}
	for _, task := range []string{"rocket-fuel", "advanced-oil-processing", "solid-fuel-from-heavy-oil",
		"solid-fuel-from-light-oil", "solid-fuel-from-petroleum-gas", "mine crude-oil", "pump water"} {
		if lines[task].Machines <= 0 {
			t.Errorf("the plan has no %s", task)
		}
	}
	for _, task := range []string{"heavy-oil-cracking", "light-oil-cracking"} {
		if _, ok := lines[task]; ok {
			t.Errorf("the plan cracks oil (%s)", task)
		}
	}
	if f := p.Flows["rocket-fuel"]; f != 7 {
		t.Errorf("rocket fuel %v a second, want 7", f)
	}
}

// checkBalanced fails for every item or fluid the plan makes faster or slower than
// it uses.
func checkBalanced(t *testing.T, p *Plan) {
	t.Helper()
	for _, item := range slices.Sorted(maps.Keys(p.balance)) {
		if r := p.balance[item]; r.Sign() != 0 {
			f, _ := r.Float64()
			t.Errorf("%s: made minus used %.4f a second, want 0", item, f)
		}
	}
}

// The flying-robot-frame line takes more heavy oil (lubricant) for each unit of gas
// (sulfur) than advanced oil processing and cracking give, so the cracking plan
// fails for it; with the refineries sized for the heavy oil, the light oil all
// cracked and the gas left over made into solid fuel, every item and fluid balances
// but the solid fuel, which the line's boilers burn, and no heavy oil is cracked.
func TestPlanPartFramesBurnTheirSurplusGas(t *testing.T) {
	b := sim.DefaultBundle()
	rate, err := fullRowRate(b, fullCellMilli, "utility-science-pack", "flying-robot-frame")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := planPart(b, map[string]*big.Rat{"flying-robot-frame": rate}, fullFeedBeacons, fullOilAmount); err == nil {
		t.Errorf("the frames' oil balanced with cracking; the surplus-gas choice is not needed")
	}
	p, err := planFullFrames(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	sf := p.balance["solid-fuel"]
	if sf == nil || sf.Sign() <= 0 {
		t.Fatalf("the plan leaves no solid fuel over: %v", sf)
	}
	delete(p.balance, "solid-fuel")
	checkBalanced(t, p)
	lines := map[string]PlanLine{}
	for _, l := range p.Lines {
		lines[l.Task] = l
		t.Logf("%-30s %-22s %3d machines, %d beacons, %.4f/s each", l.Task, l.Machine, l.Machines, l.Beacons, l.PerMachine)
	}
	if _, ok := lines["heavy-oil-cracking"]; ok {
		t.Errorf("the plan cracks heavy oil")
	}
	f, _ := sf.Float64()
	t.Logf("solid fuel left over: %.4f a second; heavy oil %.2f, gas %.2f, lubricant %.2f, acid %.2f a second",
		f, p.Flows["heavy-oil"], p.Flows["petroleum-gas"], p.Flows["lubricant"], p.Flows["sulfuric-acid"])
	fs, err := sizeFullFrames(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	if fs.boilers <= 0 {
		t.Errorf("%d boilers for the solid fuel", fs.boilers)
	}
	checkSplit(t, "frame line", map[string]int{"iron-plate": lines["iron-plate"].Machines, "mine iron-ore": lines["mine iron-ore"].Machines},
		"iron-plate", "mine iron-ore", fs.iron[:])
	t.Logf("%d boilers, iron blocks %+v", fs.boilers, fs.iron)
}
