package sim

import (
	"sort"

	"github.com/starlane/starlane/sim/fluid"
)

// Electric networks. Poles whose distance is within both poles' wire reach are connected
// (the game connects a placed pole to its neighbours the same way); each connected group
// is a network. An entity whose footprint overlaps a pole's supply area draws from that
// pole's network (the lowest-numbered pole if several reach it). Each tick a network's
// demand is what its working machines asked for plus the drain of the idle ones; its
// satisfaction for the next tick is supply over demand, and every machine on it runs at
// that fraction of its speed, so a short network slows down in proportion.

type pole struct {
	ent    EntityID
	c      Vec   // centre, position units
	reach  int32 // wire reach, position units
	supply int32 // half side of the supply square, position units
	net    int32
}

type generatorEnt struct {
	ent    EntityID
	kind   Kind
	proto  int32
	net    int32
	energy int64 // accumulators: stored energy; kept per network while networks stand
	seg    int32 // steam engines: the segment they draw steam from (derived)
}

type network struct {
	sat    int32 // satisfaction for the current tick, of SatOne
	demand int64 // requested this tick by working entities
	// lastDemand is the whole demand of the last tick, drain included (for reports).
	lastDemand int64
	drain      int64 // always drawn by connected idle consumers
	solar      int64 // peak production of connected solar panels, W
	acc        int64 // connected accumulators
	accCap     int64 // per accumulator
	accIn      int64
	accOut     int64
	energy     int64 // stored in the network's accumulators
	eei        bool  // an electric-energy-interface (unlimited source) is connected
	// Steam engines: per steam segment, how many draw from it; the steam one engine
	// uses per tick at full power and the energy per thousandth of a unit.
	steam      []steamDraw
	engineRate fluid.Amount
	engineJ    int64
	// Naps (naps.go, derived): the usage of this network's napping entities, drawn on
	// every tick they skip, how many there are, and the first tick on which its
	// entities may nap again after its satisfaction changed.
	napDemand int64
	naps      int32
	stable    uint64
}

func (s *Surface) addPole(id EntityID) int32 {
	e := &s.ents[id]
	p := &s.b.Entities[e.proto]
	pl := pole{ent: id, c: e.centre(), reach: p.WireReach, supply: p.SupplyRadius, net: -1}
	i := s.allocSlot(KindPole, len(s.poles))
	if int(i) == len(s.poles) {
		s.poles = append(s.poles, pl)
	} else {
		s.poles[i] = pl
	}
	return i
}

func (s *Surface) removePole(i int32) { s.poles[i] = pole{net: -1} }

func (s *Surface) addGenerator(id EntityID, p *EntityProto) int32 {
	g := generatorEnt{ent: id, kind: p.Kind, proto: s.ents[id].proto, net: -1, seg: -1}
	i := s.allocSlot(p.Kind, len(s.gens))
	if int(i) == len(s.gens) {
		s.gens = append(s.gens, g)
	} else {
		s.gens[i] = g
	}
	return i
}

func (s *Surface) removeGenerator(i int32) {
	g := &s.gens[i]
	if g.kind == KindAccumulator && g.net >= 0 {
		// The removed accumulator takes its share of the network's energy with it.
		n := &s.nets[g.net]
		if n.acc > 0 {
			share := n.energy / n.acc
			n.energy -= share
			n.acc--
		}
	}
	s.gens[i] = generatorEnt{net: -1, seg: -1}
}

