package sim

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/starlane/starlane/sim/module"
)

// Modules and beacons. A machine (assembler, electric furnace, electric drill,
// lab) holds up to maxModules modules; beacons hold modules too and pass their
// effects, scaled by distribution effectivity and the 2.0 profile, to every
// machine their area touches. The resulting speed, energy use and productivity
// are derived state: recomputed for all machines when a beacon, a module or a
// machine changes (effectsDirty), never per tick, and after loading.
//
// Units: a machine's speed field is its crafting speed in hundredths times
// (100 + speed effect), so it is work per tick in 1/effOne work units, and its
// work counters are in those units too. Productivity fills a bonus bar in
// percent per finished craft; a full bar (100) gives one more craft's results.

// maxModules is the most module slots any prototype has (assembling machine 3).
const maxModules = 4

// effOne is the scale of machine speeds and work counters: speed × (100 + effect).
const effOne = 100

// ModuleProto describes a module item.
type ModuleProto struct {
	Category string        `json:"category"`
	Tier     int32         `json:"tier"`
	Effect   module.Effect `json:"effect"`
}

type modulesFile struct {
	Modules        map[string]json.RawMessage `json:"modules"`
	QualityModules struct {
		Names []string `json:"names"`
	} `json:"quality_modules"`
	Beacon struct {
		Name         string   `json:"name"`
		StackSize    int32    `json:"stack_size"`
		EnergyUsage  string   `json:"energy_usage"`
		Distribution int32    `json:"distribution_effectivity_percent"`
		Reach        int32    `json:"supply_area_distance"`
		Slots        int32    `json:"module_slots"`
		Allowed      []string `json:"allowed_effects"`
		Counter      string   `json:"beacon_counter"`
		Profile      []int32  `json:"profile_ten_thousandths"`
	} `json:"beacon"`
	Receivers map[string]json.RawMessage `json:"receivers"`
	AllowProd struct {
		Recipes []string `json:"recipes"`
	} `json:"allow_productivity"`
	Limits struct {
		MinSpeed        int32 `json:"min_speed"`
		MinConsumption  int32 `json:"min_consumption"`
		MinPollution    int32 `json:"min_pollution"`
		MinProductivity int32 `json:"min_productivity"`
		MaxProductivity int32 `json:"max_productivity"`
	} `json:"limits"`
}

// addModules adds module items, the beacon, module slots of receivers and
// which recipes allow productivity.
func addModules(b *Bundle, raw []byte, beaconSize json.RawMessage) error {
	var f modulesFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return err
	}
	for name, r := range f.Modules {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var m struct {
			ModuleProto
			StackSize int32 `json:"stack_size"`
		}
		if err := json.Unmarshal(r, &m); err != nil {
			return fmt.Errorf("modules.%s: %w", name, err)
		}
		mp := m.ModuleProto
		b.Items = append(b.Items, ItemProto{Name: name, StackSize: m.StackSize, Module: &mp})
	}
	b.RefusedItems = map[string]string{}
	for _, n := range f.QualityModules.Names {
		b.RefusedItems[n] = "quality is not simulated"
	}
	bc := &f.Beacon
	if bc.Counter != "same_type" {
		return fmt.Errorf("beacon_counter %q: only same_type is supported", bc.Counter)
	}
	usage, err := parseEnergy(bc.EnergyUsage, "W")
	if err != nil {
		return fmt.Errorf("beacon: %w", err)
	}
	allowed, err := module.ParseAllowed(bc.Allowed)
	if err != nil {
		return fmt.Errorf("beacon: %w", err)
	}
	var sz factsSize
	if err := json.Unmarshal(beaconSize, &sz); err != nil {
		return fmt.Errorf("facts sizes.beacon: %w", err)
	}
	b.Items = append(b.Items, ItemProto{Name: bc.Name, StackSize: bc.StackSize})
	b.Entities = append(b.Entities, EntityProto{Name: bc.Name, Kind: KindBeacon, W: sz.Tiles[0], H: sz.Tiles[1],
		EnergyUsage: usage, ModuleSlots: bc.Slots, AllowedEffects: allowed, BeaconReach: bc.Reach,
		Distribution: bc.Distribution, Profile: bc.Profile})
	for name, r := range f.Receivers {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var rc struct {
			Slots   int32    `json:"module_slots"`
			Allowed []string `json:"allowed_effects"`
			Beacons bool     `json:"beacons"`
		}
		if err := json.Unmarshal(r, &rc); err != nil {
			return fmt.Errorf("receivers.%s: %w", name, err)
		}
		a, err := module.ParseAllowed(rc.Allowed)
		if err != nil {
			return fmt.Errorf("receivers.%s: %w", name, err)
		}
		found := false
		for i := range b.Entities {
			if e := &b.Entities[i]; e.Name == name {
				e.ModuleSlots, e.AllowedEffects, e.BeaconTarget = rc.Slots, a, rc.Beacons
				found = true
			}
		}
		if !found {
			return fmt.Errorf("receivers.%s: no such entity", name)
		}
	}
	prod := map[string]bool{}
	for _, n := range f.AllowProd.Recipes {
		prod[n] = true
	}
	for i := range b.Recipes {
		b.Recipes[i].Productivity = prod[b.Recipes[i].Name]
	}
	l := &f.Limits
	b.ModuleLimits = module.Limits{MinSpeed: l.MinSpeed, MinConsumption: l.MinConsumption, MinPollution: l.MinPollution,
		MinProductivity: l.MinProductivity, MaxProductivity: l.MaxProductivity}
	return nil
}

