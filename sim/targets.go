package sim

// Targets, watchers and sleeping. An inserter or drill resolves what it reaches at its
// pickup and drop positions once per topology change. It then watches those entities:
// when their contents change, the watchers are woken. An entity only sleeps when nothing
// can change for it without such a wake-up, so a surface computes exactly the same states
// with sleeping on or off (a test proves it); sleeping only saves the work.

type watcher struct {
	kind Kind // KindInserter or KindDrill
	slot int32
}

// resolveAt returns what lies at a position for an inserter or drill at centre c.
func (s *Surface) resolveAt(p Vec, drop bool) target {
	tx, ty := tileOfPos(p.X), tileOfPos(p.Y)
	id := s.EntityAt(tx, ty)
	if id == 0 {
		return target{lane: [2]int32{-1, -1}}
	}
	e := &s.ents[id]
	t := target{ent: id, kind: e.kind, slot: e.slot, lane: [2]int32{-1, -1}}
	switch e.kind {
	case KindBelt, KindUnderground, KindSplitter:
		ni := s.nodeAt(tx, ty)
		if ni < 0 {
			return target{lane: [2]int32{-1, -1}}
		}
		n := &s.belts[ni]
		t.lane = n.lane
		real := n.k + n.span - 1 // the node's own tile, upstream of any underground part
		if !drop {
			t.lo = real * TileUnits
			return t
		}
		// Offsets of the point from the tile centre decide the lane and the position.
		ox := p.X - tx*TileUnits - TileUnits/2
		oy := p.Y - ty*TileUnits - TileUnits/2
		lx, ly := n.dir.ccw().vec()
		if ox*lx+oy*ly > 0 {
			t.side = 0
		} else {
			t.side = 1
		}
		vx, vy := n.dir.vec()
		along := TileUnits/2 - (ox*vx + oy*vy)
		t.lo = real*TileUnits + min(max(along, 0), TileUnits-1)
	}
	return t
}

// resolveTargets recomputes every inserter's and drill's targets and the watcher lists.
func (s *Surface) resolveTargets() {
	if cap(s.watchers) >= len(s.ents) {
		s.watchers = s.watchers[:len(s.ents)]
		for i := range s.watchers {
			s.watchers[i] = s.watchers[i][:0]
		}
	} else {
		s.watchers = make([][]watcher, len(s.ents))
	}
	watch := func(id EntityID, w watcher) {
		if id != 0 {
			s.watchers[id] = append(s.watchers[id], w)
		}
	}
	for i := range s.ins {
		in := &s.ins[i]
		if in.ent == 0 {
			continue
		}
		e := &s.ents[in.ent]
		p := &s.b.Entities[in.proto]
		c := e.centre()
		pk, dr := p.Pickup.rotate(e.dir), p.Insert.rotate(e.dir)
		in.pick = s.resolveAt(Vec{c.X + pk.X, c.Y + pk.Y}, false)
		in.drop = s.resolveAt(Vec{c.X + dr.X, c.Y + dr.Y}, true)
		w := watcher{KindInserter, int32(i)}
		watch(in.pick.ent, w)
		if in.drop.ent != in.pick.ent {
			watch(in.drop.ent, w)
		}
	}
	for i := range s.drills {
		d := &s.drills[i]
		if d.ent == 0 {
			continue
		}
		e := &s.ents[d.ent]
		p := &s.b.Entities[d.proto]
		c := e.centre()
		v := p.DropVector.rotate(e.dir)
		d.drop = s.resolveAt(Vec{c.X + v.X, c.Y + v.Y}, true)
		watch(d.drop.ent, watcher{KindDrill, int32(i)})
	}
	// The inserters picking from each lane, woken when a new item type reaches it.
	if cap(s.lanePickers) >= len(s.lanes) {
		s.lanePickers = s.lanePickers[:len(s.lanes)]
		for i := range s.lanePickers {
			s.lanePickers[i] = s.lanePickers[i][:0]
		}
	} else {
		s.lanePickers = make([][]int32, len(s.lanes))
	}
	for i := range s.ins {
		in := &s.ins[i]
		if in.ent == 0 || !in.pick.isBelt() {
			continue
		}
		for _, li := range in.pick.lane {
			if li >= 0 && int(li) < len(s.lanePickers) {
				s.lanePickers[li] = append(s.lanePickers[li], int32(i))
			}
		}
	}
	s.wakeAll()
}

// changed wakes an entity and everything watching it after its contents changed.
func (s *Surface) changed(id EntityID) {
	e := &s.ents[id]
	switch fam := slotFamily(e.kind); fam {
	case KindAssembler, KindLab, KindContainer, KindDrill, KindInserter:
		s.active[fam].set(e.slot)
	}
	if int(id) < len(s.watchers) {
		for _, w := range s.watchers[id] {
			s.active[w.kind].set(w.slot)
		}
	}
}

// changedTarget is changed for a resolved target, whose kind and slot are those of its
// entity: it spares a read of the entity table.
func (s *Surface) changedTarget(t *target) {
	switch fam := slotFamily(t.kind); fam {
	case KindAssembler, KindLab, KindContainer, KindDrill, KindInserter:
		s.active[fam].set(t.slot)
	}
	if int(t.ent) < len(s.watchers) {
		for _, w := range s.watchers[t.ent] {
			s.active[w.kind].set(w.slot)
		}
	}
}

// sleep takes an entity off its kind's active set until something wakes it.
func (s *Surface) sleep(fam Kind, slot int32) {
	if !s.noSleep {
		s.active[fam].clear(slot)
	}
}

// wakeAll puts every entity back on the active sets.
func (s *Surface) wakeAll() {
	s.wakeNaps()
	for _, k := range []Kind{KindInserter, KindAssembler, KindDrill, KindLab, KindContainer, KindPipe} {
		var n int
		switch k {
		case KindInserter:
			n = len(s.ins)
		case KindAssembler:
			n = len(s.crafters)
		case KindDrill:
			n = len(s.drills)
		case KindLab:
			n = len(s.labs)
		case KindContainer:
			n = len(s.chests)
		case KindPipe:
			n = len(s.fents)
		}
		s.active[k] = s.active[k][:0]
		for i := 0; i < n; i++ {
			s.active[k].set(int32(i))
		}
	}
	s.laneActive = s.laneActive[:0]
	for i := range s.lanes {
		s.laneActive.set(int32(i))
	}
}
