package sim

import (
	"fmt"

	"github.com/starlane/starlane/sim/fluid"
)

// Crafting machines (assembling machines and furnaces) and labs. A machine crafts while it
// has ingredients, output room and energy; otherwise it sleeps until an inventory change
// wakes it.

// SatOne is full power satisfaction in fixed point.
const SatOne = 1 << 16

// burnerState is the fuel slot and energy buffer of a burner entity.
type burnerState struct {
	fuel   ItemID
	n      int32
	energy int64
}

// energy draws one tick of energy for a machine working at speed, from its fuel or its
// network, and returns the progress it makes (speed scaled by the network's
// satisfaction). It reports false when the machine cannot work at all: no fuel, or no
// network (both change only by an event that wakes the machine).
func (s *Surface) energy(burner bool, fuel *burnerState, net int32, usage int64, speed int32) (int64, bool) {
	if burner {
		if !s.burn(fuel, usage) {
			return 0, false
		}
		return int64(speed), true
	}
	if net < 0 {
		return 0, false
	}
	n := &s.nets[net]
	n.demand += usage
	return int64(speed) * int64(n.sat) / SatOne, true
}

// burn takes one tick's worth of energy (need) from a burner, burning fuel when the buffer
// runs low. It reports false when there is not enough energy.
func (s *Surface) burn(b *burnerState, need int64) bool {
	for b.energy < need {
		if b.n == 0 {
			return false
		}
		b.n--
		fv := s.b.Items[b.fuel-1].FuelValue
		s.stats.consume(b.fuel, 1)
		if b.n == 0 {
			b.fuel = 0
		}
		b.energy += fv
	}
	b.energy -= need
	return true
}

const fuelLimit = 5 // inserters keep a burner's fuel slot topped up to this many items

func (s *Surface) fuelAccepts(b *burnerState, item ItemID) int32 {
	if s.b.Items[item-1].FuelValue == 0 || (b.n > 0 && b.fuel != item) {
		return 0
	}
	return max(fuelLimit-b.n, 0)
}

func (s *Surface) fuelInsert(b *burnerState, item ItemID, n int32) int32 {
	if s.b.Items[item-1].FuelValue == 0 || (b.n > 0 && b.fuel != item) {
		return 0
	}
	room := s.b.Items[item-1].StackSize - b.n
	n = min(n, room)
	if n <= 0 {
		return 0
	}
	b.fuel = item
	b.n += n
	return n
}

type crafter struct {
	ent      EntityID
	proto    int32
	furnace  bool
	burner   bool
	recipe   int32 // -1 none; a furnace picks its recipe from the item put in
	in       [maxIngredients]int32
	limit    [maxIngredients]int32 // inserters fill an ingredient up to this
	out      [maxResults]int32
	work     int64 // in 1/effOne work units
	crafting bool
	speed    int32 // crafting speed in hundredths × (100 + speed effect)
	usage    int64
	net      int32
	fuel     burnerState
	mods     modSlots
	prod     int32 // productivity effect, percent
	bonus    int32 // productivity bar, percent
	isSilo   bool
	// x holds what only machines with fluid boxes and silos need, apart so that
	// the crafters the tick walks stay small.
	x *crafterExt
}

// crafterExt is the state of a machine with fluid boxes or a rocket silo.
type crafterExt struct {
	fout [3]fluid.Amount      // fluid results waiting for room
	fseg [maxFluidBoxes]int32 // derived: segment of each fluid box (-1 none)
	silo siloState
}

func newCrafterExt(p *EntityProto) *crafterExt {
	if len(p.Boxes) == 0 && p.Kind != KindRocketSilo {
		return nil
	}
	return &crafterExt{fseg: [maxFluidBoxes]int32{-1, -1, -1, -1, -1}}
}

