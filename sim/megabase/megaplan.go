package megabase

import (
	"github.com/starlane/starlane/sim"

	"fmt"
	"math/big"
	"sort"

	"github.com/starlane/starlane/sim/fluid"
	"github.com/starlane/starlane/sim/module"
)

// The production plan of megabase-full: how many machines of each recipe a base
// needs to research at a given rate with all seven science packs, from ore, water
// and crude oil to labs, beaconed as the community builds 2.0 megabases. Every
// number comes from the bundle, that is from the game's prototype data
// (data/factorio-2.0.77.json, science.json, fluids.json, modules.json, each entry
// naming its source): recipe times, ingredients and results, crafting and mining
// speeds, module effects, the beacon's distribution effectivity and 2.0 profile,
// allow_productivity, the silo's parts per rocket and launch time, the satellite's
// launch products, the pumpjack's yield and the lab's research speed. The plan
// itself only chooses what a player chooses: which machine, which modules, how many
// beacons, which recipe makes an item (solid fuel from light oil; advanced oil
// processing with both crackings; for a part of a base that makes only rocket
// fuel, solid fuel from all three oil products instead: planChoices), how rich the
// oil field is.
//
// The arithmetic is exact (rationals); machine counts are rounded up.

// planBeacons is how many beacons reach each crafting machine (the 8-beacon
// rows of 2.0 megabases), each holding two speed-module-3.
const planBeacons = 8

// planModules is the module each receiver holds in every slot: productivity-module-3
// where the recipe allows productivity, speed-module-3 elsewhere (the game refuses
// productivity on final products such as inserters and satellites).
const (
	planProd  = "productivity-module-3"
	planSpeed = "speed-module-3"
)

// planRecipeFor is the recipe a plan uses for an item or fluid that several recipes
// make (and for every item it makes at all). Oil products come from the refinery and
// crackers together (planOil).
var planRecipeFor = map[string]string{
	"iron-plate": "iron-plate", "copper-plate": "copper-plate", "steel-plate": "steel-plate",
	"stone-brick": "stone-brick", "iron-gear-wheel": "iron-gear-wheel", "copper-cable": "copper-cable",
	"electronic-circuit": "electronic-circuit", "advanced-circuit": "advanced-circuit",
	"processing-unit": "processing-unit", "pipe": "pipe", "iron-stick": "iron-stick",
	"engine-unit": "engine-unit", "electric-engine-unit": "electric-engine-unit",
	"plastic-bar": "plastic-bar", "sulfur": "sulfur", "sulfuric-acid": "sulfuric-acid",
	"battery": "battery", "lubricant": "lubricant", "solid-fuel": "solid-fuel-from-light-oil",
	"rocket-fuel": "rocket-fuel", "low-density-structure": "low-density-structure",
	"transport-belt": "transport-belt", "inserter": "inserter",
	"firearm-magazine": "firearm-magazine", "piercing-rounds-magazine": "piercing-rounds-magazine",
	"grenade": "grenade", "stone-wall": "stone-wall", "rail": "rail",
	"electric-furnace": "electric-furnace", "productivity-module": "productivity-module",
	"flying-robot-frame": "flying-robot-frame", "solar-panel": "solar-panel", "accumulator": "accumulator",
	"radar": "radar", "satellite": "satellite", "rocket-part": "rocket-part",
	"automation-science-pack": "automation-science-pack", "logistic-science-pack": "logistic-science-pack",
	"military-science-pack": "military-science-pack", "chemical-science-pack": "chemical-science-pack",
	"production-science-pack": "production-science-pack", "utility-science-pack": "utility-science-pack",
}

// planMachineFor is the machine for each recipe category.
var planMachineFor = map[string]string{
	"crafting": "assembling-machine-3", "advanced-crafting": "assembling-machine-3",
	"crafting-with-fluid": "assembling-machine-3", "smelting": "electric-furnace",
	"chemistry": "chemical-plant", "oil-processing": "oil-refinery", "rocket-building": "rocket-silo",
}

// PlanLine is one kind of machine in a plan.
type PlanLine struct {
	// What the machines do: a recipe, "mine <resource>", "pump water", "launch"
	// (the silos' launches, for the record) or "research".
	Task    string `json:"task"`
	Machine string `json:"machine"`
	// Modules per machine and beacons reaching each one.
	Modules []string `json:"modules"`
	Beacons int      `json:"beacons"`
	// Speed and Productivity are the machine's total effects in percent, as the
	// simulation computes them (module.Transmission, limits).
	Speed        int32 `json:"speed_percent"`
	Productivity int32 `json:"productivity_percent"`
	// Rate is how many crafts (mining cycles, research units, rockets) per second the
	// base needs; PerMachine how many one machine does; Machines the count, rounded up.
	Rate       float64 `json:"rate"`
	PerMachine float64 `json:"per_machine"`
	Machines   int     `json:"machines"`
	// PowerW is the lines' electric draw while working (beacons not included).
	PowerW int64 `json:"power_w"`

	rate, per *big.Rat
}

