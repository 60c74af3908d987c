package sim

// Naps: timed sleep for entities whose next ticks are predictable.
//
// A mining drill in the middle of a mining cycle and an inserter swinging its arm do the
// same thing on every tick: they add their usage to their network's demand and their
// speed, scaled by the network's satisfaction, to a progress counter. While the
// satisfaction stays the same, the tick on which the counter reaches its goal is known
// in advance. Such an entity takes a nap: it leaves its kind's active set until that
// tick, its usage is added to its network's demand as napDemand on every tick in
// between, and when it wakes the counter is advanced by the ticks it skipped, each at
// the gain it had. The entity is then updated normally on the tick it completes, in
// slot order, exactly as a full scan would have done.
//
// Anything that could make one of the skipped ticks differ wakes the nap first, with the
// counter brought up to the last completed tick: a change of the network's satisfaction
// (updatePower), a build or removal, any input that touches entities, a rebuild of
// derived state, and SetSleeping. A drill naps only while the tile it mines holds more
// units than the drills that can reach that tile could take during the nap, so the tile
// cannot run out while it sleeps. Save, FullHash and EntityHashes encode the counters
// with the skipped ticks added (napWork, napMove), so naps are invisible in the state.
// Naps are derived: nothing about them is saved, and a loaded surface starts awake.

// nap is a napping entity's record, by slot; wake is 0 when it is not napping. Naps
// ending on the same tick modulo the wheel's size are linked in a list through their
// records (prev and next are napRefs, -1 ends the list), so scheduling, waking and
// cancelling never allocate.
type nap struct {
	wake       uint64 // the tick on which the entity is updated again
	from       uint64 // the last tick counted in its progress counter
	gain       int64  // progress per skipped tick
	prev, next int32
}

// A napRef names a nap record: a drill slot ×2, or an inserter slot ×2 + 1.
func drillRef(slot int32) int32 { return slot << 1 }
func insRef(slot int32) int32   { return slot<<1 | 1 }

const (
	napWheelBits = 8
	napWheelSize = 1 << napWheelBits
	// napMinTicks is the shortest nap worth its bookkeeping.
	napMinTicks = 3
	// napSettle is how long a network's satisfaction must hold before its entities nap,
	// so that a network whose satisfaction changes every tick does not wake naps every tick.
	napSettle = 60
)

// naps holds the naps of drills and inserters (derived state).
type naps struct {
	drill []nap // by drill slot
	ins   []nap // by inserter slot
	wheel [napWheelSize]int32
	count int   // napping entities
	cover int64 // drillCover of the bundle
}

func (z *naps) rec(ref int32) *nap {
	if ref&1 == 0 {
		return &z.drill[ref>>1]
	}
	return &z.ins[ref>>1]
}

// napFit sizes the nap records for the current slots.
func (s *Surface) napFit() {
	z := &s.naps
	if z.cover == 0 {
		z.cover = drillCover(s.b)
		for i := range z.wheel {
			z.wheel[i] = -1
		}
	}
	if len(z.drill) < len(s.drills) {
		z.drill = append(z.drill, make([]nap, len(s.drills)-len(z.drill))...)
	}
	if len(z.ins) < len(s.ins) {
		z.ins = append(z.ins, make([]nap, len(s.ins)-len(z.ins))...)
	}
}

// drillCover bounds how many drills can have one tile in their mining areas: their
// footprints do not overlap and all lie within a square of the largest mining area plus
// the largest footprint around the tile.
func drillCover(b *Bundle) int64 {
	var area, wMax, wMin int64 = 0, 0, 1 << 30
	for i := range b.Entities {
		p := &b.Entities[i]
		if p.Kind != KindDrill {
			continue
		}
		area = max(area, int64(p.MiningArea))
		wMax = max(wMax, int64(p.W), int64(p.H))
		wMin = min(wMin, int64(p.W), int64(p.H))
	}
	if wMin < 1 {
		wMin = 1
	}
	side := area + wMax + 1
	return max((side*side+wMin*wMin-1)/(wMin*wMin), 1)
}

// settled is the last tick whose updates are complete: during Step the tick being
// computed is not.
func (s *Surface) settled() uint64 {
	if s.stepping {
		return s.tick - 1
	}
	return s.tick
}

// napDrill puts drill i to sleep until the tick its mining cycle completes, when that is
// certain. It runs at the end of the drill's update on the current tick, after it added
// gain to its work, which is still below need.
func (s *Surface) napDrill(i int32, d *drill, c *chunk, ci int, gain, need int64) {
	if s.noSleep || d.burner || d.held != 0 || d.extra != 0 || gain <= 0 || d.net < 0 {
		return
	}
	n := &s.nets[d.net]
	if n.stable > s.tick {
		return
	}
	k := (need - d.work + gain - 1) / gain // the update that completes the cycle is k ticks away
	if k < napMinTicks {
		return
	}
	// Other drills may mine the same tile, at most one unit a tick each, for the rest of
	// this tick and the k-1 skipped ticks.
	if int64(c.amount[ci]) <= k*s.naps.cover {
		return
	}
	s.napFit()
	s.napStart(drillRef(i), int64(s.tick)+k, gain)
	n.demand -= d.usage // drawn from now on as napDemand, this tick included
	n.napDemand += d.usage
	n.naps++
	s.active[KindDrill].clear(i)
}

