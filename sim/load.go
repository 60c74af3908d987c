package sim

import (
	"fmt"
	"github.com/starlane/starlane/sim/fluid"
	"slices"
)

func sortSlice[T any](s []T, less func(a, b T) bool) {
	slices.SortFunc(s, func(a, b T) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}

const (
	maxCount    = 1 << 26 // bound on any list length in a save
	maxSlotList = 1 << 24
)

// decodeState rebuilds a surface from a save body of the given format version. Every
// index read is checked; anything inconsistent is an error naming what is wrong.
func decodeState(b *Bundle, body []byte, version uint32, rm *remap) (s *Surface, err error) {
	defer func() {
		// The checks below should catch every inconsistency; this keeps a corrupt save
		// that slips past them an error rather than a crash.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("inconsistent state: %v", r)
		}
	}()
	d := &decoder{buf: body, remap: rm}
	name, planet := d.str(maxName), d.str(maxName)
	seed := d.u()
	cfg := Config{Name: name, Planet: planet, Seed: seed}
	tick := d.u()
	var rs [4]uint64
	for i := range rs {
		rs[i] = d.u()
	}
	hash := d.u()
	np := d.n(1 << 16)
	for i := 0; i < np && d.err == nil; i++ {
		p := Patch{Resource: d.item(b), X: d.i32(), Y: d.i32(), W: d.i32(), H: d.i32(), Amount: d.u32()}
		cfg.Patches = append(cfg.Patches, p)
	}
	if d.err != nil {
		return nil, d.err
	}
	s, err = NewSurface(b, cfg)
	if err != nil {
		return nil, err
	}
	s.tick, s.rng.s, s.hash = tick, rs, hash
	f := &s.force
	f.research = d.i32()
	f.repeat = d.b()
	f.progress = d.i()
	if rm != nil {
		if f.research >= int32(len(rm.techs)) || f.research < -1 {
			return nil, fmt.Errorf("research %d out of range", f.research)
		}
		if f.research >= 0 {
			f.research = rm.techs[f.research]
		}
		if nd := d.n(len(rm.techs)); nd > 0 {
			f.done = make([]bool, len(b.Techs))
			for i := 0; i < nd; i++ {
				f.done[rm.techs[i]] = d.b()
			}
		}
	} else if nd := d.n(len(b.Techs)); nd > 0 {
		f.done = make([]bool, nd)
		for i := range f.done {
			f.done[i] = d.b()
		}
	}
	f.inserterBonus, f.bulkBonus = d.i32(), d.i32()
	if f.research >= int32(len(b.Techs)) || f.research < -1 {
		return nil, fmt.Errorf("research %d out of range", f.research)
	}

	nc := d.n(maxCount)
	for i := 0; i < nc && d.err == nil; i++ {
		k := chunkKey{d.i32(), d.i32()}
		c, _ := s.chunkAt(k.cx<<chunkBits, k.cy<<chunkBits)
		for j := range c.amount {
			c.amount[j] = d.u32()
			if c.res[j] == 0 && c.amount[j] != 0 && d.err == nil {
				return nil, fmt.Errorf("chunk %d,%d: ore on a tile without a resource", k.cx, k.cy)
			}
		}
		c.mined = true
	}

	ne := d.n(maxCount)
	if ne < 1 && d.err == nil {
		return nil, fmt.Errorf("entity table is empty")
	}
	s.ents = make([]entity, ne)
	s.ents[0].proto = -1
	for i := 1; i < ne && d.err == nil; i++ {
		en := &s.ents[i]
		en.proto = d.i32()
		if rm != nil && en.proto >= 0 {
			if int(en.proto) >= len(rm.ents) {
				return nil, fmt.Errorf("entity #%d: prototype %d out of range", i, en.proto)
			}
			en.proto = rm.ents[en.proto]
		}
		if en.proto < 0 {
			en.proto = -1
			continue
		}
		if int(en.proto) >= len(b.Entities) {
			return nil, fmt.Errorf("entity #%d: prototype %d out of range", i, en.proto)
		}
		p := &b.Entities[en.proto]
		en.kind = p.Kind
		en.dir = Dir(d.u())
		if !en.dir.valid() {
			return nil, fmt.Errorf("entity #%d: bad direction %d", i, en.dir)
		}
		en.x, en.y = d.i32(), d.i32()
		en.w, en.h = footprint(p, en.dir)
		en.slot = d.i32()
	}
	nl := d.n(maxCount)
	for i := 0; i < nl && d.err == nil; i++ {
		id := EntityID(d.u32())
		label := d.str(maxName)
		if !s.validEntity(id) {
			return nil, fmt.Errorf("label for missing entity #%d", id)
		}
		s.labels[id] = label
	}
	for k := range s.free {
		if version < 5 && Kind(k) >= KindBeacon {
			continue // beacons and the kinds after them came with format 5
		}
		n := d.n(maxSlotList)
		s.free[k] = nil
		for j := 0; j < n && d.err == nil; j++ {
			s.free[k] = append(s.free[k], d.i32())
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	// Place entities on the grid; overlapping entities mean a corrupt save.
	for i := 1; i < ne; i++ {
		en := &s.ents[i]
		if !en.alive() {
			continue
		}
		if blocker := s.areaFree(en.x, en.y, en.w, en.h); blocker != 0 {
			return nil, fmt.Errorf("entity #%d overlaps #%d", i, blocker)
		}
		s.setTiles(en.x, en.y, en.w, en.h, EntityID(i))
	}

	if err := s.decodeKinds(d, version); err != nil {
		return nil, err
	}
	if err := s.decodeLanes(d); err != nil {
		return nil, err
	}
	if err := s.decodeRest(d, version); err != nil {
		return nil, err
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("%d bytes left over after the state", len(d.buf))
	}
	s.resolveTargets()
	s.targetsDirty, s.beltsDirty, s.powerDirty = false, false, false
	return s, nil
}

func decodeCounts(d *decoder, b *Bundle) []int64 {
	n := d.n(d.itemCount(b))
	if n == 0 {
		return nil
	}
	list := make([]int64, len(b.Items)+1)
	for k := 0; k < n && d.err == nil; k++ {
		id := d.item(b)
		list[id] = d.i()
	}
	return list
}

func (d *decoder) item(b *Bundle) ItemID {
	v := d.u()
	if v > uint64(d.itemCount(b)) {
		d.fail(fmt.Errorf("item %d out of range", v))
		return 0
	}
	if d.remap != nil {
		return d.remap.items[v]
	}
	return ItemID(v)
}

func (s *Surface) validEntity(id EntityID) bool {
	return id != 0 && int(id) < len(s.ents) && s.ents[id].alive()
}

// checkOwner verifies that a slot record and its entity point at each other.
func (s *Surface) checkOwner(id EntityID, fam Kind, slot int) error {
	if id == 0 {
		return nil
	}
	if !s.validEntity(id) {
		return fmt.Errorf("%s slot %d belongs to missing entity #%d", fam, slot, id)
	}
	e := &s.ents[id]
	if slotFamily(e.kind) != fam || (fam != KindBelt && int(e.slot) != slot) {
		return fmt.Errorf("%s slot %d and entity #%d disagree", fam, slot, id)
	}
	return nil
}

func decodeBurner(d *decoder, b *Bundle, st *burnerState) {
	st.fuel = d.item(b)
	st.n = d.i32()
	st.energy = d.i()
	d.checkStack(b, st.fuel, st.n)
}

// checkStack fails the decoder on a stack that could not exist: items without an item
// type, negative counts, or more than a few stacks' worth.
func (d *decoder) checkStack(b *Bundle, item ItemID, n int32) {
	switch {
	case n < 0:
		d.fail(fmt.Errorf("negative item count %d", n))
	case item == 0 && n != 0:
		d.fail(fmt.Errorf("%d items of no item type", n))
	case item != 0 && n > 64*b.Items[item-1].StackSize:
		d.fail(fmt.Errorf("%d %s in one stack", n, b.Items[item-1].Name))
	}
}

func (s *Surface) decodeKinds(d *decoder, version uint32) error {
	b := s.b
	n := d.n(maxCount)
	s.belts = make([]beltNode, n)
	for i := range s.belts {
		bn := &s.belts[i]
		bn.ent = EntityID(d.u32())
		bn.alive = d.b()
		bn.kind = Kind(d.u())
		bn.dir = Dir(d.u())
		bn.x, bn.y = d.i32(), d.i32()
		bn.out = d.b()
		bn.split = d.i32()
		bn.side = uint8(d.u())
		bn.pair, bn.lane = -1, [2]int32{-1, -1}
		if d.err != nil {
			return d.err
		}
		if !bn.alive {
			continue
		}
		if !s.validEntity(bn.ent) || bn.side > 1 {
			return fmt.Errorf("belt node %d is inconsistent", i)
		}
		bn.speed = b.Entities[s.ents[bn.ent].proto].BeltSpeed
	}
	n = d.n(maxCount)
	s.splitters = make([]splitter, n)
	for i := range s.splitters {
		sp := &s.splitters[i]
		sp.ent = EntityID(d.u32())
		sp.node = [2]int32{d.i32(), d.i32()}
		sp.inPrio, sp.outPrio = int8(d.i32()), int8(d.i32())
		sp.filter = d.item(b)
		sp.toggle = [2]uint8{uint8(d.u() & 1), uint8(d.u() & 1)}
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(sp.ent, KindSplitter, i); err != nil {
			return err
		}
		if sp.ent != 0 {
			for _, ni := range sp.node {
				if ni < 0 || int(ni) >= len(s.belts) || s.belts[ni].split != int32(i) {
					return fmt.Errorf("splitter %d has a bad side node", i)
				}
			}
		}
	}
	for i := 1; i < len(s.ents); i++ {
		e := &s.ents[i]
		if !e.alive() {
			continue
		}
		switch e.kind {
		case KindBelt, KindUnderground:
			if e.slot < 0 || int(e.slot) >= len(s.belts) || s.belts[e.slot].ent != EntityID(i) {
				return fmt.Errorf("entity #%d has no belt node", i)
			}
		case KindSplitter:
			if e.slot < 0 || int(e.slot) >= len(s.splitters) || s.splitters[e.slot].ent != EntityID(i) {
				return fmt.Errorf("entity #%d has no splitter", i)
			}
		}
	}

	n = d.n(maxCount)
	s.ins = make([]inserter, n)
	for i := range s.ins {
		in := &s.ins[i]
		in.ent = EntityID(d.u32())
		in.state = uint8(d.u())
		in.move = d.i32()
		in.hand = d.item(b)
		in.handN = d.i32()
		d.checkStack(b, in.hand, in.handN)
		decodeBurner(d, b, &in.fuel)
		in.net = -1
		if version >= 6 && in.ent != 0 {
			in.fmode = uint8(d.u())
			if in.fmode > filterBlacklist && d.err == nil {
				return fmt.Errorf("inserter %d: bad filter mode %d", i, in.fmode)
			}
			if in.fmode != filterOff {
				for k := range in.filter {
					in.filter[k] = d.item(b)
				}
			}
		}
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(in.ent, KindInserter, i); err != nil {
			return err
		}
		if in.ent != 0 {
			p := &b.Entities[s.ents[in.ent].proto]
			in.proto = s.ents[in.ent].proto
			in.burner, in.bulk, in.half = p.Burner, p.Bulk, inserterHalfSwing(p)
			in.power = (p.EnergyPerRotation*int64(p.Rotation) + p.EnergyPerMove*int64(p.Extension)) * TicksPerSecond / 1000
			if in.state > insToPickup {
				return fmt.Errorf("inserter %d: bad state %d", i, in.state)
			}
		}
	}
	n = d.n(maxCount)
	s.crafters = make([]crafter, n)
	for i := range s.crafters {
		c := &s.crafters[i]
		c.ent = EntityID(d.u32())
		c.recipe = d.i32()
		if rm := d.remap; rm != nil && c.recipe >= 0 {
			if int(c.recipe) >= len(rm.recipes) {
				return fmt.Errorf("machine %d: recipe %d out of range", i, c.recipe)
			}
			c.recipe = rm.recipes[c.recipe]
		}
		for k := range c.in {
			c.in[k] = d.i32()
			d.checkStack(b, 1, c.in[k])
		}
		for k := range c.out {
			c.out[k] = d.i32()
			d.checkStack(b, 1, c.out[k])
		}
		c.work = workFrom(d.i(), version)
		c.crafting = d.b()
		decodeBurner(d, b, &c.fuel)
		var x crafterExt
		if version >= 5 {
			decodeMods(d, b, &c.mods)
			c.bonus = d.i32()
			for k := range x.fout {
				x.fout[k] = fluid.Amount(d.i())
				if x.fout[k] < 0 || x.fout[k] > 1<<40 {
					d.fail(fmt.Errorf("machine %d: fluid result %d out of range", i, x.fout[k]))
				}
			}
		}
		if version >= 5 {
			st := &x.silo
			st.parts = d.i32()
			st.cargo = d.item(b)
			st.launch = d.i32()
			st.res = d.item(b)
			st.resN = d.i32()
			d.checkStack(b, st.res, st.resN)
			if st.parts < 0 || st.parts > 1<<20 || st.launch < 0 || st.launch > 1<<20 {
				d.fail(fmt.Errorf("machine %d: rocket state out of range", i))
			}
		}
		c.net = -1
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(c.ent, KindAssembler, i); err != nil {
			return err
		}
		if c.ent == 0 {
			continue
		}
		if c.recipe < -1 || c.recipe >= int32(len(b.Recipes)) {
			return fmt.Errorf("machine %d: recipe %d out of range", i, c.recipe)
		}
		pi := s.ents[c.ent].proto
		p := &b.Entities[pi]
		c.proto, c.furnace, c.burner, c.speed, c.usage = pi, p.Kind == KindFurnace, p.Burner, p.Speed*effOne, p.EnergyUsage
		c.isSilo = p.Kind == KindRocketSilo
		if c.x = newCrafterExt(p); c.x != nil {
			c.x.fout, c.x.silo = x.fout, x.silo
		} else if x != (crafterExt{}) {
			return fmt.Errorf("machine %d: fluid or rocket state on a %s", i, p.Name)
		}
		if !c.isSilo && x.silo != (siloState{}) {
			return fmt.Errorf("machine %d: rocket state on a %s", i, p.Name)
		}
		c.limit = s.recipeLimits(c.speed, c.recipe)
		if err := s.checkLoadedModules(c.ent, &c.mods, c.bonus); err != nil {
			return err
		}
	}
	n = d.n(maxCount)
	s.drills = make([]drill, n)
	for i := range s.drills {
		dr := &s.drills[i]
		dr.ent = EntityID(d.u32())
		nt := d.n(1 << 16)
		for k := 0; k < nt && d.err == nil; k++ {
			dr.tiles = append(dr.tiles, TilePos{d.i32(), d.i32()})
		}
		dr.cur = d.i32()
		dr.work = workFrom(d.i(), version)
		dr.held = d.item(b)
		dr.done = d.b()
		decodeBurner(d, b, &dr.fuel)
		if version >= 5 {
			decodeMods(d, b, &dr.mods)
			dr.bonus = d.i32()
			dr.extra = d.i32()
			dr.last = d.item(b)
			d.checkStack(b, dr.last, dr.extra)
		}
		dr.net = -1
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(dr.ent, KindDrill, i); err != nil {
			return err
		}
		if dr.ent == 0 {
			continue
		}
		if dr.cur < 0 || (len(dr.tiles) > 0 && int(dr.cur) >= len(dr.tiles)) {
			return fmt.Errorf("drill %d: tile index %d out of range", i, dr.cur)
		}
		pi := s.ents[dr.ent].proto
		p := &b.Entities[pi]
		dr.proto, dr.burner, dr.speed, dr.usage = pi, p.Burner, p.Speed*effOne, p.EnergyUsage
		if err := s.checkLoadedModules(dr.ent, &dr.mods, dr.bonus); err != nil {
			return err
		}
	}
	n = d.n(maxCount)
	s.labs = make([]lab, n)
	for i := range s.labs {
		l := &s.labs[i]
		l.ent = EntityID(d.u32())
		for k := range l.packs {
			l.packs[k] = d.i32()
			d.checkStack(b, 1, l.packs[k])
		}
		l.work = workFrom(d.i(), version)
		l.working = d.b()
		if version >= 5 {
			decodeMods(d, b, &l.mods)
			l.bonus = d.i32()
		}
		l.net = -1
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(l.ent, KindLab, i); err != nil {
			return err
		}
		if l.ent != 0 {
			pi := s.ents[l.ent].proto
			l.proto, l.speed, l.usage = pi, b.Entities[pi].Speed*effOne, b.Entities[pi].EnergyUsage
			if err := s.checkLoadedModules(l.ent, &l.mods, l.bonus); err != nil {
				return err
			}
		}
	}
	n = d.n(maxCount)
	s.chests = make([]container, n)
	s.stacks = s.stacks[:0]
	for i := range s.chests {
		c := &s.chests[i]
		c.ent = EntityID(d.u32())
		c.port = -1
		if c.ent == 0 {
			continue
		}
		if err := s.checkOwner(c.ent, KindContainer, i); err != nil {
			return err
		}
		p := &b.Entities[s.ents[c.ent].proto]
		c.kind, c.off, c.n = p.Kind, int32(len(s.stacks)), p.Slots
		for k := int32(0); k < p.Slots; k++ {
			st := Stack{Item: d.item(b), Count: d.i32()}
			d.checkStack(b, st.Item, st.Count)
			s.stacks = append(s.stacks, st)
		}
		if d.b() {
			inf := &InfinitySettings{RemoveUnfiltered: d.b()}
			nf := d.n(1000)
			for k := 0; k < nf && d.err == nil; k++ {
				f := InfinityFilter{Item: d.str(maxName), Count: d.i32(), Mode: d.str(maxName)}
				if _, ok := b.ItemID(f.Item); !ok && d.err == nil {
					return fmt.Errorf("chest %d: infinity filter item %q unknown", i, f.Item)
				}
				inf.Filters = append(inf.Filters, f)
			}
			c.inf = inf
		}
		c.port = d.i32()
		c.bar = c.n
		if version >= 6 {
			c.bar = d.i32()
			if c.bar != c.n && (p.Kind != KindContainer || c.bar < 0 || c.bar > c.n) && d.err == nil {
				return fmt.Errorf("chest %d: inventory limit %d out of range for %s", i, c.bar, p.Name)
			}
		}
		if d.err != nil {
			return d.err
		}
	}
	n = d.n(maxCount)
	s.ports = make([]port, n)
	for i := range s.ports {
		p := &s.ports[i]
		p.ent = EntityID(d.u32())
		p.export = d.b()
		p.seq = d.u()
		p.credit = d.i()
		no := d.n(maxCount)
		for k := 0; k < no && d.err == nil; k++ {
			o := OutboxEntry{Seq: d.u(), Tick: d.u(), Item: d.item(b), Count: d.i32()}
			if o.Item == 0 || o.Count <= 0 {
				d.fail(fmt.Errorf("outbox entry %d is empty", o.Seq))
			}
			p.outbox = append(p.outbox, o)
		}
		if version >= 3 {
			nf := d.n(d.itemCount(b))
			for k := 0; k < nf && d.err == nil; k++ {
				p.filter = append(p.filter, d.item(b))
			}
			p.moved = decodeCounts(d, b)
			p.acked = decodeCounts(d, b)
		}
		if version >= 4 {
			p.space = d.u()
			p.dest = d.str(maxDest)
			p.lost = d.i()
		}
		if d.err != nil {
			return d.err
		}
	}
	if version >= 4 {
		n := d.n(maxSpaceMarks)
		s.marks = make([]spaceMark, 0, n)
		for k := 0; k < n && d.err == nil; k++ {
			m := spaceMark{space: d.u(), seq: d.u(), used: d.u()}
			if m.space == 0 || len(s.marks) > 0 && s.marks[len(s.marks)-1].space >= m.space {
				d.fail(fmt.Errorf("bridge marks are not sorted by space at %d", k))
			}
			s.marks = append(s.marks, m)
		}
		if d.err != nil {
			return d.err
		}
	}
	for i := range s.chests {
		c := &s.chests[i]
		if c.port < -1 || c.port >= int32(len(s.ports)) || (c.port >= 0 && s.ports[c.port].ent != c.ent) {
			return fmt.Errorf("chest %d: port %d inconsistent", i, c.port)
		}
	}
	n = d.n(maxCount)
	s.poles = make([]pole, n)
	for i := range s.poles {
		pl := &s.poles[i]
		pl.ent = EntityID(d.u32())
		pl.net = -1
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(pl.ent, KindPole, i); err != nil {
			return err
		}
		if pl.ent != 0 {
			e := &s.ents[pl.ent]
			p := &b.Entities[e.proto]
			pl.c, pl.reach, pl.supply = e.centre(), p.WireReach, p.SupplyRadius
		}
	}
	n = d.n(maxCount)
	s.gens = make([]generatorEnt, n)
	for i := range s.gens {
		g := &s.gens[i]
		g.ent = EntityID(d.u32())
		g.energy = d.i()
		g.net, g.seg = -1, -1
		if d.err != nil {
			return d.err
		}
		if err := s.checkOwner(g.ent, KindSolar, i); err != nil {
			return err
		}
		if g.ent != 0 {
			g.proto = s.ents[g.ent].proto
			g.kind = s.ents[g.ent].kind
		}
	}
	if version >= 5 {
		n = d.n(maxCount)
		s.beacons = make([]beacon, n)
		for i := range s.beacons {
			bc := &s.beacons[i]
			bc.ent = EntityID(d.u32())
			decodeMods(d, b, &bc.mods)
			bc.net = -1
			if d.err != nil {
				return d.err
			}
			if err := s.checkOwner(bc.ent, KindBeacon, i); err != nil {
				return err
			}
			if bc.ent != 0 {
				bc.proto = s.ents[bc.ent].proto
				if err := s.checkLoadedModules(bc.ent, &bc.mods, 0); err != nil {
					return err
				}
			}
		}
		if err := s.decodeFluids(d); err != nil {
			return err
		}
	}
	s.effectsDirty = true
	s.fluidDirty = true
	// Every live entity must own its slot.
	for i := 1; i < len(s.ents); i++ {
		e := &s.ents[i]
		if !e.alive() {
			continue
		}
		var owner EntityID
		switch slotFamily(e.kind) {
		case KindInserter:
			owner = slotEnt(s.ins, e.slot, func(x *inserter) EntityID { return x.ent })
		case KindAssembler:
			owner = slotEnt(s.crafters, e.slot, func(x *crafter) EntityID { return x.ent })
		case KindDrill:
			owner = slotEnt(s.drills, e.slot, func(x *drill) EntityID { return x.ent })
		case KindLab:
			owner = slotEnt(s.labs, e.slot, func(x *lab) EntityID { return x.ent })
		case KindContainer:
			owner = slotEnt(s.chests, e.slot, func(x *container) EntityID { return x.ent })
		case KindPole:
			owner = slotEnt(s.poles, e.slot, func(x *pole) EntityID { return x.ent })
		case KindSolar:
			owner = slotEnt(s.gens, e.slot, func(x *generatorEnt) EntityID { return x.ent })
		case KindBeacon:
			owner = slotEnt(s.beacons, e.slot, func(x *beacon) EntityID { return x.ent })
		case KindPipe:
			owner = slotEnt(s.fents, e.slot, func(x *fluidEnt) EntityID { return x.ent })
		default:
			owner = EntityID(i)
		}
		if owner != EntityID(i) {
			return fmt.Errorf("entity #%d has no state record", i)
		}
	}
	return d.err
}

func slotEnt[T any](list []T, slot int32, ent func(*T) EntityID) EntityID {
	if slot < 0 || int(slot) >= len(list) {
		return 0
	}
	return ent(&list[slot])
}

// decodeLanes rebuilds the lanes from the belts and puts the saved items on them.
func (s *Surface) decodeLanes(d *decoder) error {
	s.lanes = nil
	s.rebuildBelts()
	n := d.n(maxCount)
	if d.err != nil {
		return d.err
	}
	if n != len(s.lanes) {
		return fmt.Errorf("save has %d lanes, the belts make %d", n, len(s.lanes))
	}
	for li := range s.lanes {
		l := &s.lanes[li]
		length := d.i32()
		cnt := d.n(maxCount)
		if d.err != nil {
			return d.err
		}
		if length != l.length || cnt > int(l.mask)+1 {
			return fmt.Errorf("lane %d does not match the belts", li)
		}
		var pos int32
		for j := 0; j < cnt; j++ {
			it := d.item(s.b)
			gap := d.i32()
			if d.err != nil {
				return d.err
			}
			if it == 0 || gap < 0 || (j > 0 && gap < itemSpacing) || pos+gap >= l.length {
				return fmt.Errorf("lane %d: item %d badly placed", li, j)
			}
			pos += gap
			s.lanePushBack(int32(li), pos, it)
		}
	}
	return nil
}

func (s *Surface) decodeRest(d *decoder, version uint32) error {
	b := s.b
	s.rebuildPower()
	n := d.n(maxCount)
	if d.err != nil {
		return d.err
	}
	if n != len(s.nets) {
		return fmt.Errorf("save has %d electric networks, the poles make %d", n, len(s.nets))
	}
	for i := range s.nets {
		s.nets[i].sat = d.i32()
		s.nets[i].energy = d.i()
		if s.nets[i].sat < 0 || s.nets[i].sat > SatOne {
			return fmt.Errorf("network %d: satisfaction out of range", i)
		}
	}
	np := d.n(1 << 20)
	for i := 0; i < np && d.err == nil; i++ {
		p := player{id: d.u32(), name: d.str(maxName), pos: Vec{d.i32(), d.i32()}, online: d.b()}
		ni := d.n(1 << 16)
		p.inv = make([]Stack, ni)
		for k := range p.inv {
			p.inv[k] = Stack{Item: d.item(b), Count: d.i32()}
			d.checkStack(b, p.inv[k].Item, p.inv[k].Count)
		}
		if i > 0 && p.id <= s.players[len(s.players)-1].id {
			return fmt.Errorf("players out of order")
		}
		s.players = append(s.players, p)
	}
	st := &s.stats
	st.researched = d.i()
	// Per-item arrays are in the save's item order: with an earlier bundle, item i
	// of the save is slot[i] here.
	slot := func(i int) int { return i }
	nItems := len(b.Items) + 1
	if d.remap != nil {
		slot = func(i int) int { return int(d.remap.items[i]) }
		nItems = len(d.remap.items)
	}
	for _, c := range []*counter{&st.produced, &st.consumed, &st.lab} {
		for j := 0; j < nItems; j++ {
			i := slot(j)
			c.total[i] = d.i()
			if version >= 2 {
				c.cur[i] = d.i()
				c.minute[i] = d.i()
				for k := range c.ring[i] {
					c.ring[i][k] = d.i()
				}
			}
			// Version 1 kept totals only: the last-minute figures start empty.
		}
	}
	for _, arr := range [][]int64{st.created, st.voided, st.spilled, st.bridgedOut, st.bridgedIn} {
		for j := 0; j < nItems; j++ {
			arr[slot(j)] = d.i()
		}
	}
	return d.err
}

// workFrom converts a saved work counter to this build's units.
func workFrom(w int64, version uint32) int64 {
	if version < 5 {
		return w * effOne
	}
	return w
}

func decodeMods(d *decoder, b *Bundle, m *modSlots) {
	for k := range m {
		m[k] = d.item(b)
	}
}

// checkLoadedModules refuses module slots a running surface could not have:
// non-modules, modules the entity does not accept, more than its slots, gaps,
// or a productivity bar out of range.
func (s *Surface) checkLoadedModules(id EntityID, m *modSlots, bonus int32) error {
	if bonus < 0 || bonus >= 100 {
		return fmt.Errorf("entity #%d: productivity bar %d out of range", id, bonus)
	}
	p := &s.b.Entities[s.ents[id].proto]
	gap := false
	for k, item := range m {
		if item == 0 {
			gap = true
			continue
		}
		if gap || int32(k) >= p.ModuleSlots {
			return fmt.Errorf("entity #%d: module in slot %d of %d", id, k, p.ModuleSlots)
		}
		if err := s.checkModule(p, item); err != nil {
			return fmt.Errorf("entity #%d: %w", id, err)
		}
	}
	return nil
}