func (s *Surface) recipeAllowed(p *EntityProto, name string) error {
	ri, ok := s.b.Recipe(name)
	if !ok {
		return fmt.Errorf("no such recipe %q", name)
	}
	r := &s.b.Recipes[ri]
	var ins, outs int8
	for _, bp := range p.Boxes {
		switch bp.Flow {
		case flowIn:
			ins++
		case flowOut:
			outs++
		}
	}
	for _, fa := range r.FluidIn {
		if fa.Box >= ins {
			return fmt.Errorf("%s cannot craft %s: it needs fluid input box %d for %s, the machine has %d", p.Name, name, fa.Box+1, fa.Name, ins)
		}
	}
	for _, fa := range r.FluidOut {
		if fa.Box >= outs {
			return fmt.Errorf("%s cannot craft %s: it needs fluid output box %d for %s, the machine has %d", p.Name, name, fa.Box+1, fa.Name, outs)
		}
	}
	for _, c := range p.Categories {
		if c == r.Category {
			return nil
		}
	}
	return fmt.Errorf("%s cannot craft %s (category %s)", p.Name, name, r.Category)
}

func (s *Surface) addCrafter(id EntityID, pi int, recipe string) int32 {
	p := &s.b.Entities[pi]
	c := crafter{ent: id, proto: int32(pi), furnace: p.Kind == KindFurnace, burner: p.Burner,
		recipe: -1, speed: p.Speed * effOne, usage: p.EnergyUsage, net: -1, x: newCrafterExt(p)}
	if p.Kind == KindRocketSilo {
		c.isSilo = true
		recipe = p.FixedRecipe
	}
	i := s.allocSlot(KindAssembler, len(s.crafters))
	if int(i) == len(s.crafters) {
		s.crafters = append(s.crafters, c)
	} else {
		s.crafters[i] = c
	}
	if recipe != "" {
		ri, _ := s.b.Recipe(recipe)
		s.setRecipe(i, int32(ri))
	}
	s.active[KindAssembler].set(i)
	return i
}

// setRecipe changes a machine's recipe; ingredients and products of the old one are
// returned.
func (s *Surface) setRecipe(ci int32, ri int32) []Stack {
	c := &s.crafters[ci]
	out := s.crafterContents(c, nil, false)
	c.in, c.out = [maxIngredients]int32{}, [maxResults]int32{}
	c.work, c.crafting, c.bonus = 0, false, 0
	if c.x != nil {
		c.x.fout = [3]fluid.Amount{}
	}
	if s.b.Entities[c.proto].BoxesNeedFluidRecipe {
		s.fluidDirty = true // the machine's fluid boxes come and go with fluid recipes
	}
	c.recipe = ri
	c.limit = s.recipeLimits(c.speed, ri)
	s.active[KindAssembler].set(ci)
	return out
}

// recipeLimits returns how many of each ingredient inserters keep in a machine: enough for
// IngredientTicks of crafting, and at least two crafts.
func (s *Surface) recipeLimits(speed int32, ri int32) [maxIngredients]int32 {
	var lim [maxIngredients]int32
	if ri < 0 {
		return lim
	}
	r := &s.b.Recipes[ri]
	work := r.Work * effOne
	crafts := (int64(s.b.IngredientTicks)*int64(speed) + work - 1) / work
	mult := int32(1 + max(crafts, 1))
	for k, ing := range r.Ingredients {
		lim[k] = ing.Amount * mult
	}
	return lim
}

// crafterContents lists what a machine holds; with inProgress, the ingredients of a craft
// in progress are counted too (they were consumed when it started).
func (s *Surface) crafterContents(c *crafter, out []Stack, inProgress bool) []Stack {
	if c.recipe >= 0 {
		r := &s.b.Recipes[c.recipe]
		for k, ing := range r.Ingredients {
			id := s.b.ingIDs[c.recipe][k]
			n := c.in[k]
			if inProgress && c.crafting {
				n += ing.Amount
			}
			out = addStack(out, id, n)
		}
		for k := range r.Results {
			out = addStack(out, s.b.resIDs[c.recipe][k], c.out[k])
		}
	}
	out = addStack(out, c.fuel.fuel, c.fuel.n)
	if c.isSilo {
		out = addStack(out, c.x.silo.cargo, 1)
		out = addStack(out, c.x.silo.res, c.x.silo.resN)
		rp, _ := s.b.ItemID("rocket-part")
		out = addStack(out, rp, c.x.silo.parts)
	}
	return out
}