// napInserter puts inserter i to sleep until the tick its swing arrives, after its move on
// the current tick left it short of the end.
func (s *Surface) napInserter(i int32, in *inserter, gain int32) {
	if s.noSleep || in.burner || gain <= 0 || in.net < 0 {
		return
	}
	n := &s.nets[in.net]
	if n.stable > s.tick {
		return
	}
	k := (int64(in.half)*SatOne - int64(in.move) + int64(gain) - 1) / int64(gain)
	if k < napMinTicks {
		return
	}
	s.napFit()
	s.napStart(insRef(i), int64(s.tick)+k, int64(gain))
	n.demand -= in.power // drawn from now on as napDemand, this tick included
	n.napDemand += in.power
	n.naps++
	s.active[KindInserter].clear(i)
}

// napStart records a nap of the entity ref ending on tick wake.
func (s *Surface) napStart(ref int32, wake, gain int64) {
	z := &s.naps
	r := z.rec(ref)
	h := &z.wheel[wake&(napWheelSize-1)]
	*r = nap{wake: uint64(wake), from: s.tick, gain: gain, prev: -1, next: *h}
	if *h >= 0 {
		z.rec(*h).prev = ref
	}
	*h = ref
	z.count++
}

// napEnd ends the nap of ref, advancing the entity's counter to the end of tick through
// and putting it back on its active set.
func (s *Surface) napEnd(ref int32, through uint64) {
	z := &s.naps
	r := z.rec(ref)
	if r.prev >= 0 {
		z.rec(r.prev).next = r.next
	} else {
		z.wheel[r.wake&(napWheelSize-1)] = r.next
	}
	if r.next >= 0 {
		z.rec(r.next).prev = r.prev
	}
	slot := ref >> 1
	skipped := int64(through - r.from)
	if ref&1 == 0 {
		d := &s.drills[slot]
		d.work += skipped * r.gain
		if d.net >= 0 && int(d.net) < len(s.nets) {
			s.nets[d.net].napDemand -= d.usage
			s.nets[d.net].naps--
		}
		s.active[KindDrill].set(slot)
	} else {
		in := &s.ins[slot]
		in.move += int32(skipped * r.gain)
		if in.net >= 0 && int(in.net) < len(s.nets) {
			s.nets[in.net].napDemand -= in.power
			s.nets[in.net].naps--
		}
		s.active[KindInserter].set(slot)
	}
	*r = nap{}
	z.count--
}

// napWakeDue wakes the naps that end on the current tick, before any entity is updated.
func (s *Surface) napWakeDue() {
	z := &s.naps
	if z.count == 0 {
		return
	}
	ref := z.wheel[s.tick&(napWheelSize-1)]
	for ref >= 0 {
		r := z.rec(ref)
		next := r.next
		if r.wake == s.tick {
			s.napEnd(ref, s.tick-1)
		}
		ref = next // later naps wait for a later turn of the wheel
	}
}

// wakeNaps ends every nap, counting the skipped ticks up to the last completed one.
func (s *Surface) wakeNaps() {
	if s.naps.count == 0 {
		return
	}
	through := s.settled()
	for i := range s.naps.drill {
		if s.naps.drill[i].wake != 0 {
			s.napEnd(drillRef(int32(i)), through)
		}
	}
	for i := range s.naps.ins {
		if s.naps.ins[i].wake != 0 {
			s.napEnd(insRef(int32(i)), through)
		}
	}
	for i := range s.nets {
		s.nets[i].napDemand, s.nets[i].naps = 0, 0
	}
	s.naps.count = 0
}

// wakeNetNaps ends the naps on network ni after updatePower changed its satisfaction for
// the next tick; the current tick's skipped update is already counted.
func (s *Surface) wakeNetNaps(ni int32) {
	for i := range s.naps.drill {
		if s.naps.drill[i].wake != 0 && s.drills[i].net == ni {
			s.napEnd(drillRef(int32(i)), s.tick)
		}
	}
	for i := range s.naps.ins {
		if s.naps.ins[i].wake != 0 && s.ins[i].net == ni {
			s.napEnd(insRef(int32(i)), s.tick)
		}
	}
}

// napWork is drill i's work counter with the ticks of a nap in progress counted.
func (s *Surface) napWork(i int32) int64 {
	d := &s.drills[i]
	if int(i) < len(s.naps.drill) {
		if r := &s.naps.drill[i]; r.wake != 0 {
			return d.work + int64(s.settled()-r.from)*r.gain
		}
	}
	return d.work
}

// napMove is inserter i's swing progress with the ticks of a nap in progress counted.
func (s *Surface) napMove(i int32) int32 {
	in := &s.ins[i]
	if int(i) < len(s.naps.ins) {
		if r := &s.naps.ins[i]; r.wake != 0 {
			return in.move + int32(int64(s.settled()-r.from)*r.gain)
		}
	}
	return in.move
}

// drillNapping and insNapping report whether a drill or an inserter is in a nap.
func (s *Surface) drillNapping(i int32) bool {
	return int(i) < len(s.naps.drill) && s.naps.drill[i].wake != 0
}

func (s *Surface) insNapping(i int32) bool {
	return int(i) < len(s.naps.ins) && s.naps.ins[i].wake != 0
}