// rebuildPower recomputes networks and which network every entity draws from.
func (s *Surface) rebuildPower() {
	// Hand each accumulator its share of its old network's energy.
	s.spreadAccumulatorEnergy()
	oldSat := s.satByPole()

	parent := make([]int32, len(s.poles))
	for i := range parent {
		parent[i] = int32(i)
	}
	var find func(int32) int32
	find = func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	const cell = 32 * TileUnits // no pole reaches further than 32 tiles
	grid := map[[2]int32][]int32{}
	for i := range s.poles {
		p := &s.poles[i]
		if p.ent == 0 {
			continue
		}
		k := [2]int32{floorDiv(p.c.X, cell), floorDiv(p.c.Y, cell)}
		grid[k] = append(grid[k], int32(i))
	}
	for i := range s.poles {
		p := &s.poles[i]
		if p.ent == 0 {
			continue
		}
		cx, cy := floorDiv(p.c.X, cell), floorDiv(p.c.Y, cell)
		for dy := int32(-1); dy <= 1; dy++ {
			for dx := int32(-1); dx <= 1; dx++ {
				for _, j := range grid[[2]int32{cx + dx, cy + dy}] {
					if j <= int32(i) {
						continue
					}
					q := &s.poles[j]
					r := int64(min(p.reach, q.reach))
					ddx, ddy := int64(p.c.X-q.c.X), int64(p.c.Y-q.c.Y)
					if ddx*ddx+ddy*ddy <= r*r {
						a, b := find(int32(i)), find(j)
						if a != b {
							if a < b {
								parent[b] = a
							} else {
								parent[a] = b
							}
						}
					}
				}
			}
		}
	}
	// Networks are numbered in order of their lowest pole.
	netOf := make([]int32, len(s.poles))
	s.nets = s.nets[:0]
	for i := range s.poles {
		netOf[i] = -1
		if s.poles[i].ent == 0 {
			continue
		}
		r := find(int32(i))
		if r == int32(i) {
			netOf[i] = int32(len(s.nets))
			s.nets = append(s.nets, network{sat: SatOne})
		} else {
			netOf[i] = netOf[r]
		}
		s.poles[i].net = netOf[i]
	}
	// Keep each network's satisfaction from before, by its lowest pole.
	for i := range s.poles {
		if n := s.poles[i].net; n >= 0 && find(int32(i)) == int32(i) {
			if sat, ok := oldSat[s.poles[i].ent]; ok {
				s.nets[n].sat = sat
			}
		}
	}

	// Supply areas by chunk, to find the poles reaching an entity quickly.
	supply := map[chunkKey][]int32{}
	for i := range s.poles {
		p := &s.poles[i]
		if p.ent == 0 {
			continue
		}
		x0, y0 := tileOfPos(p.c.X-p.supply)>>chunkBits, tileOfPos(p.c.Y-p.supply)>>chunkBits
		x1, y1 := tileOfPos(p.c.X+p.supply-1)>>chunkBits, tileOfPos(p.c.Y+p.supply-1)>>chunkBits
		for cy := y0; cy <= y1; cy++ {
			for cx := x0; cx <= x1; cx++ {
				supply[chunkKey{cx, cy}] = append(supply[chunkKey{cx, cy}], int32(i))
			}
		}
	}
	netAt := func(id EntityID) int32 {
		e := &s.ents[id]
		ex0, ey0 := e.x*TileUnits, e.y*TileUnits
		ex1, ey1 := ex0+e.w*TileUnits, ey0+e.h*TileUnits
		best := int32(-1)
		for cy := e.y >> chunkBits; cy <= (e.y+e.h-1)>>chunkBits; cy++ {
			for cx := e.x >> chunkBits; cx <= (e.x+e.w-1)>>chunkBits; cx++ {
				for _, pi := range supply[chunkKey{cx, cy}] {
					if best >= 0 && pi >= best {
						continue
					}
					p := &s.poles[pi]
					if p.c.X-p.supply < ex1 && p.c.X+p.supply > ex0 && p.c.Y-p.supply < ey1 && p.c.Y+p.supply > ey0 {
						best = pi
					}
				}
			}
		}
		if best < 0 {
			return -1
		}
		return s.poles[best].net
	}
	addDrain := func(net int32, d int64) {
		if net >= 0 {
			s.nets[net].drain += d
		}
	}
	for i := range s.crafters {
		c := &s.crafters[i]
		if c.ent == 0 || c.burner {
			continue
		}
		c.net = netAt(c.ent)
		addDrain(c.net, s.b.Entities[c.proto].Drain)
	}
	for i := range s.ins {
		in := &s.ins[i]
		if in.ent == 0 || in.burner {
			continue
		}
		in.net = netAt(in.ent)
		addDrain(in.net, s.b.Entities[in.proto].Drain)
	}
	for i := range s.drills {
		d := &s.drills[i]
		if d.ent == 0 || d.burner {
			continue
		}
		d.net = netAt(d.ent)
	}
	for i := range s.labs {
		l := &s.labs[i]
		if l.ent == 0 {
			continue
		}
		l.net = netAt(l.ent)
	}
	for i := range s.fents {
		fe := &s.fents[i]
		if fe.ent == 0 || (fe.kind != KindPump && fe.kind != KindPumpjack) {
			continue
		}
		fe.net = netAt(fe.ent)
		addDrain(fe.net, s.b.Entities[fe.proto].Drain)
	}
	for i := range s.beacons {
		bc := &s.beacons[i]
		if bc.ent == 0 {
			continue
		}
		// A beacon draws its whole usage all the time, working machines or not.
		bc.net = netAt(bc.ent)
		addDrain(bc.net, s.b.Entities[bc.proto].EnergyUsage)
	}
	for i := range s.gens {
		g := &s.gens[i]
		if g.ent == 0 {
			continue
		}
		g.net = netAt(g.ent)
		if g.net < 0 {
			continue
		}
		n := &s.nets[g.net]
		p := &s.b.Entities[g.proto]
		switch g.kind {
		case KindSolar:
			n.solar += p.Production
		case KindAccumulator:
			n.acc++
			n.accCap, n.accIn, n.accOut = p.Buffer, p.FlowIn, p.FlowOut
			n.energy += g.energy
			g.energy = 0
		case KindEnergyInterface:
			n.eei = true
		case KindSteamEngine:
			if g.seg < 0 {
				continue
			}
			n.engineRate, n.engineJ = p.PumpRate, p.Production/int64(p.PumpRate)
			found := false
			for k := range n.steam {
				if n.steam[k].seg == g.seg {
					n.steam[k].engines++
					found = true
				}
			}
			if !found {
				n.steam = append(n.steam, steamDraw{seg: g.seg, engines: 1})
			}
		}
	}
	s.wakeAll()
}

