package sim

import (
	"fmt"
	"math"
	stdbits "math/bits"
)

// Inserters swing between a pickup and a drop position given by the prototype vectors,
// rotated with the entity's direction (the direction names the pickup side). A swing from
// pickup to drop takes half a turn at the prototype's rotation speed, as in the game: a
// yellow inserter moving chest to chest completes a cycle every 72 ticks.

// Inserter states.
const (
	insPickup   uint8 = iota // at the pickup position, waiting for something to take
	insToDrop                // swinging towards the drop position
	insDrop                  // at the drop position, waiting to put the hand down
	insToPickup              // swinging back
)

// target is what an inserter or drill reaches at a position.
type target struct {
	ent  EntityID
	kind Kind
	slot int32
	lane [2]int32 // belts: the lanes of the node at the tile
	lo   int32    // belts: start of the pickup window, or the drop position
	side int8     // belts (drop): which of the two lanes the item goes on
}

func (t *target) isBelt() bool {
	return t.kind == KindBelt || t.kind == KindUnderground || t.kind == KindSplitter
}

type inserter struct {
	ent    EntityID
	proto  int32
	state  uint8
	burner bool
	bulk   bool
	move   int32 // swing progress, SatOne per tick at full power
	half   int32 // ticks per half swing
	hand   ItemID
	handN  int32
	pick   target
	drop   target
	net    int32
	power  int64 // watts while moving
	fuel   burnerState
	// filter holds the items of the inserter's filter, fmode whether it is off, a
	// whitelist (only those are picked up) or a blacklist (all but those).
	filter [MaxInserterFilters]ItemID
	fmode  uint8
}

// Inserter filter modes.
const (
	filterOff uint8 = iota
	filterWhitelist
	filterBlacklist
)

// MaxInserterFilters is how many items an inserter's filter names: filter_count = 5
// on every inserter of the game's data (base/prototypes/entity/entities.lua, 2.0.77:
// burner, inserter, long-handed, fast and bulk).
const MaxInserterFilters = 5

// lets reports whether the inserter's filter lets it pick up an item.
func (in *inserter) lets(item ItemID) bool {
	if in.fmode == filterOff {
		return true
	}
	listed := false
	for _, f := range in.filter {
		if f != 0 && f == item {
			listed = true
			break
		}
	}
	return listed == (in.fmode == filterWhitelist)
}

// takes is how many of an item the inserter may pick up for its drop target now.
func (s *Surface) takes(in *inserter, item ItemID) int32 {
	if !in.lets(item) {
		return 0
	}
	return s.accepts(&in.drop, item)
}

// checkFilter validates a build's inserter filter.
func (s *Surface) checkFilter(p *EntityProto, sp *BuildSpec) error {
	if p.Kind != KindInserter {
		return fmt.Errorf("cannot build %s with an item filter: only inserters (and splitters, with their own filter) have one", sp.Name)
	}
	if sp.FilterMode != "whitelist" && sp.FilterMode != "blacklist" {
		return fmt.Errorf("cannot build %s: filter mode %q is not whitelist or blacklist", sp.Name, sp.FilterMode)
	}
	if len(sp.Filters) > MaxInserterFilters {
		return fmt.Errorf("cannot build %s with %d filters: an inserter has %d", sp.Name, len(sp.Filters), MaxInserterFilters)
	}
	for _, f := range sp.Filters {
		if f == "" {
			continue // an empty slot
		}
		if _, ok := s.b.ItemID(f); !ok {
			return fmt.Errorf("cannot build %s: filter item %q is unknown", sp.Name, f)
		}
	}
	return nil
}

// setFilter applies a build's inserter filter; checkBuild validated it.
func (s *Surface) setFilter(in *inserter, sp *BuildSpec) {
	switch sp.FilterMode {
	case "":
		return
	case "blacklist":
		in.fmode = filterBlacklist
	default:
		in.fmode = filterWhitelist
	}
	for k, name := range sp.Filters {
		in.filter[k], _ = s.b.ItemID(name)
	}
}