// Plan is a whole base's production plan.
type Plan struct {
	PacksPerSecond float64 `json:"packs_per_second"`
	SPM            float64 `json:"spm"`
	Lines          []PlanLine
	// Flows is every item's and fluid's rate in units per second (produced, net of
	// productivity), for checking the plan and sizing belts and pipes.
	Flows map[string]float64 `json:"flows"`
	// Machines is the total of machines, Beacons the beacons if none were shared
	// (a layout shares each among several machines), PowerW the machines' draw.
	Machines int   `json:"machines"`
	PowerW   int64 `json:"power_w"`

	balance map[string]*big.Rat // produced minus consumed, per item
}

// PlanFull plans a base making packsPerSec of each of the seven packs (2,700 SPM is
// 45 a second), with crude oil from pumpjacks on tiles holding oilAmount.
func PlanFull(b *sim.Bundle, packsPerSec *big.Rat, oilAmount int64) (*Plan, error) {
	pl := &planner{b: b, demand: map[string]*big.Rat{}, made: map[string]bool{}}
	p := &Plan{Flows: map[string]float64{}, balance: map[string]*big.Rat{}}
	pl.plan = p
	packs := []string{"automation-science-pack", "logistic-science-pack", "military-science-pack",
		"chemical-science-pack", "production-science-pack", "utility-science-pack", "space-science-pack"}
	ti, ok := b.Tech("refined-flammables-7")
	if !ok {
		return nil, fmt.Errorf("the bundle has no refined-flammables-7 research")
	}
	tech := &b.Techs[ti]
	// Labs: research units per second = packs per second (one of each pack a unit).
	units := new(big.Rat).Set(packsPerSec)
	if err := pl.line("research", "lab", true, units, new(big.Rat).SetFrac64(1, 1), tech.Work); err != nil {
		return nil, err
	}
	for _, n := range packs {
		pl.need(n, packsPerSec)
	}
	// Space science comes from rockets: each launch gives the satellite's launch products.
	sat, _ := b.ItemID("satellite")
	si := b.Item(sat)
	rockets := new(big.Rat).Quo(pl.demand["space-science-pack"], new(big.Rat).SetInt64(int64(si.LaunchCount)))
	pl.produce("space-science-pack", pl.demand["space-science-pack"])
	if err := pl.silos(rockets); err != nil {
		return nil, err
	}
	pl.need("satellite", rockets)
	// Everything else, consumers before producers.
	if err := pl.solve(oilAmount); err != nil {
		return nil, err
	}
	p.finish(pl, packsPerSec)
	return p, nil
}

// finish sorts the lines and fills in the exported figures.
func (p *Plan) finish(pl *planner, packsPerSec *big.Rat) {
	sort.SliceStable(p.Lines, func(i, j int) bool { return p.Lines[i].Task < p.Lines[j].Task })
	for i := range p.Lines {
		l := &p.Lines[i]
		l.Rate, _ = l.rate.Float64()
		l.PerMachine, _ = l.per.Float64()
		p.Machines += l.Machines
		p.PowerW += l.PowerW
	}
	p.PacksPerSecond, _ = packsPerSec.Float64()
	p.SPM = p.PacksPerSecond * 60
	for n, r := range pl.produced {
		p.Flows[n], _ = r.Float64()
	}
}

// planPart plans the lines that make rates (items a second) and everything they
// take, down to ore and crude oil (tiles holding oilAmount), with the same recipes,
// machines and modules as PlanFull; beacons gives the beacons reaching each task's
// machines where a layout has fewer than planBeacons. megabase-full sizes the lines
// it lays out with it.
func planPart(b *sim.Bundle, rates map[string]*big.Rat, beacons map[string]int, oilAmount int64) (*Plan, error) {
	return planPartWith(b, rates, beacons, oilAmount, planChoices{})
}

// planChoices are the choices a part of a base makes differently from PlanFull.
type planChoices struct {
	// solidFuelFromOil makes solid fuel from all three oil products (heavy oil,
	// light oil and petroleum gas, each with its own recipe) with no cracking: a
	// line whose only oil product is solid fuel, or rocket fuel, which takes solid
	// fuel and light oil, uses every fluid advanced oil processing makes that way
	// (cracking alone cannot balance it: cracking makes gas, which rocket fuel does
	// not take). The refinery's heavy oil and gas all become solid fuel, and so does
	// the light oil left over.
	solidFuelFromOil bool
	// gasSurplusToSolidFuel balances the oil of a line that takes more heavy oil for
	// each unit of petroleum gas than advanced oil processing and cracking can give
	// (lubricant and sulfur: the solve asks for heavy-oil cracking at a negative rate).
	// The refineries are sized for the heavy oil, with no heavy-oil cracking, all the
	// light oil not used is cracked, and the gas not used becomes solid fuel
	// (solid-fuel-from-petroleum-gas), which the plan leaves over for the layout to
	// burn: the only item it makes faster than it uses.
	gasSurplusToSolidFuel bool
}

