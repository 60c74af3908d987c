package sim

// ItemTotals counts every item the surface holds, by name: in containers and ports,
// on belts, in inserter hands, in machines, drills, labs, fuel slots and character
// inventories. The ingredients of a craft in progress were consumed when it started (as
// the statistics say) and are not counted. Items in an
// export port's outbox have left the surface and are not counted. Conservation checks
// compare these totals with the production statistics.
func (s *Surface) ItemTotals() map[string]int64 {
	counts := make([]int64, len(s.b.Items)+1)
	add := func(item ItemID, n int64) {
		if item != 0 {
			counts[item] += n
		}
	}
	for i := range s.chests {
		c := &s.chests[i]
		if c.ent == 0 {
			continue
		}
		for _, st := range s.stacks[c.off : c.off+c.n] {
			add(st.Item, int64(st.Count))
		}
	}
	for li := range s.lanes {
		s.laneCount(&s.lanes[li], counts)
	}
	for i := range s.ins {
		in := &s.ins[i]
		if in.ent != 0 {
			add(in.hand, int64(in.handN))
			add(in.fuel.fuel, int64(in.fuel.n))
		}
	}
	for i := range s.crafters {
		c := &s.crafters[i]
		if c.ent == 0 {
			continue
		}
		for _, st := range s.crafterContents(c, nil, false) {
			add(st.Item, int64(st.Count))
		}
		for _, m := range c.mods {
			add(m, 1)
		}
		if c.isSilo {
			add(c.x.silo.cargo, 1)
			add(c.x.silo.res, int64(c.x.silo.resN))
			rp, _ := s.b.ItemID("rocket-part")
			add(rp, int64(c.x.silo.parts))
		}
	}
	for i := range s.drills {
		d := &s.drills[i]
		if d.ent != 0 {
			add(d.held, 1)
			add(d.last, int64(d.extra))
			add(d.fuel.fuel, int64(d.fuel.n))
			for _, m := range d.mods {
				add(m, 1)
			}
		}
	}
	for i := range s.labs {
		l := &s.labs[i]
		if l.ent == 0 {
			continue
		}
		for _, st := range s.labContents(l, nil) {
			add(st.Item, int64(st.Count))
		}
		for _, m := range l.mods {
			add(m, 1)
		}
	}
	for i := range s.beacons {
		for _, m := range s.beacons[i].mods {
			add(m, 1)
		}
	}
	for i := range s.fents {
		fe := &s.fents[i]
		add(fe.fuel.fuel, int64(fe.fuel.n))
		for _, m := range fe.mods {
			add(m, 1)
		}
	}
	for _, p := range s.players {
		for _, st := range p.inv {
			add(st.Item, int64(st.Count))
		}
	}
	out := map[string]int64{}
	for id, n := range counts {
		if n != 0 {
			out[s.b.ItemName(ItemID(id))] = n
		}
	}
	return out
}

// Contents returns what an entity holds (as mining it would give back), merged by item.
func (s *Surface) Contents(id EntityID) []Stack {
	if !s.validEntity(id) {
		return nil
	}
	return s.contents(id)
}