// modSlots are the modules in an entity, packed from slot 0.
type modSlots [maxModules]ItemID

func (m *modSlots) count() int {
	n := 0
	for _, id := range m {
		if id != 0 {
			n++
		}
	}
	return n
}

// effect sums the modules' effects.
func (s *Surface) modEffect(m *modSlots) module.Effect {
	var e module.Effect
	for _, id := range m {
		if id != 0 {
			e = e.Add(s.b.Items[id-1].Module.Effect)
		}
	}
	return e
}

// beacon is a beacon's state: its modules. Power is a constant drain on its network.
type beacon struct {
	ent   EntityID
	proto int32
	mods  modSlots
	net   int32
}

func (s *Surface) addBeacon(id EntityID, pi int) int32 {
	bc := beacon{ent: id, proto: int32(pi), net: -1}
	i := s.allocSlot(KindBeacon, len(s.beacons))
	if int(i) == len(s.beacons) {
		s.beacons = append(s.beacons, bc)
	} else {
		s.beacons[i] = bc
	}
	return i
}

func (s *Surface) removeBeacon(i int32) []Stack {
	items := addModStacks(nil, &s.beacons[i].mods)
	s.beacons[i] = beacon{net: -1}
	return items
}

func addModStacks(out []Stack, m *modSlots) []Stack {
	for _, id := range m {
		out = addStack(out, id, 1)
	}
	return out
}

// moduleSlots returns an entity's module slots and prototype, or nil when it has none.
func (s *Surface) moduleSlots(id EntityID) (*modSlots, *EntityProto) {
	e := &s.ents[id]
	p := &s.b.Entities[e.proto]
	if p.ModuleSlots == 0 {
		return nil, p
	}
	switch e.kind {
	case KindAssembler, KindFurnace, KindRocketSilo:
		return &s.crafters[e.slot].mods, p
	case KindDrill:
		return &s.drills[e.slot].mods, p
	case KindLab:
		return &s.labs[e.slot].mods, p
	case KindBeacon:
		return &s.beacons[e.slot].mods, p
	case KindPumpjack:
		return &s.fents[e.slot].mods, p
	}
	return nil, p
}

// checkModule says why an item cannot go into an entity's module slots, or nil.
func (s *Surface) checkModule(p *EntityProto, item ItemID) error {
	it := &s.b.Items[item-1]
	if it.Module == nil {
		return fmt.Errorf("%s is not a module", it.Name)
	}
	if p.ModuleSlots == 0 {
		return fmt.Errorf("%s has no module slots", p.Name)
	}
	if !p.AllowedEffects.Accepts(it.Module.Effect) {
		return fmt.Errorf("%s does not accept %s (its %s effect is not allowed there)", p.Name, it.Name, it.Module.Category)
	}
	return nil
}

// moduleItem resolves a module name for a build or an insert, refusing quality
// modules and non-modules by name.
func (s *Surface) moduleItem(p *EntityProto, name string) (ItemID, error) {
	if r, ok := s.b.RefusedItems[name]; ok {
		return 0, fmt.Errorf("module %s: %s", name, r)
	}
	id, ok := s.b.ItemID(name)
	if !ok {
		return 0, fmt.Errorf("unknown module %q", name)
	}
	return id, s.checkModule(p, id)
}

// checkModules validates a build's module list.
func (s *Surface) checkModules(p *EntityProto, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if int32(len(names)) > p.ModuleSlots {
		return fmt.Errorf("%d modules, %s has %d module slots", len(names), p.Name, p.ModuleSlots)
	}
	for _, n := range names {
		if _, err := s.moduleItem(p, n); err != nil {
			return err
		}
	}
	return nil
}