// planPartWith is planPart with choices.
func planPartWith(b *sim.Bundle, rates map[string]*big.Rat, beacons map[string]int, oilAmount int64, choices planChoices) (*Plan, error) {
	pl := &planner{b: b, demand: map[string]*big.Rat{}, made: map[string]bool{}, beacons: beacons, choices: choices}
	p := &Plan{Flows: map[string]float64{}, balance: map[string]*big.Rat{}}
	pl.plan = p
	names := make([]string, 0, len(rates))
	for n := range rates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pl.need(n, rates[n])
	}
	if err := pl.solve(oilAmount); err != nil {
		return nil, err
	}
	p.finish(pl, new(big.Rat))
	return p, nil
}

type planner struct {
	b        *sim.Bundle
	plan     *Plan
	demand   map[string]*big.Rat // consumption per second, per item or fluid
	produced map[string]*big.Rat
	made     map[string]bool // items whose producer line is planned
	// beacons, when set, is how many beacons reach the machines of a task (a recipe
	// name) in a layout that gives them fewer than planBeacons; tasks not in it get
	// planBeacons.
	beacons map[string]int
	choices planChoices
}

func (pl *planner) need(item string, r *big.Rat) {
	if pl.demand[item] == nil {
		pl.demand[item] = new(big.Rat)
	}
	pl.demand[item].Add(pl.demand[item], r)
	pl.bal(item).Sub(pl.bal(item), r)
}

func (pl *planner) produce(item string, r *big.Rat) {
	if pl.produced == nil {
		pl.produced = map[string]*big.Rat{}
	}
	if pl.produced[item] == nil {
		pl.produced[item] = new(big.Rat)
	}
	pl.produced[item].Add(pl.produced[item], r)
	pl.bal(item).Add(pl.bal(item), r)
}

func (pl *planner) bal(item string) *big.Rat {
	if pl.plan.balance[item] == nil {
		pl.plan.balance[item] = new(big.Rat)
	}
	return pl.plan.balance[item]
}

// effects returns a machine's modules and total effect, as recomputeEffects does.
func (pl *planner) effects(machine string, prodOK bool, beacons int) ([]string, module.Effect, *sim.EntityProto, error) {
	b := pl.b
	pi, ok := b.Entity(machine)
	if !ok {
		return nil, module.Effect{}, nil, fmt.Errorf("the bundle has no %s", machine)
	}
	p := &b.Entities[pi]
	name := planSpeed
	if prodOK {
		name = planProd
	}
	var own module.Effect
	var mods []string
	for k := int32(0); k < p.ModuleSlots; k++ {
		id, ok := b.ItemID(name)
		if !ok || b.Item(id).Module == nil {
			return nil, module.Effect{}, nil, fmt.Errorf("the bundle has no module %s", name)
		}
		own = own.Add(b.Item(id).Module.Effect)
		mods = append(mods, name)
	}
	var tx module.Transmission
	if beacons > 0 && p.BeaconTarget {
		bi, _ := b.Entity("beacon")
		bp := &b.Entities[bi]
		sid, _ := b.ItemID(planSpeed)
		var be module.Effect
		for k := int32(0); k < 2; k++ {
			be = be.Add(b.Item(sid).Module.Effect)
		}
		be = bp.AllowedEffects.Keep(be)
		for k := 0; k < beacons; k++ {
			tx.Add(be, bp.Distribution)
		}
		own = own.Add(tx.Effect(bp.Profile))
	}
	total := b.ModuleLimits.Clamp(p.AllowedEffects.Keep(own))
	return mods, total, p, nil
}