func (s *Surface) removeCrafter(ci int32) []Stack {
	c := &s.crafters[ci]
	items := addModStacks(s.crafterContents(c, nil, true), &c.mods)
	if c.crafting {
		// The ingredients of the unfinished craft go back, as in the game.
		r := &s.b.Recipes[c.recipe]
		for k, ing := range r.Ingredients {
			s.stats.unconsume(s.b.ingIDs[c.recipe][k], int64(ing.Amount))
		}
	}
	s.crafters[ci] = crafter{recipe: -1, net: -1}
	return items
}

// ingredientIndex returns which ingredient slot of recipe ri an item fills, or -1.
func (s *Surface) ingredientIndex(ri int32, item ItemID) int {
	for k, id := range s.b.ingIDs[ri] {
		if id == item {
			return k
		}
	}
	return -1
}

// furnaceRecipe finds the smelting recipe whose single ingredient is item.
func (s *Surface) furnaceRecipe(c *crafter, item ItemID) int32 {
	return s.b.smelt[c.proto][item]
}

// crafterAccepts returns how many of an item an inserter may put into a machine now.
func (s *Surface) crafterAccepts(c *crafter, item ItemID) int32 {
	if c.isSilo {
		if n := s.siloAccepts(c, item); n > 0 {
			return n
		}
	}
	if c.burner {
		if n := s.fuelAccepts(&c.fuel, item); n > 0 {
			return n
		}
	}
	if c.recipe < 0 {
		if c.furnace && s.furnaceRecipe(c, item) >= 0 {
			return 1
		}
		return 0
	}
	k := s.ingredientIndex(c.recipe, item)
	if k < 0 {
		if c.furnace && c.in[0] == 0 && !c.crafting && c.out[0] == 0 && s.furnaceRecipe(c, item) >= 0 {
			return 1 // an idle, empty furnace switches recipe
		}
		return 0
	}
	return max(c.limit[k]-c.in[k], 0)
}

// crafterInsert puts items into a machine and returns how many went in. Like the game's
// inserters, a hand is put in whole once the machine wants any of it.
func (s *Surface) crafterInsert(ci int32, item ItemID, n int32) int32 {
	c := &s.crafters[ci]
	if c.isSilo && s.siloAccepts(c, item) > 0 {
		c.x.silo.cargo = item
		return 1
	}
	if c.burner && s.fuelAccepts(&c.fuel, item) > 0 {
		return s.fuelInsert(&c.fuel, item, n)
	}
	if c.furnace && (c.recipe < 0 || s.ingredientIndex(c.recipe, item) < 0) {
		if c.in[0] != 0 || c.crafting || c.out[0] != 0 {
			return 0
		}
		ri := s.furnaceRecipe(c, item)
		if ri < 0 {
			return 0
		}
		s.setRecipe(ci, ri)
	}
	if c.recipe < 0 {
		return 0
	}
	k := s.ingredientIndex(c.recipe, item)
	if k < 0 {
		return 0
	}
	c.in[k] += n
	return n
}

// crafterOffer returns a product an inserter may take for a drop target.
func (s *Surface) crafterOffer(c *crafter, in *inserter) (ItemID, int32) {
	if c.isSilo && c.x.silo.resN > 0 && s.takes(in, c.x.silo.res) > 0 {
		return c.x.silo.res, c.x.silo.resN
	}
	if c.recipe < 0 {
		return 0, 0
	}
	r := &s.b.Recipes[c.recipe]
	for k := range r.Results {
		if c.out[k] == 0 {
			continue
		}
		id := s.b.resIDs[c.recipe][k]
		if s.takes(in, id) > 0 {
			return id, c.out[k]
		}
	}
	return 0, 0
}