// setModules fills a new entity's module slots (checked by checkModules).
func (s *Surface) setModules(id EntityID, names []string) {
	m, _ := s.moduleSlots(id)
	if m == nil {
		return
	}
	for k, n := range names {
		m[k], _ = s.b.ItemID(n)
	}
	s.effectsDirty = true
}

// moduleInsert puts up to n modules into an entity's free slots and returns how many.
func (s *Surface) moduleInsert(id EntityID, item ItemID, n int32) int32 {
	m, _ := s.moduleSlots(id)
	var put int32
	for k := range m {
		if put == n {
			break
		}
		if m[k] == 0 {
			m[k] = item
			put++
		}
	}
	if put > 0 {
		s.effectsDirty = true
		s.hash = mix64(s.hash ^ uint64(id)<<24 ^ uint64(item))
	}
	return put
}

// moduleTake removes up to n modules of an item and returns how many.
func (s *Surface) moduleTake(id EntityID, item ItemID, n int32) int32 {
	m, _ := s.moduleSlots(id)
	if m == nil {
		return 0
	}
	var took int32
	var kept modSlots
	j := 0
	for _, v := range m {
		if v == item && took < n {
			took++
			continue
		}
		if v != 0 {
			kept[j] = v
			j++
		}
	}
	if took > 0 {
		*m = kept
		s.effectsDirty = true
		s.hash = mix64(s.hash ^ uint64(id)<<25 ^ uint64(item))
	}
	return took
}

// ModuleInfo is what an entity's modules and beacons do to it.
type ModuleInfo struct {
	Modules []string
	// Beacons is how many beacons reach the entity.
	Beacons int32
	// Effect is the total, limits applied, in percent.
	Effect module.Effect
}

// Modules reports an entity's modules and their effect.
func (s *Surface) Modules(id EntityID) (ModuleInfo, bool) {
	if id == 0 || int(id) >= len(s.ents) || !s.ents[id].alive() {
		return ModuleInfo{}, false
	}
	s.prepare()
	m, _ := s.moduleSlots(id)
	if m == nil {
		return ModuleInfo{}, false
	}
	info := ModuleInfo{}
	for _, v := range m {
		if v != 0 {
			info.Modules = append(info.Modules, s.b.ItemName(v))
		}
	}
	if int(id) < len(s.effects) {
		info.Beacons, info.Effect = s.effects[id].beacons, s.effects[id].total
	}
	return info, true
}

// entEffect is the derived effect on one entity.
type entEffect struct {
	beacons int32
	total   module.Effect
}

// recomputeEffects derives every receiver's speed, usage and productivity from
// its modules and the beacons reaching it.
func (s *Surface) recomputeEffects() {
	if cap(s.effects) < len(s.ents) {
		s.effects = make([]entEffect, len(s.ents), len(s.ents)+len(s.ents)/4)
	} else {
		s.effects = s.effects[:len(s.ents)]
		clear(s.effects)
	}
	// Beacon transmissions per receiver, by entity ID (only receivers a beacon reaches).
	tx := map[EntityID]*module.Transmission{}
	var order []EntityID
	for i := range s.beacons {
		bc := &s.beacons[i]
		if bc.ent == 0 || bc.net < 0 || bc.mods.count() == 0 {
			continue
		}
		p := &s.b.Entities[bc.proto]
		eff := s.modEffect(&bc.mods)
		e := &s.ents[bc.ent]
		r := p.BeaconReach
		seen := s.scratch.ids[:0]
		for y := e.y - r; y < e.y+e.h+r; y++ {
			for x := e.x - r; x < e.x+e.w+r; x++ {
				id := s.EntityAt(x, y)
				if id == 0 || id == bc.ent {
					continue
				}
				if !s.b.Entities[s.ents[id].proto].BeaconTarget || containsID(seen, id) {
					continue
				}
				seen = append(seen, id)
				t, ok := tx[id]
				if !ok {
					t = &module.Transmission{}
					tx[id] = t
					order = append(order, id)
				}
				t.Add(eff, p.Distribution)
			}
		}
		s.scratch.ids = seen[:0]
	}
	if len(order) > 0 {
		p := &s.b.Entities[s.beaconProtoFor()]
		for _, id := range order {
			t := tx[id]
			s.effects[id] = entEffect{beacons: t.Count(), total: t.Effect(p.Profile)}
		}
	}
	apply := func(id EntityID, mods *modSlots, speed *int32, usage *int64, prod *int32) {
		p := &s.b.Entities[s.ents[id].proto]
		ef := &s.effects[id]
		total := s.b.ModuleLimits.Clamp(p.AllowedEffects.Keep(ef.total.Add(s.modEffect(mods))))
		if p.ModuleSlots == 0 && !p.BeaconTarget {
			total = module.Effect{}
		}
		ef.total = total
		ns := p.Speed * (100 + total.Speed)
		nu := module.Scale(p.EnergyUsage, total.Consumption)
		if ns != *speed || nu != *usage || total.Productivity != *prod {
			*speed, *usage, *prod = ns, nu, total.Productivity
			s.changed(id)
		}
	}
	for i := range s.crafters {
		c := &s.crafters[i]
		if c.ent == 0 {
			continue
		}
		apply(c.ent, &c.mods, &c.speed, &c.usage, &c.prod)
		c.limit = s.recipeLimits(c.speed, c.recipe)
	}
	for i := range s.drills {
		d := &s.drills[i]
		if d.ent != 0 {
			apply(d.ent, &d.mods, &d.speed, &d.usage, &d.prod)
		}
	}
	for i := range s.labs {
		l := &s.labs[i]
		if l.ent != 0 {
			apply(l.ent, &l.mods, &l.speed, &l.usage, &l.prod)
		}
	}
	for i := range s.fents {
		fe := &s.fents[i]
		if fe.ent != 0 && fe.kind == KindPumpjack {
			apply(fe.ent, &fe.mods, &fe.speed, &fe.usage, &fe.prod)
		}
	}
}