// line adds a line of machines doing rate tasks a second, each taking work units at
// the machine's speed; it returns the line's productivity factor through the plan.
func (pl *planner) line(task, machine string, prodOK bool, rate, perTask *big.Rat, work int64) error {
	beacons := planBeacons
	if n, ok := pl.beacons[task]; ok {
		beacons = n
	}
	if machine == "electric-mining-drill" || machine == "pumpjack" {
		beacons = 0 // drills sit on ore in rows of their own, unbeaconed
	}
	mods, eff, p, err := pl.effects(machine, prodOK, beacons)
	if err != nil {
		return err
	}
	// Tasks per second of one machine: speed/100 × (100+speed%)/100 × WorkPerSecond / work.
	per := new(big.Rat).SetFrac64(int64(p.Speed)*int64(100+eff.Speed)*sim.WorkPerSecond, 100*100*work)
	per.Mul(per, perTask)
	n := new(big.Rat).Quo(rate, per)
	count := new(big.Int).Quo(n.Num(), n.Denom())
	if new(big.Rat).SetInt(count).Cmp(n) < 0 {
		count.Add(count, big.NewInt(1))
	}
	usage := module.Scale(p.EnergyUsage, eff.Consumption)
	pl.plan.Lines = append(pl.plan.Lines, PlanLine{Task: task, Machine: machine, Modules: mods, Beacons: beacons,
		Speed: eff.Speed, Productivity: eff.Productivity, Machines: int(count.Int64()),
		PowerW: count.Int64() * usage, rate: new(big.Rat).Set(rate), per: per})
	return nil
}

// prodFactor is 1 + productivity for a machine running a recipe.
func (pl *planner) prodFactor(machine string, prodOK bool) (*big.Rat, error) {
	_, eff, _, err := pl.effects(machine, prodOK, planBeacons)
	if err != nil {
		return nil, err
	}
	return new(big.Rat).SetFrac64(int64(100+eff.Productivity), 100), nil
}

// recipe plans the crafts of recipe rn that make rate of item out.
func (pl *planner) recipe(rn, out string, rate *big.Rat) error {
	b := pl.b
	ri, ok := b.Recipe(rn)
	if !ok {
		return fmt.Errorf("the bundle has no recipe %s", rn)
	}
	r := &b.Recipes[ri]
	machine := planMachineFor[r.Category]
	if machine == "" {
		return fmt.Errorf("recipe %s: no machine for category %s", rn, r.Category)
	}
	pf, err := pl.prodFactor(machine, r.Productivity)
	if err != nil {
		return err
	}
	var per int64
	for _, x := range r.Results {
		if x.Name == out {
			per = int64(x.Amount)
		}
	}
	for _, x := range r.FluidOut {
		if x.Name == out {
			per = int64(x.Amount) / int64(fluid.Unit)
		}
	}
	if per == 0 {
		return fmt.Errorf("recipe %s does not make %s", rn, out)
	}
	crafts := new(big.Rat).Quo(rate, new(big.Rat).Mul(new(big.Rat).SetInt64(per), pf))
	if err := pl.line(rn, machine, r.Productivity, crafts, big.NewRat(1, 1), r.Work); err != nil {
		return err
	}
	pl.craft(r, crafts, pf)
	return nil
}

// craft books crafts a second of r: ingredients needed, results produced.
func (pl *planner) craft(r *sim.RecipeProto, crafts, pf *big.Rat) {
	for _, x := range r.Ingredients {
		pl.need(x.Name, new(big.Rat).Mul(crafts, new(big.Rat).SetInt64(int64(x.Amount))))
	}
	for _, x := range r.FluidIn {
		pl.need(x.Name, new(big.Rat).Mul(crafts, new(big.Rat).SetFrac64(int64(x.Amount), int64(fluid.Unit))))
	}
	out := new(big.Rat).Mul(crafts, pf)
	for _, x := range r.Results {
		pl.produce(x.Name, new(big.Rat).Mul(out, new(big.Rat).SetInt64(int64(x.Amount))))
	}
	for _, x := range r.FluidOut {
		pl.produce(x.Name, new(big.Rat).Mul(out, new(big.Rat).SetFrac64(int64(x.Amount), int64(fluid.Unit))))
	}
}