// satByPole remembers each current network's satisfaction by the entity of its lowest pole.
func (s *Surface) satByPole() map[EntityID]int32 {
	out := map[EntityID]int32{}
	seen := make([]bool, len(s.nets))
	for i := range s.poles {
		p := &s.poles[i]
		if p.ent == 0 || p.net < 0 || int(p.net) >= len(s.nets) || seen[p.net] {
			continue
		}
		seen[p.net] = true
		out[p.ent] = s.nets[p.net].sat
	}
	return out
}

// spreadAccumulatorEnergy moves each network's stored energy into its accumulators,
// evenly, the remainder to the first ones in slot order.
func (s *Surface) spreadAccumulatorEnergy() {
	if len(s.nets) == 0 {
		return
	}
	byNet := make([][]int32, len(s.nets))
	for i := range s.gens {
		g := &s.gens[i]
		if g.ent != 0 && g.kind == KindAccumulator && g.net >= 0 && int(g.net) < len(s.nets) {
			byNet[g.net] = append(byNet[g.net], int32(i))
		}
	}
	for ni, gs := range byNet {
		n := &s.nets[ni]
		if len(gs) == 0 {
			continue
		}
		share, rest := n.energy/int64(len(gs)), n.energy%int64(len(gs))
		for k, gi := range gs {
			s.gens[gi].energy = share
			if int64(k) < rest {
				s.gens[gi].energy++
			}
		}
		n.energy = 0
	}
}

// daylight returns solar output at a tick as a fraction of SatOne (Daylight with the
// bundle's day).
func (s *Surface) daylight(tick uint64) int64 { return Daylight(s.b.DayTicks, tick) }

// Daylight returns solar output at a tick of a day of day ticks as a fraction of SatOne
// (full output without a day). The day starts at noon: full light until dusk (a quarter
// day), fading to dark by evening (0.45), dark until morning (0.55), brightening until
// dawn (0.75), as on Nauvis. Map generators size solar fields with it.
func Daylight(day int64, tick uint64) int64 {
	if day <= 0 {
		return SatOne
	}
	t := int64(tick % uint64(day))
	dusk, evening, morning, dawn := day/4, day*45/100, day*55/100, day*3/4
	switch {
	case t < dusk || t >= dawn:
		return SatOne
	case t < evening:
		return SatOne * (evening - t) / (evening - dusk)
	case t < morning:
		return 0
	default:
		return SatOne * (t - morning) / (dawn - morning)
	}
}

// updatePower settles this tick's energy and sets next tick's satisfaction.
func (s *Surface) updatePower() {
	light := s.daylight(s.tick)
	next := s.daylight(s.tick + 1)
	for i := range s.nets {
		n := &s.nets[i]
		old := n.sat
		s.settlePower(n, light, next)
		if n.sat != old {
			n.stable = s.tick + napSettle
			if n.naps > 0 {
				s.wakeNetNaps(int32(i))
			}
		}
	}
}

// settlePower settles one network's energy for this tick and sets its satisfaction for
// the next.
func (s *Surface) settlePower(n *network, light, next int64) {
	demand := n.demand + n.drain + n.napDemand
	n.demand = 0
	n.lastDemand = demand
	if n.eei {
		n.sat = SatOne
		return
	}
	solar := n.solar * light / SatOne
	used := demand * int64(n.sat) / SatOne
	fromSolar := min(solar, used)
	// Steam engines (secondary) after solar, accumulators (tertiary) last.
	var steamCap, fromSteam int64
	if len(n.steam) > 0 {
		steamCap = s.steamCapacity(n)
		fromSteam = min(used-fromSolar, steamCap)
		s.burnSteam(n, fromSteam, steamCap)
	}
	if fromAcc := min(used-fromSolar-fromSteam, n.energy, n.acc*n.accOut); fromAcc > 0 {
		n.energy -= fromAcc
	}
	if surplus := solar - fromSolar; surplus > 0 && n.acc > 0 {
		n.energy += min(surplus, n.acc*n.accIn, n.acc*n.accCap-n.energy)
	}
	avail := n.solar*next/SatOne + min(n.energy, n.acc*n.accOut)
	if len(n.steam) > 0 {
		avail += s.steamCapacity(n)
	}
	switch {
	case demand == 0 || avail >= demand:
		n.sat = SatOne
	default:
		n.sat = int32(avail * SatOne / demand)
	}
}

// PowerStats summarises a surface's electric networks.
type PowerStats struct {
	Networks     int
	Satisfaction []float64 // per network, 0..1
	StoredJ      int64
	// DemandW is what every network asked for in the last tick, drain included, in W
	// (what the machines would draw at full satisfaction).
	DemandW int64
}

// Power returns a summary of the electric networks (for reports, not simulation).
func (s *Surface) Power() PowerStats {
	ps := PowerStats{Networks: len(s.nets)}
	for i := range s.nets {
		ps.Satisfaction = append(ps.Satisfaction, float64(s.nets[i].sat)/SatOne)
		ps.StoredJ += s.nets[i].energy / EnergyPerJoule
		ps.DemandW += s.nets[i].lastDemand
	}
	sort.Float64s(ps.Satisfaction)
	return ps
}
