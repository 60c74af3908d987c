package sim

// Mining drills mine the resource tiles under their mining area one unit at a time, in
// round-robin order, and put each unit at their drop position: onto a belt lane, or into
// the entity there. A drill whose output is blocked holds the unit and waits.

type drill struct {
	ent    EntityID
	proto  int32
	burner bool
	tiles  []TilePos // resource tiles in the mining area, in row order
	cur    int32     // next tile to mine from
	work   int64     // in 1/effOne work units
	held   ItemID
	extra  int32 // units productivity added, still to put down (of held's item)
	done   bool  // every tile is depleted
	drop   target
	speed  int32 // mining speed in hundredths × (100 + speed effect)
	usage  int64
	net    int32
	fuel   burnerState
	mods   modSlots
	prod   int32  // productivity effect, percent
	bonus  int32  // productivity bar, percent
	last   ItemID // the resource extra units are of
	// The chunk and index of tiles[cur], cached (derived state, not saved).
	curChunk *chunk
	curIdx   int
}

func (s *Surface) addDrill(id EntityID, pi int) int32 {
	p := &s.b.Entities[pi]
	e := &s.ents[id]
	d := drill{ent: id, proto: int32(pi), burner: p.Burner, speed: p.Speed * effOne, usage: p.EnergyUsage, net: -1}
	// The mining area is centred on the drill.
	c := e.centre()
	half := p.MiningArea * TileUnits / 2
	x0, y0 := tileOfPos(c.X-half), tileOfPos(c.Y-half)
	for y := y0; y < y0+p.MiningArea; y++ {
		for x := x0; x < x0+p.MiningArea; x++ {
			if r, a := s.ResourceAt(x, y); r != 0 && a > 0 && !s.b.Items[r-1].Fluid {
				d.tiles = append(d.tiles, TilePos{x, y})
			}
		}
	}
	d.done = len(d.tiles) == 0
	i := s.allocSlot(KindDrill, len(s.drills))
	if int(i) == len(s.drills) {
		s.drills = append(s.drills, d)
	} else {
		s.drills[i] = d
	}
	s.active[KindDrill].set(i)
	return i
}

func (s *Surface) removeDrill(i int32) []Stack {
	d := &s.drills[i]
	var items []Stack
	items = addStack(items, d.held, 1)
	items = addStack(items, d.last, d.extra)
	items = addStack(items, d.fuel.fuel, d.fuel.n)
	items = addModStacks(items, &d.mods)
	s.drills[i] = drill{net: -1}
	return items
}

// drillOutput tries to put the held unit down and reports whether it did.
func (s *Surface) drillOutput(d *drill) bool {
	t := &d.drop
	ok := false
	switch {
	case t.isBelt():
		li := t.lane[t.side]
		ok = li >= 0 && s.laneInsert(li, t.lo, d.held)
	case t.kind != KindNone:
		ok = s.accepts(t, d.held) > 0 && s.insertInto(t, d.held, 1) == 1
	}
	if ok {
		s.hash = (s.hash ^ uint64(d.ent)<<10 ^ uint64(d.held)) * 0x100000001b3
		d.held = 0
	}
	return ok
}

// nextResource finds the next tile with resource left, starting at d.cur.
func (s *Surface) nextResource(d *drill) (*chunk, int, bool) {
	if c := d.curChunk; c != nil && c.amount[d.curIdx] > 0 {
		return c, d.curIdx, true
	}
	n := int32(len(d.tiles))
	for k := int32(0); k < n; k++ {
		i := (d.cur + k) % n
		t := d.tiles[i]
		c, ci := s.chunkAt(t.X, t.Y)
		if c.amount[ci] > 0 {
			d.cur = i
			d.curChunk, d.curIdx = c, ci
			return c, ci, true
		}
	}
	return nil, 0, false
}

// updateDrill advances one drill by a tick.
func (s *Surface) updateDrill(i int32) {
	if s.drillNapping(i) {
		s.active[KindDrill].clear(i) // woken by a change it does not watch mid-cycle
		return
	}
	d := &s.drills[i]
	if d.ent == 0 {
		s.sleep(KindDrill, i)
		return
	}
	if d.held == 0 && d.extra > 0 {
		d.held, d.extra = d.last, d.extra-1
	}
	if d.held != 0 && !s.drillOutput(d) {
		if !d.drop.isBelt() {
			s.sleep(KindDrill, i) // woken when the target changes
		}
		return
	}
	if d.done {
		s.sleep(KindDrill, i)
		return
	}
	c, ci, ok := s.nextResource(d)
	if !ok {
		d.done = true
		s.sleep(KindDrill, i)
		return
	}
	gain, ok := s.energy(d.burner, &d.fuel, d.net, d.usage, d.speed)
	if !ok {
		s.sleep(KindDrill, i) // woken when fuel is put in or the power topology changes
		return
	}
	d.work += gain
	res := c.res[ci]
	need := max(s.b.Items[res-1].MiningWork, 1) * effOne
	if d.work < need {
		s.napDrill(i, d, c, ci, gain, need)
		return
	}
	d.work -= need
	c.amount[ci]--
	c.mined = true
	d.cur = (d.cur + 1) % int32(len(d.tiles))
	d.curChunk = nil
	d.held = res
	s.stats.produce(res, 1)
	// Mining productivity: a full bonus bar is one more unit, not taken from the tile.
	if n := bonusCrafts(&d.bonus, d.prod); n > 0 {
		d.extra += n
		d.last = res
		s.stats.produce(res, int64(n))
	}
	s.drillOutput(d)
}