// silos plans the rocket silos: each rocket takes RocketParts parts (fewer crafts with
// productivity) and then LaunchTicks of launching.
func (pl *planner) silos(rockets *big.Rat) error {
	b := pl.b
	pi, ok := b.Entity("rocket-silo")
	if !ok {
		return fmt.Errorf("the bundle has no rocket-silo")
	}
	p := &b.Entities[pi]
	ri, _ := b.Recipe(p.FixedRecipe)
	r := &b.Recipes[ri]
	mods, eff, _, err := pl.effects("rocket-silo", r.Productivity, planBeacons)
	if err != nil {
		return err
	}
	pf := new(big.Rat).SetFrac64(int64(100+eff.Productivity), 100)
	parts := new(big.Rat).Mul(rockets, new(big.Rat).SetInt64(int64(p.RocketParts)))
	crafts := new(big.Rat).Quo(parts, pf)
	// Seconds per rocket: the crafts for its parts, then the launch.
	craftSec := new(big.Rat).SetFrac64(r.Work*100*100, int64(p.Speed)*int64(100+eff.Speed)*sim.WorkPerSecond)
	perRocket := new(big.Rat).Mul(craftSec, new(big.Rat).Quo(new(big.Rat).SetInt64(int64(p.RocketParts)), pf))
	perRocket.Add(perRocket, new(big.Rat).SetFrac64(int64(p.LaunchTicks), 60))
	per := new(big.Rat).Inv(perRocket)
	n := new(big.Rat).Quo(rockets, per)
	count := new(big.Int).Quo(n.Num(), n.Denom())
	if new(big.Rat).SetInt(count).Cmp(n) < 0 {
		count.Add(count, big.NewInt(1))
	}
	usage := module.Scale(p.EnergyUsage, eff.Consumption)
	pl.plan.Lines = append(pl.plan.Lines, PlanLine{Task: "launch", Machine: "rocket-silo", Modules: mods, Beacons: planBeacons,
		Speed: eff.Speed, Productivity: eff.Productivity, Machines: int(count.Int64()), PowerW: count.Int64() * usage,
		rate: new(big.Rat).Set(rockets), per: per})
	pl.craft(r, crafts, pf)
	pl.need("rocket-part", parts) // the parts go into the rockets
	return nil
}

// solve plans every producer, consumers first: an item is planned once every recipe
// that consumes it is. Oil products are planned together when all three are due.
func (pl *planner) solve(oilAmount int64) error {
	b := pl.b
	// consumers[item] = chosen recipes (by the item they make) that take item.
	consumers := map[string][]string{}
	for item, rn := range planRecipeFor {
		ri, ok := b.Recipe(rn)
		if !ok {
			return fmt.Errorf("the bundle has no recipe %s", rn)
		}
		r := &b.Recipes[ri]
		for _, x := range r.Ingredients {
			consumers[x.Name] = append(consumers[x.Name], item)
		}
		for _, x := range r.FluidIn {
			consumers[x.Name] = append(consumers[x.Name], item)
		}
	}
	oil := map[string]bool{"heavy-oil": true, "light-oil": true, "petroleum-gas": true}
	for _, n := range []string{"heavy-oil-cracking", "light-oil-cracking", "advanced-oil-processing"} {
		ri, _ := b.Recipe(n)
		for _, x := range b.Recipes[ri].FluidIn {
			if !oil[x.Name] {
				consumers[x.Name] = append(consumers[x.Name], "oil")
			}
		}
	}
	done := map[string]bool{}
	ready := func(item string) bool {
		for _, c := range consumers[item] {
			if !done[c] {
				return false
			}
		}
		return true
	}
	for {
		var next []string
		for item := range planRecipeFor {
			if !done[item] && ready(item) {
				next = append(next, item)
			}
		}
		if !done["oil"] && ready("heavy-oil") && ready("light-oil") && ready("petroleum-gas") {
			next = append(next, "oil")
		}
		if len(next) == 0 {
			break
		}
		sort.Strings(next)
		for _, item := range next {
			done[item] = true
			if item == "oil" {
				if err := pl.oil(); err != nil {
					return err
				}
				continue
			}
			if item == "rocket-part" {
				continue // the silos made them
			}
			if item == "solid-fuel" && pl.choices.solidFuelFromOil {
				continue // planned with the oil
			}
			if r := pl.demand[item]; r != nil && r.Sign() > 0 {
				if err := pl.recipe(planRecipeFor[item], item, r); err != nil {
					return err
				}
			}
		}
	}
	for item := range planRecipeFor {
		if !done[item] {
			return fmt.Errorf("the plan's recipes form a cycle at %s", item)
		}
	}
	return pl.raw(oilAmount)
}

// planRecipe is a recipe and its productivity factor in the machine the plan gives it.
type planRecipe struct {
	r  *sim.RecipeProto
	pf *big.Rat
}