// inserterHalfSwing returns the ticks of a half swing: half a turn of rotation, or the
// change in arm length, whichever takes longer.
func inserterHalfSwing(p *EntityProto) int32 {
	rot := (500 + p.Rotation - 1) / p.Rotation
	dp := int64(abs32(p.Pickup.Y)) * 1000 / TileUnits
	di := int64(abs32(p.Insert.Y)) * 1000 / TileUnits
	ext := int32((abs64(di-dp) + int64(p.Extension) - 1) / int64(p.Extension))
	return max(rot, ext, 1)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func (s *Surface) addInserter(id EntityID, p *EntityProto, sp *BuildSpec) int32 {
	pi := s.ents[id].proto
	in := inserter{ent: id, proto: pi, burner: p.Burner, bulk: p.Bulk, half: inserterHalfSwing(p), net: -1,
		power: (p.EnergyPerRotation*int64(p.Rotation) + p.EnergyPerMove*int64(p.Extension)) * TicksPerSecond / 1000}
	s.setFilter(&in, sp)
	i := s.allocSlot(KindInserter, len(s.ins))
	if int(i) == len(s.ins) {
		s.ins = append(s.ins, in)
	} else {
		s.ins[i] = in
	}
	s.active[KindInserter].set(i)
	return i
}

func (s *Surface) removeInserter(i int32) []Stack {
	in := &s.ins[i]
	var items []Stack
	items = addStack(items, in.hand, in.handN)
	items = addStack(items, in.fuel.fuel, in.fuel.n)
	s.ins[i] = inserter{net: -1}
	return items
}

// handSize is how many items an inserter carries per swing, from research bonuses.
func (s *Surface) handSize(in *inserter) int32 {
	if in.bulk {
		return 2 + s.force.bulkBonus
	}
	return 1 + s.force.inserterBonus
}

const anyAmount = math.MaxInt32

// accepts returns how many of an item a target takes now.
func (s *Surface) accepts(t *target, item ItemID) int32 {
	switch t.kind {
	case KindBelt, KindUnderground, KindSplitter:
		return anyAmount
	case KindContainer, KindInfinityChest, KindBridgeExport:
		c := &s.chests[t.slot]
		if c.port >= 0 && !s.ports[c.port].takes(item) {
			return 0
		}
		return s.slotsRoom(s.stacks[c.off:c.off+c.bar], item)
	case KindAssembler, KindFurnace, KindRocketSilo:
		return s.crafterAccepts(&s.crafters[t.slot], item)
	case KindLab:
		return s.labAccepts(&s.labs[t.slot], item)
	case KindDrill:
		d := &s.drills[t.slot]
		if d.burner {
			return s.fuelAccepts(&d.fuel, item)
		}
	case KindInserter:
		in := &s.ins[t.slot]
		if in.burner {
			return s.fuelAccepts(&in.fuel, item)
		}
	case KindBoiler:
		return s.fuelAccepts(&s.fents[t.slot].fuel, item)
	}
	return 0
}

// wantsAny reports whether a target might accept some item now. It is exact for machines
// and labs (all inputs at their limits means nothing is accepted) and true for anything
// else that takes items.
func (s *Surface) wantsAny(t *target) bool {
	switch t.kind {
	case KindNone, KindBridgeImport, KindSolar, KindAccumulator, KindEnergyInterface, KindPole,
		KindBeacon, KindPipe, KindPump, KindOffshorePump, KindSteamEngine, KindPumpjack:
		return false
	case KindBoiler:
		return s.fents[t.slot].fuel.n < fuelLimit
	case KindAssembler, KindFurnace, KindRocketSilo:
		c := &s.crafters[t.slot]
		if c.burner && c.fuel.n < fuelLimit {
			return true
		}
		if c.recipe < 0 || (c.furnace && c.in[0] == 0 && !c.crafting && c.out[0] == 0) {
			return true
		}
		for k := range s.b.ingIDs[c.recipe] {
			if c.in[k] < c.limit[k] {
				return true
			}
		}
		return false
	case KindLab:
		l := &s.labs[t.slot]
		for k, id := range s.b.labIn[l.proto] {
			if id != 0 && k < len(l.packs) && l.packs[k] < labPackLimit {
				return true
			}
		}
		return false
	case KindDrill:
		d := &s.drills[t.slot]
		return d.burner && d.fuel.n < fuelLimit
	case KindInserter:
		in := &s.ins[t.slot]
		return in.burner && in.fuel.n < fuelLimit
	}
	return true
}

// insertInto puts up to n items into a non-belt target and returns how many went in.
func (s *Surface) insertInto(t *target, item ItemID, n int32) int32 {
	var got int32
	switch t.kind {
	case KindContainer, KindInfinityChest, KindBridgeExport:
		c := &s.chests[t.slot]
		got = s.slotsInsert(s.stacks[c.off:c.off+c.bar], item, n)
	case KindAssembler, KindFurnace, KindRocketSilo:
		got = s.crafterInsert(t.slot, item, n)
	case KindLab:
		l := &s.labs[t.slot]
		if k := s.labInput(l, item); k >= 0 && k < len(l.packs) {
			l.packs[k] += n
			got = n
		}
	case KindDrill:
		if d := &s.drills[t.slot]; d.burner {
			got = s.fuelInsert(&d.fuel, item, n)
		}
	case KindInserter:
		if in := &s.ins[t.slot]; in.burner {
			got = s.fuelInsert(&in.fuel, item, n)
		}
	case KindBoiler:
		got = s.fuelInsert(&s.fents[t.slot].fuel, item, n)
	}
	if got > 0 {
		s.changedTarget(t)
	}
	return got
}

// offer returns an item the inserter's source holds that its filter lets it pick up and
// its drop target accepts, and how many there are.
func (s *Surface) offer(in *inserter) (ItemID, int32) {
	src := &in.pick
	switch src.kind {
	case KindContainer, KindInfinityChest, KindBridgeImport:
		c := &s.chests[src.slot]
		slots := s.stacks[c.off : c.off+c.n]
		for i := len(slots) - 1; i >= 0; i-- {
			if slots[i].Count > 0 && s.takes(in, slots[i].Item) > 0 {
				return slots[i].Item, slotsCount(slots, slots[i].Item)
			}
		}
	case KindAssembler, KindFurnace, KindRocketSilo:
		return s.crafterOffer(&s.crafters[src.slot], in)
	case KindLab:
		l := &s.labs[src.slot]
		for k, id := range s.b.labIn[l.proto] {
			if k < len(l.packs) && l.packs[k] > 0 && s.takes(in, id) > 0 {
				return id, l.packs[k]
			}
		}
	}
	return 0, 0
}

// take removes up to n items from a non-belt source and returns how many it got.
func (s *Surface) take(src *target, item ItemID, n int32) int32 {
	var got int32
	switch src.kind {
	case KindContainer, KindInfinityChest, KindBridgeImport:
		c := &s.chests[src.slot]
		got = slotsRemove(s.stacks[c.off:c.off+c.n], item, n)
	case KindAssembler, KindFurnace, KindRocketSilo:
		got = s.crafterTake(&s.crafters[src.slot], item, n)
	case KindLab:
		l := &s.labs[src.slot]
		if k := s.labInput(l, item); k >= 0 && k < len(l.packs) {
			got = min(n, l.packs[k])
			l.packs[k] -= got
		}
	}
	if got > 0 {
		s.changedTarget(src)
	}
	return got
}

// updateInserter advances one inserter by a tick.
func (s *Surface) updateInserter(i int32) {
	if s.insNapping(i) {
		s.active[KindInserter].clear(i) // woken by a change it does not watch mid-swing
		return
	}
	in := &s.ins[i]
	if in.ent == 0 {
		s.sleep(KindInserter, i)
		return
	}
	switch in.state {
	case insPickup:
		s.inserterPickup(i, in)
	case insDrop:
		s.inserterDrop(i, in)
	default:
		if !s.inserterMove(i, in) {
			return
		}
		if in.state == insToDrop {
			in.state = insDrop
			s.inserterDrop(i, in)
		} else {
			in.state = insPickup
			s.inserterPickup(i, in)
		}
	}
}

// inserterMove advances a swing and reports whether it arrived.
func (s *Surface) inserterMove(i int32, in *inserter) bool {
	var gain int32
	if in.burner {
		if !s.burn(&in.fuel, in.power) {
			s.sleep(KindInserter, i) // woken when fuel is put in
			return false
		}
		gain = SatOne
	} else {
		if in.net < 0 {
			s.sleep(KindInserter, i) // woken when the power topology changes
			return false
		}
		n := &s.nets[in.net]
		n.demand += in.power
		gain = n.sat
	}
	in.move += gain
	if in.move < in.half*SatOne {
		if !in.burner {
			s.napInserter(i, in, gain)
		}
		return false
	}
	in.move = 0
	return true
}

func (s *Surface) inserterPickup(i int32, in *inserter) {
	if in.drop.kind == KindNone || in.pick.kind == KindNone {
		s.sleep(KindInserter, i) // woken when the targets are re-resolved
		return
	}
	hand := s.handSize(in)
	if in.pick.isBelt() {
		if in.handN == 0 && !s.wantsAny(&in.drop) {
			// Nothing on the belt could be taken now: wait for the target to change.
			s.sleep(KindInserter, i)
			return
		}
		want := hand
		if in.handN > 0 {
			want = min(hand, s.accepts(&in.drop, in.hand))
		}
		if in.handN == 0 && !s.mayPickFrom(in) {
			// No item type put on these lanes since they were built is accepted, so
			// the scan would find nothing. A machine or lab wakes its inserters when
			// its contents change, and a lane when a new type reaches it; for other
			// targets stay awake.
			switch in.drop.kind {
			case KindAssembler, KindFurnace, KindLab:
				s.sleep(KindInserter, i)
			}
			return
		}
		if in.handN < want {
			if li, j, it := s.beltPick(in); j >= 0 {
				s.laneRemoveAt(li, j)
				in.hand = it
				in.handN++
				s.hash = (s.hash ^ uint64(in.ent)<<8 ^ uint64(it)) * 0x100000001b3
				want = min(hand, s.accepts(&in.drop, it))
			}
		}
		if in.handN > 0 && in.handN >= want {
			s.inserterRefuel(in)
			if in.handN > 0 {
				in.state, in.move = insToDrop, 0
			}
		}
		return
	}
	item, avail := s.offer(in)
	if item == 0 {
		s.sleep(KindInserter, i) // woken when the source or the target changes
		return
	}
	n := min(hand, avail, s.accepts(&in.drop, item))
	got := s.take(&in.pick, item, n)
	if got == 0 {
		s.sleep(KindInserter, i)
		return
	}
	in.hand, in.handN = item, got
	s.hash = (s.hash ^ uint64(in.ent)<<8 ^ uint64(item)) * 0x100000001b3
	s.inserterRefuel(in)
	if in.handN > 0 {
		in.state, in.move = insToDrop, 0
	}
}

// inserterRefuel lets a burner inserter keep one fuel item from its hand when it has none.
func (s *Surface) inserterRefuel(in *inserter) {
	if in.burner && in.fuel.n == 0 && in.fuel.energy < in.power*int64(in.half)*2 && s.b.Items[in.hand-1].FuelValue > 0 {
		in.fuel.fuel, in.fuel.n = in.hand, 1
		in.handN--
		if in.handN == 0 {
			in.hand = 0
		}
	}
}

// mayPickFrom reports whether the drop target accepts any item type seen on the
// pickup lanes (a superset of what is on them): when it does not, beltPick would
// find nothing. It costs one accepts call per type seen, usually one or two, instead
// of a walk over the lane's items.
func (s *Surface) mayPickFrom(in *inserter) bool {
	var seen [4]uint64
	for _, li := range in.pick.lane {
		if li >= 0 {
			l := &s.lanes[li]
			for w := range seen {
				seen[w] |= l.seen[w]
			}
		}
	}
	if seen[3]&(1<<63) != 0 {
		return true // an item type past the tracked ones: scan
	}
	for w, bits := range seen {
		for bits != 0 {
			b := bits & -bits
			bits ^= b
			id := ItemID(w*64 + stdbits.TrailingZeros64(b))
			if s.takes(in, id) > 0 {
				return true
			}
		}
	}
	return false
}

// beltPick finds an item on the pickup tile's lanes that the drop target accepts, nearest
// the lane end first (on the first lane when both lanes have one at the same distance).
func (s *Surface) beltPick(in *inserter) (int32, int32, ItemID) {
	bestLane, bestJ, bestD := int32(-1), int32(-1), int32(math.MaxInt32)
	var bestItem ItemID
	lo, hi := in.pick.lo, in.pick.lo+TileUnits
	for _, li := range in.pick.lane {
		if li < 0 {
			continue
		}
		l := &s.lanes[li]
		if l.n == 0 {
			continue
		}
		// Positions grow along the lane: walk from the front, past its packed run, or
		// from the back, whichever has fewer items to cross (total is the last item's
		// position). Both walks find the same item.
		_, start := l.packedUpTo(lo - 1)
		if j, pos, it := s.pickOnLane(in, l, lo, min(hi, bestD), lo-start > l.total-lo); j >= 0 {
			bestLane, bestJ, bestD, bestItem = li, j, pos, it
		}
	}
	return bestLane, bestJ, bestItem
}

// pickOnLane returns the index, position and item of the item nearest the lane end
// whose position lies in [lo, end), which the inserter can add to its hand and its
// target accepts; j is -1 when there is none. It walks from the front or the back.
func (s *Surface) pickOnLane(in *inserter, l *lane, lo, end int32, fromBack bool) (int32, int32, ItemID) {
	if !fromBack {
		var pos int32
		j0 := int32(0)
		if k, p := l.packedUpTo(lo - 1); k >= 0 {
			j0, pos = k+1, p // items 0..k lie before the window
		}
		for j := j0; j < l.n; j++ {
			pos += *s.gapAt(l, j)
			if pos >= end {
				break
			}
			if pos < lo {
				continue
			}
			it := s.itemAt(l, j)
			if in.handN > 0 && it != in.hand {
				continue
			}
			if s.takes(in, it) > 0 {
				return j, pos, it
			}
		}
		return -1, 0, 0
	}
	// From the back, keeping the last match seen: the one nearest the lane end.
	bestJ, bestPos, bestItem := int32(-1), int32(0), ItemID(0)
	pos := l.total
	for j := l.n - 1; j >= 0 && pos >= lo; j-- {
		if pos < end {
			it := s.itemAt(l, j)
			if (in.handN == 0 || it == in.hand) && s.takes(in, it) > 0 {
				bestJ, bestPos, bestItem = j, pos, it
			}
		}
		pos -= *s.gapAt(l, j)
	}
	return bestJ, bestPos, bestItem
}

func (s *Surface) inserterDrop(i int32, in *inserter) {
	if in.handN == 0 {
		in.hand = 0
		in.state, in.move = insToPickup, 0
		return
	}
	if in.drop.isBelt() {
		li := in.drop.lane[in.drop.side]
		if li >= 0 && s.laneInsert(li, in.drop.lo, in.hand) {
			in.handN--
			s.hash = (s.hash ^ uint64(in.ent)<<9) * 0x100000001b3
		}
	} else if in.drop.kind != KindNone && s.accepts(&in.drop, in.hand) > 0 {
		got := s.insertInto(&in.drop, in.hand, in.handN)
		in.handN -= got
		s.hash = (s.hash ^ uint64(in.ent)<<9 ^ uint64(got)) * 0x100000001b3
	}
	if in.handN == 0 {
		in.hand = 0
		in.state, in.move = insToPickup, 0
		return
	}
	if !in.drop.isBelt() {
		s.sleep(KindInserter, i) // woken when the target changes
	}
}