func (s *Surface) crafterTake(c *crafter, item ItemID, n int32) int32 {
	if c.isSilo && item == c.x.silo.res && c.x.silo.resN > 0 {
		n = min(n, c.x.silo.resN)
		c.x.silo.resN -= n
		if c.x.silo.resN == 0 {
			c.x.silo.res = 0
		}
		s.active[KindAssembler].set(s.ents[c.ent].slot) // room for the next launch
		return n
	}
	if c.recipe < 0 {
		return 0
	}
	for k, id := range s.b.resIDs[c.recipe] {
		if id == item {
			n = min(n, c.out[k])
			c.out[k] -= n
			return n
		}
	}
	return 0
}

// updateCrafter advances one machine by a tick.
func (s *Surface) updateCrafter(ci int32) {
	c := &s.crafters[ci]
	if c.ent == 0 {
		s.sleep(KindAssembler, ci)
		return
	}
	if c.recipe < 0 {
		s.sleep(KindAssembler, ci)
		return
	}
	r := &s.b.Recipes[c.recipe]
	if c.isSilo && !c.crafting && s.updateSilo(ci, c, &s.b.Entities[c.proto]) {
		return
	}
	if !c.crafting && !s.startCraft(c, r) {
		if len(r.FluidIn) == 0 && len(r.FluidOut) == 0 {
			s.sleep(KindAssembler, ci)
		}
		// A machine waiting for fluid stays awake: segments do not wake machines.
		return
	}
	gain, ok := s.energy(c.burner, &c.fuel, c.net, c.usage, c.speed)
	if !ok {
		s.sleep(KindAssembler, ci) // woken when fuel is put in or the power topology changes
		return
	}
	c.work += gain
	if c.work < r.Work*effOne {
		return
	}
	c.work -= r.Work * effOne
	c.crafting = false
	times := int32(1)
	if r.Productivity {
		times += bonusCrafts(&c.bonus, c.prod)
	}
	for k, res := range r.Results {
		if c.isSilo {
			c.x.silo.parts += res.Amount * times // built into the rocket
		} else {
			c.out[k] += res.Amount * times
		}
		s.stats.produce(s.b.resIDs[c.recipe][k], int64(res.Amount*times))
	}
	for k, fa := range r.FluidOut {
		a := fa.Amount * fluid.Amount(times)
		c.x.fout[k] += a
		s.fluidStat(fa.id, a, false)
	}
	if len(r.FluidOut) > 0 {
		s.flushFluids(c, r)
	}
	s.hash = (s.hash ^ uint64(c.ent)) * 0x100000001b3
	if (c.isSilo && c.x.silo.parts >= s.b.Entities[c.proto].RocketParts) || !s.startCraft(c, r) {
		c.work = 0
	}
	s.changed(c.ent)
}

// startCraft consumes the ingredients of the next craft if they are there and the output
// has room.
func (s *Surface) startCraft(c *crafter, r *RecipeProto) bool {
	for k := range r.Results {
		if c.out[k] >= s.b.Items[s.b.resIDs[c.recipe][k]-1].StackSize {
			return false
		}
	}
	for k, ing := range r.Ingredients {
		if c.in[k] < ing.Amount {
			return false
		}
	}
	if (len(r.FluidIn) > 0 || len(r.FluidOut) > 0) && !s.crafterFluidsReady(c, r) {
		return false
	}
	for k, ing := range r.Ingredients {
		c.in[k] -= ing.Amount
		s.stats.consume(s.b.ingIDs[c.recipe][k], int64(ing.Amount))
	}
	s.takeFluids(c, r)
	c.crafting = true
	s.changed(c.ent)
	return true
}

// force is the research state shared by a surface's labs.
type force struct {
	research      int32 // tech being researched, -1 none
	repeat        bool
	progress      int64 // units done of the current tech
	done          []bool
	inserterBonus int32
	bulkBonus     int32
}