// oil plans advanced oil processing, heavy and light oil cracking so that they
// make exactly the heavy oil, light oil and petroleum gas the base needs.
func (pl *planner) oil() error {
	b := pl.b
	type rec = planRecipe
	get := func(n string) (rec, error) {
		ri, ok := b.Recipe(n)
		if !ok {
			return rec{}, fmt.Errorf("the bundle has no recipe %s", n)
		}
		r := &b.Recipes[ri]
		pf, err := pl.prodFactor(planMachineFor[r.Category], r.Productivity)
		return rec{r, pf}, err
	}
	aop, err := get("advanced-oil-processing")
	if err != nil {
		return err
	}
	if pl.choices.solidFuelFromOil {
		return pl.oilToSolidFuel(aop.r, aop.pf)
	}
	hc, err := get("heavy-oil-cracking")
	if err != nil {
		return err
	}
	lc, err := get("light-oil-cracking")
	if err != nil {
		return err
	}
	if pl.choices.gasSurplusToSolidFuel {
		sf, err := get("solid-fuel-from-petroleum-gas")
		if err != nil {
			return err
		}
		return pl.oilGasSurplus([3]rec{aop, lc, sf})
	}
	fluidIdx := map[string]int{"heavy-oil": 0, "light-oil": 1, "petroleum-gas": 2}
	// net[i][j]: fluid i made (+) or used (-) by one craft of recipe j.
	var m [3][3]*big.Rat
	for i := range m {
		for j := range m[i] {
			m[i][j] = new(big.Rat)
		}
	}
	for j, x := range []rec{aop, hc, lc} {
		for _, f := range x.r.FluidOut {
			if i, ok := fluidIdx[f.Name]; ok {
				m[i][j].Add(m[i][j], new(big.Rat).Mul(x.pf, new(big.Rat).SetFrac64(int64(f.Amount), int64(fluid.Unit))))
			}
		}
		for _, f := range x.r.FluidIn {
			if i, ok := fluidIdx[f.Name]; ok {
				m[i][j].Sub(m[i][j], new(big.Rat).SetFrac64(int64(f.Amount), int64(fluid.Unit)))
			}
		}
	}
	var d [3]*big.Rat
	for n, i := range fluidIdx {
		d[i] = new(big.Rat)
		if r := pl.demand[n]; r != nil {
			d[i].Set(r)
		}
	}
	x, err := solve3(m, d)
	if err != nil {
		return err
	}
	for j, rc := range []rec{aop, hc, lc} {
		if x[j].Sign() < 0 {
			return fmt.Errorf("the oil plan needs %s at a negative rate: the base wants more of one oil product than cracking can balance", rc.r.Name)
		}
		if x[j].Sign() == 0 {
			continue
		}
		if err := pl.line(rc.r.Name, planMachineFor[rc.r.Category], rc.r.Productivity, x[j], big.NewRat(1, 1), rc.r.Work); err != nil {
			return err
		}
		pl.craft(rc.r, x[j], rc.pf)
	}
	return nil
}

// oilGasSurplus plans advanced oil processing (rs[0]) for exactly the heavy oil the
// base takes, light-oil cracking (rs[1]) for the light oil it does not take and
// solid fuel from the gas left over (rs[2]), each with its productivity factor:
// with a crafts a second of rs[0] making P_f of fluid f, light cracking taking in_l
// for out_l gas, and the base taking D_f, a = D_heavy/P_heavy, l = (P_light·a −
// D_light)/in_l, and the surplus gas P_gas·a + out_l·l − D_gas goes into solid fuel.
func (pl *planner) oilGasSurplus(rs [3]planRecipe) error {
	amount := func(fs []sim.FluidAmount, name string) *big.Rat {
		for _, f := range fs {
			if f.Name == name {
				return new(big.Rat).SetFrac64(int64(f.Amount), int64(fluid.Unit))
			}
		}
		return new(big.Rat)
	}
	demand := func(n string) *big.Rat {
		if r := pl.demand[n]; r != nil {
			return new(big.Rat).Set(r)
		}
		return new(big.Rat)
	}
	aop, lc, sf := rs[0], rs[1], rs[2]
	made := func(n string) *big.Rat { return new(big.Rat).Mul(aop.pf, amount(aop.r.FluidOut, n)) }
	if made("heavy-oil").Sign() <= 0 || amount(lc.r.FluidIn, "light-oil").Sign() <= 0 || amount(sf.r.FluidIn, "petroleum-gas").Sign() <= 0 {
		return fmt.Errorf("recipes %s, %s and %s do not make heavy oil, crack light oil and burn gas", aop.r.Name, lc.r.Name, sf.r.Name)
	}
	a := new(big.Rat).Quo(demand("heavy-oil"), made("heavy-oil"))
	l := new(big.Rat).Quo(new(big.Rat).Sub(new(big.Rat).Mul(made("light-oil"), a), demand("light-oil")), amount(lc.r.FluidIn, "light-oil"))
	gas := new(big.Rat).Mul(made("petroleum-gas"), a)
	gas.Add(gas, new(big.Rat).Mul(l, new(big.Rat).Mul(lc.pf, amount(lc.r.FluidOut, "petroleum-gas"))))
	gas.Sub(gas, demand("petroleum-gas"))
	s := new(big.Rat).Quo(gas, amount(sf.r.FluidIn, "petroleum-gas"))
	for j, x := range []*big.Rat{a, l, s} {
		if x.Sign() < 0 {
			return fmt.Errorf("the oil plan needs %s at a negative rate: the base wants more light oil or gas than the refineries make for its heavy oil", rs[j].r.Name)
		}
		if x.Sign() == 0 {
			continue
		}
		if err := pl.line(rs[j].r.Name, planMachineFor[rs[j].r.Category], rs[j].r.Productivity, x, big.NewRat(1, 1), rs[j].r.Work); err != nil {
			return err
		}
		pl.craft(rs[j].r, x, rs[j].pf)
	}
	return nil
}