// beaconProtoFor returns the beacon prototype whose profile applies. The
// vanilla bundle has one beacon type (beacon_counter same_type counts it).
func (s *Surface) beaconProtoFor() int {
	pi, _ := s.b.Entity("beacon")
	return pi
}

func containsID(ids []EntityID, id EntityID) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// bonusCrafts adds prod percent to a bonus bar and returns how many extra
// crafts it completed.
func bonusCrafts(bar *int32, prod int32) int32 {
	if prod <= 0 {
		return 0
	}
	*bar += prod
	n := *bar / 100
	*bar -= n * 100
	return n
}

// countNames counts repeated names.
func countNames(names []string) map[string]int32 {
	if len(names) == 0 {
		return nil
	}
	out := map[string]int32{}
	for _, n := range names {
		out[n]++
	}
	return out
}

// takeModules accounts for the modules a build put in: from the character's
// inventory, or created (shard builds, like the shard's inserts).
func (s *Surface) takeModules(p *player, names []string) {
	for _, n := range names {
		id, _ := s.b.ItemID(n)
		if p != nil {
			slotsRemove(p.inv, id, 1)
		} else {
			s.stats.create(id, 1)
		}
	}
}

// insertModules puts modules a player or the shard inserts into an entity's
// module slots, as the game does when a module is inserted into a machine by
// hand. ok is false when the item is not a module or the entity has no module
// slots (the insert then goes on as an ordinary one).
func (s *Surface) insertModules(id EntityID, item ItemID, n int32) (got int32, err error, ok bool) {
	m, p := s.moduleSlots(id)
	if m == nil || s.b.Items[item-1].Module == nil {
		return 0, nil, false
	}
	if err := s.checkModule(p, item); err != nil {
		return 0, err, true
	}
	if e := &s.ents[id]; e.kind == KindAssembler && s.b.Items[item-1].Module.Effect.Productivity > 0 {
		if r := s.crafters[e.slot].recipe; r >= 0 && !s.b.Recipes[r].Productivity {
			return 0, s.prodRecipeError(s.b.Recipes[r].Name), true
		}
	}
	free := p.ModuleSlots - int32(m.count())
	if free <= 0 {
		return 0, fmt.Errorf("%s has no free module slot (%d of %d used)", p.Name, m.count(), p.ModuleSlots), true
	}
	return s.moduleInsert(id, item, min(n, free)), nil, true
}

// hasProductivity reports whether any module gives productivity.
func (s *Surface) hasProductivity(m *modSlots) bool {
	for _, id := range m {
		if id != 0 && s.b.Items[id-1].Module.Effect.Productivity > 0 {
			return true
		}
	}
	return false
}

// prodRecipeError refuses a recipe that does not allow productivity in a
// machine with productivity modules, as the game does (productivity modules
// work on intermediate products only).
func (s *Surface) prodRecipeError(recipe string) error {
	return fmt.Errorf("recipe %s does not allow productivity; productivity modules only work on intermediate products (take them out first)", recipe)
}