type lab struct {
	ent     EntityID
	proto   int32
	packs   [8]int32 // per lab input
	work    int64    // in 1/effOne work units
	working bool
	speed   int32 // research speed in hundredths × (100 + speed effect)
	usage   int64
	net     int32
	mods    modSlots
	prod    int32 // productivity effect, percent
	bonus   int32 // productivity bar, percent
}

const labPackLimit = 2 // inserters keep this many units' worth of each pack in a lab

func (s *Surface) addLab(id EntityID, pi int) int32 {
	p := &s.b.Entities[pi]
	l := lab{ent: id, proto: int32(pi), speed: p.Speed * effOne, usage: p.EnergyUsage, net: -1}
	i := s.allocSlot(KindLab, len(s.labs))
	if int(i) == len(s.labs) {
		s.labs = append(s.labs, l)
	} else {
		s.labs[i] = l
	}
	s.active[KindLab].set(i)
	return i
}

func (s *Surface) labContents(l *lab, out []Stack) []Stack {
	for k, id := range s.b.labIn[l.proto] {
		out = addStack(out, id, l.packs[k])
	}
	return out
}

func (s *Surface) removeLab(li int32) []Stack {
	items := addModStacks(s.labContents(&s.labs[li], nil), &s.labs[li].mods)
	s.labs[li] = lab{net: -1}
	return items
}

// labInput returns the lab input slot an item goes in, or -1.
func (s *Surface) labInput(l *lab, item ItemID) int {
	for k, id := range s.b.labIn[l.proto] {
		if id == item {
			return k
		}
	}
	return -1
}

func (s *Surface) labAccepts(l *lab, item ItemID) int32 {
	k := s.labInput(l, item)
	if k < 0 || k >= len(l.packs) {
		return 0
	}
	return max(labPackLimit-l.packs[k], 0)
}

// updateLab advances one lab by a tick.
func (s *Surface) updateLab(li int32) {
	l := &s.labs[li]
	if l.ent == 0 {
		s.sleep(KindLab, li)
		return
	}
	f := &s.force
	if f.research < 0 {
		s.sleep(KindLab, li)
		return
	}
	t := &s.b.Techs[f.research]
	if !l.working {
		ins := s.labTechInputs(l, f.research)
		for k, ing := range t.Ingredients {
			if ins[k] < 0 || l.packs[ins[k]] < ing.Amount {
				s.sleep(KindLab, li)
				return
			}
		}
		for k, ing := range t.Ingredients {
			l.packs[ins[k]] -= ing.Amount
			id := s.b.techIngIDs[f.research][k]
			s.stats.consume(id, int64(ing.Amount))
			s.stats.labConsume(id, int64(ing.Amount))
		}
		l.working = true
		s.changed(l.ent)
	}
	gain, ok := s.energy(false, nil, l.net, l.usage, l.speed)
	if !ok {
		s.sleep(KindLab, li)
		return
	}
	l.work += gain
	if l.work < t.Work*effOne {
		return
	}
	l.work -= t.Work * effOne
	l.working = false
	s.hash = (s.hash ^ uint64(l.ent)<<1) * 0x100000001b3
	// Research productivity: a full bonus bar is one more unit done.
	f.progress += 1 + int64(bonusCrafts(&l.bonus, l.prod))
	if f.progress >= t.Count {
		s.researchDone()
	}
}

// labTechInputs maps a tech's ingredients to a lab's input slots (-1: lab cannot take it).
func (s *Surface) labTechInputs(l *lab, tech int32) [maxTechPacks]int {
	var out [maxTechPacks]int
	for k, id := range s.b.techIngIDs[tech] {
		out[k] = s.labInput(l, id)
	}
	return out
}

func (s *Surface) researchDone() {
	f := &s.force
	t := &s.b.Techs[f.research]
	if len(f.done) != len(s.b.Techs) {
		f.done = make([]bool, len(s.b.Techs))
	}
	f.done[f.research] = true
	f.inserterBonus += t.InserterBonus
	f.progress = 0
	s.stats.researched++
	if !f.repeat {
		f.research = -1
	}
}