// planSolidFuelFrom is the solid-fuel recipe for each oil product.
var planSolidFuelFrom = []struct{ fluid, recipe string }{
	{"heavy-oil", "solid-fuel-from-heavy-oil"},
	{"light-oil", "solid-fuel-from-light-oil"},
	{"petroleum-gas", "solid-fuel-from-petroleum-gas"},
}

// oilToSolidFuel plans advanced oil processing (aop, productivity factor apf) and
// the three solid-fuel recipes so that every oil product is used: the base's own
// demand for each fluid first, the rest into solid fuel, and exactly the solid
// fuel the base needs. With a crafts a second of aop, making P_f of fluid f a craft,
// recipe f takes in_f of it for pf_f solid fuel, so it runs x_f = (P_f·a − D_f)/in_f
// crafts and Σ pf_f·x_f = D_solid gives
// a = (D_solid + Σ pf_f·D_f/in_f) / Σ pf_f·P_f/in_f.
func (pl *planner) oilToSolidFuel(aop *sim.RecipeProto, apf *big.Rat) error {
	b := pl.b
	demand := func(n string) *big.Rat {
		if r := pl.demand[n]; r != nil {
			return new(big.Rat).Set(r)
		}
		return new(big.Rat)
	}
	type sf struct {
		r    *sim.RecipeProto
		pf   *big.Rat // solid fuel a craft of r, productivity counted
		made *big.Rat // fluid a craft of aop makes
		in   *big.Rat // fluid a craft of r takes
		d    *big.Rat // the base's own demand for the fluid
	}
	var rs []sf
	num, den := demand("solid-fuel"), new(big.Rat)
	for _, s := range planSolidFuelFrom {
		ri, ok := b.Recipe(s.recipe)
		if !ok {
			return fmt.Errorf("the bundle has no recipe %s", s.recipe)
		}
		r := &b.Recipes[ri]
		pf, err := pl.prodFactor(planMachineFor[r.Category], r.Productivity)
		if err != nil {
			return err
		}
		x := sf{r: r, pf: pf, made: new(big.Rat), in: new(big.Rat), d: demand(s.fluid)}
		for _, f := range aop.FluidOut {
			if f.Name == s.fluid {
				x.made.Mul(apf, new(big.Rat).SetFrac64(int64(f.Amount), int64(fluid.Unit)))
			}
		}
		for _, f := range r.FluidIn {
			if f.Name == s.fluid {
				x.in.SetFrac64(int64(f.Amount), int64(fluid.Unit))
			}
		}
		var out int64
		for _, it := range r.Results {
			if it.Name == "solid-fuel" {
				out = int64(it.Amount)
			}
		}
		if x.made.Sign() == 0 || x.in.Sign() == 0 || out == 0 {
			return fmt.Errorf("recipe %s does not make solid fuel from %s made by %s", s.recipe, s.fluid, aop.Name)
		}
		x.pf.Mul(x.pf, new(big.Rat).SetInt64(out))
		num.Add(num, new(big.Rat).Quo(new(big.Rat).Mul(x.pf, x.d), x.in))
		den.Add(den, new(big.Rat).Quo(new(big.Rat).Mul(x.pf, x.made), x.in))
		rs = append(rs, x)
	}
	a := new(big.Rat).Quo(num, den)
	if a.Sign() == 0 {
		return nil
	}
	if err := pl.line(aop.Name, planMachineFor[aop.Category], aop.Productivity, a, big.NewRat(1, 1), aop.Work); err != nil {
		return err
	}
	pl.craft(aop, a, apf)
	for _, x := range rs {
		crafts := new(big.Rat).Quo(new(big.Rat).Sub(new(big.Rat).Mul(x.made, a), x.d), x.in)
		if crafts.Sign() < 0 {
			return fmt.Errorf("the oil plan needs %s at a negative rate: the base wants more of its fluid than solid fuel leaves", x.r.Name)
		}
		if crafts.Sign() == 0 {
			continue
		}
		if err := pl.line(x.r.Name, planMachineFor[x.r.Category], x.r.Productivity, crafts, big.NewRat(1, 1), x.r.Work); err != nil {
			return err
		}
		pf, _ := pl.prodFactor(planMachineFor[x.r.Category], x.r.Productivity)
		pl.craft(x.r, crafts, pf)
	}
	return nil
}

// solve3 solves m·x = d by Cramer's rule.
func solve3(m [3][3]*big.Rat, d [3]*big.Rat) ([3]*big.Rat, error) {
	det := func(a [3][3]*big.Rat) *big.Rat {
		t := new(big.Rat)
		for j := 0; j < 3; j++ {
			p := new(big.Rat).Mul(a[0][j], new(big.Rat).Sub(
				new(big.Rat).Mul(a[1][(j+1)%3], a[2][(j+2)%3]),
				new(big.Rat).Mul(a[1][(j+2)%3], a[2][(j+1)%3])))
			t.Add(t, p)
		}
		return t
	}
	var x [3]*big.Rat
	dm := det(m)
	if dm.Sign() == 0 {
		return x, fmt.Errorf("the oil recipes cannot be balanced")
	}
	for j := 0; j < 3; j++ {
		a := m
		for i := 0; i < 3; i++ {
			a[i][j] = d[i]
		}
		x[j] = new(big.Rat).Quo(det(a), dm)
	}
	return x, nil
}

// raw plans the drills, pumpjacks and offshore pumps for what the base consumes.
func (pl *planner) raw(oilAmount int64) error {
	b := pl.b
	var names []string
	for n := range pl.demand {
		if _, made := planRecipeFor[n]; !made {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		r := pl.demand[n]
		if r.Sign() <= 0 {
			continue
		}
		switch n {
		case "heavy-oil", "light-oil", "petroleum-gas", "space-science-pack", "rocket-part":
			continue // planned above
		case "water":
			pi, ok := b.Entity("offshore-pump")
			if !ok {
				return fmt.Errorf("the bundle has no offshore-pump")
			}
			p := &b.Entities[pi]
			per := new(big.Rat).SetFrac64(int64(p.PumpRate)*60, int64(fluid.Unit))
			pl.rawLine("pump water", "offshore-pump", r, per, 0)
			pl.produce(n, r)
			continue
		}
		id, ok := b.ItemID(n)
		if !ok {
			return fmt.Errorf("the plan needs %s, which the bundle lacks", n)
		}
		it := b.Item(id)
		if it.Fluid {
			if it.Yield == 0 || it.Normal == 0 {
				return fmt.Errorf("the plan needs %s, which nothing here makes", n)
			}
			// A pumpjack gives Yield × amount / Normal per cycle; a cycle is
			// MiningWork at the pumpjack's speed.
			mods, eff, p, err := pl.effects("pumpjack", true, 0)
			if err != nil {
				return err
			}
			perCycle := new(big.Rat).SetFrac(big.NewInt(int64(it.Yield)*oilAmount), big.NewInt(int64(fluid.Unit)*it.Normal))
			perCycle.Mul(perCycle, new(big.Rat).SetFrac64(int64(100+eff.Productivity), 100))
			cycles := new(big.Rat).SetFrac64(int64(p.Speed)*int64(100+eff.Speed)*sim.WorkPerSecond, 100*100*it.MiningWork)
			per := new(big.Rat).Mul(perCycle, cycles)
			pl.rawLine("mine "+n, "pumpjack", r, per, module.Scale(p.EnergyUsage, eff.Consumption))
			l := &pl.plan.Lines[len(pl.plan.Lines)-1]
			l.Modules, l.Speed, l.Productivity = mods, eff.Speed, eff.Productivity
			pl.produce(n, r)
			continue
		}
		if it.MiningWork == 0 {
			return fmt.Errorf("the plan needs %s, which nothing here makes or mines", n)
		}
		mods, eff, p, err := pl.effects("electric-mining-drill", true, 0)
		if err != nil {
			return err
		}
		per := new(big.Rat).SetFrac64(int64(p.Speed)*int64(100+eff.Speed)*sim.WorkPerSecond*int64(100+eff.Productivity), 100*100*it.MiningWork*100)
		pl.rawLine("mine "+n, "electric-mining-drill", r, per, module.Scale(p.EnergyUsage, eff.Consumption))
		l := &pl.plan.Lines[len(pl.plan.Lines)-1]
		l.Modules, l.Speed, l.Productivity = mods, eff.Speed, eff.Productivity
		pl.produce(n, r)
	}
	return nil
}

func (pl *planner) rawLine(task, machine string, rate, per *big.Rat, usage int64) {
	n := new(big.Rat).Quo(rate, per)
	count := new(big.Int).Quo(n.Num(), n.Denom())
	if new(big.Rat).SetInt(count).Cmp(n) < 0 {
		count.Add(count, big.NewInt(1))
	}
	pl.plan.Lines = append(pl.plan.Lines, PlanLine{Task: task, Machine: machine, Machines: int(count.Int64()),
		PowerW: count.Int64() * usage, rate: new(big.Rat).Set(rate), per: per})
}
