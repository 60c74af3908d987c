package sim

// Containers: chests, infinity chests (editor sources and voids) and bridge ports. A bridge
// export port moves what inserters put into it to its outbox, within the credit its
// receiver granted; a bridge import port receives deliveries as ticked inputs. Items leave
// and enter a surface only through these ticked inputs, so replaying a tick log recreates
// every outbox exactly.

import (
	"errors"
	"fmt"
	"sort"
)

type container struct {
	ent  EntityID
	kind Kind
	off  int32 // slots in Surface.stacks
	n    int32
	inf  *InfinitySettings
	port int32 // index into Surface.ports, -1 if not a port
	// bar is how many slots inserters may fill, from the first: the game's inventory
	// limit (the blueprint field "bar"). n when the chest has no limit; players may
	// still put items anywhere.
	bar int32
}

// OutboxEntry is a stack that left a surface through an export port and waits to be
// acknowledged by the receiving surface.
type OutboxEntry struct {
	Seq   uint64
	Tick  uint64
	Item  ItemID
	Count int32
}

type port struct {
	ent    EntityID
	export bool
	// Export: seq is the last sequence number used, credit how many outbox entries may be
	// unacknowledged at once (each is at most one stack), outbox the unacknowledged ones.
	// Import: seq is the high-water mark of deliveries applied without a sequence space
	// (saves and logs from before spaces); the first delivery of a space continues it.
	seq    uint64
	credit int64
	outbox []OutboxEntry
	// Export: space names the port's sequence space (0: not bound yet) and dest the
	// bridge destination ("surface:port") it was bound for. A space is a nonce the bridge
	// runtime chooses: a new port, a port on a re-created surface, or a port bound to
	// another destination starts a new one, so a receiver never mistakes its numbers for
	// another space's. Import: lost counts sequence numbers a sender said were
	// acknowledged that this surface never applied (it lost confirmed state).
	space uint64
	dest  string
	lost  int64
	// filter, when set, is the only items inserters may put into an export port.
	filter []ItemID
	// moved counts, per item, what left through an export port or was delivered to an
	// import port; acked counts what an export port's receiver acknowledged.
	moved, acked []int64
}

// spaceMark is a surface's high-water mark for one sequence space: the last delivery of
// that space applied by any of its import ports, and the tick it was last used.
type spaceMark struct {
	space, seq, used uint64
}

// maxSpaceMarks bounds the marks a surface keeps; the least recently used goes first.
const maxSpaceMarks = 256

func (p *port) count(list *[]int64, items int, item ItemID, n int64) {
	if *list == nil {
		*list = make([]int64, items+1)
	}
	(*list)[item] += n
}

// setPortFilter limits the items an export port takes (none: any item).
func (s *Surface) setPortFilter(id EntityID, names []string) error {
	p, c, ok := s.portOf(id, true)
	if !ok {
		return errNoPort(id, "export")
	}
	var f []ItemID
	for _, n := range names {
		item, err := s.itemByName(n)
		if err != nil {
			return err
		}
		f = append(f, item)
	}
	p.filter = f
	s.changed(c.ent)
	return nil
}

// portTakes reports whether an export port's filter lets an item in.
func (p *port) takes(item ItemID) bool {
	if len(p.filter) == 0 {
		return true
	}
	for _, f := range p.filter {
		if f == item {
			return true
		}
	}
	return false
}

func (s *Surface) addContainer(id EntityID, p *EntityProto, sp *BuildSpec) int32 {
	c := container{ent: id, kind: p.Kind, off: int32(len(s.stacks)), n: p.Slots, port: -1, bar: p.Slots}
	if sp.Bar != nil {
		c.bar = *sp.Bar
	}
	s.stacks = append(s.stacks, make([]Stack, p.Slots)...)
	if p.Kind == KindInfinityChest && sp.Infinity != nil {
		inf := *sp.Infinity
		inf.Filters = append([]InfinityFilter(nil), sp.Infinity.Filters...)
		c.inf = &inf
	}
	if p.Kind == KindBridgeExport || p.Kind == KindBridgeImport {
		c.port = int32(len(s.ports))
		s.ports = append(s.ports, port{ent: id, export: p.Kind == KindBridgeExport})
	}
	i := s.allocSlot(p.Kind, len(s.chests))
	if int(i) == len(s.chests) {
		s.chests = append(s.chests, c)
	} else {
		s.chests[i] = c
	}
	s.active[KindContainer].set(i)
	return i
}

func (s *Surface) removeContainer(i int32) []Stack {
	c := &s.chests[i]
	items := slotsDrain(s.stacks[c.off:c.off+c.n], nil)
	if c.port >= 0 {
		p := &s.ports[c.port]
		// An export port's unacknowledged outbox stays owed to its receiver; removing the
		// port abandons it, which the statistics record as voided.
		for _, e := range p.outbox {
			s.stats.void(e.Item, int64(e.Count))
		}
		s.ports[c.port] = port{}
	}
	if c.kind == KindInfinityChest {
		// What an infinity chest held was created by it; it goes back to the void.
		for _, st := range items {
			s.stats.void(st.Item, int64(st.Count))
		}
		items = nil
	}
	s.chests[i] = container{port: -1}
	return items
}

func (s *Surface) updateContainer(i int32) {
	c := &s.chests[i]
	switch c.kind {
	case KindInfinityChest:
		s.updateInfinity(c)
	case KindBridgeExport:
		s.updateExport(c)
	}
	s.sleep(KindContainer, i)
}

// updateInfinity makes an infinity chest's contents match its filters.
func (s *Surface) updateInfinity(c *container) {
	if c.inf == nil {
		return
	}
	slots := s.stacks[c.off : c.off+c.n]
	changed := false
	for _, f := range c.inf.Filters {
		id, _ := s.b.ItemID(f.Item)
		have := slotsCount(slots, id)
		mode := f.Mode
		if mode == "" {
			mode = "at-least"
		}
		if have < f.Count && mode != "at-most" {
			got := s.slotsInsert(slots, id, f.Count-have)
			s.stats.create(id, int64(got))
			changed = changed || got > 0
		}
		if have > f.Count && mode != "at-least" {
			got := slotsRemove(slots, id, have-f.Count)
			s.stats.void(id, int64(got))
			changed = changed || got > 0
		}
	}
	if c.inf.RemoveUnfiltered {
		for k := range slots {
			if slots[k].Count == 0 || s.infinityFiltered(c.inf, slots[k].Item) {
				continue
			}
			s.stats.void(slots[k].Item, int64(slots[k].Count))
			slots[k] = Stack{}
			changed = true
		}
	}
	if changed {
		s.changed(c.ent)
	}
}

func (s *Surface) infinityFiltered(inf *InfinitySettings, item ItemID) bool {
	name := s.b.ItemName(item)
	for _, f := range inf.Filters {
		if f.Item == name {
			return true
		}
	}
	return false
}

// updateExport moves an export port's contents to its outbox while credit allows.
func (s *Surface) updateExport(c *container) {
	p := &s.ports[c.port]
	slots := s.stacks[c.off : c.off+c.n]
	moved := false
	for k := len(slots) - 1; k >= 0 && int64(len(p.outbox)) < p.credit; k-- {
		if slots[k].Count == 0 {
			continue
		}
		p.seq++
		p.outbox = append(p.outbox, OutboxEntry{Seq: p.seq, Tick: s.tick, Item: slots[k].Item, Count: slots[k].Count})
		s.stats.bridgeOut(slots[k].Item, int64(slots[k].Count))
		p.count(&p.moved, len(s.b.Items), slots[k].Item, int64(slots[k].Count))
		s.hash = (s.hash ^ p.seq<<8 ^ uint64(slots[k].Item)) * 0x100000001b3
		slots[k] = Stack{}
		moved = true
	}
	if moved {
		s.changed(c.ent)
	}
}

// portOf returns the port of a bridge port entity.
func (s *Surface) portOf(id EntityID, export bool) (*port, *container, bool) {
	if id == 0 || int(id) >= len(s.ents) || !s.ents[id].alive() {
		return nil, nil, false
	}
	e := &s.ents[id]
	want := KindBridgeImport
	if export {
		want = KindBridgeExport
	}
	if e.kind != want {
		return nil, nil, false
	}
	c := &s.chests[e.slot]
	return &s.ports[c.port], c, true
}

// applyAck drops acknowledged outbox entries and takes the receiver's new credit.
func (s *Surface) applyAck(id EntityID, seq uint64, credit int64) error {
	p, c, ok := s.portOf(id, true)
	if !ok {
		return errNoPort(id, "export")
	}
	k := 0
	for k < len(p.outbox) && p.outbox[k].Seq <= seq {
		p.count(&p.acked, len(s.b.Items), p.outbox[k].Item, int64(p.outbox[k].Count))
		k++
	}
	if k > 0 {
		n := copy(p.outbox, p.outbox[k:])
		p.outbox = p.outbox[:n]
	}
	if credit < 0 {
		credit = 0
	}
	p.credit = credit
	s.active[KindContainer].set(s.ents[c.ent].slot)
	return nil
}

// applyDelivery puts a delivered stack into an import port. A delivery at or below the
// high-water mark is a duplicate and ignored; one that skips a sequence number, or does
// not fit, is refused and will be sent again.
func (s *Surface) applyDelivery(id EntityID, seq uint64, item ItemID, n int32) error {
	p, c, ok := s.portOf(id, false)
	if !ok {
		return errNoPort(id, "import")
	}
	switch {
	case seq <= p.seq:
		return nil
	case seq != p.seq+1:
		return errSeqGap(p.seq, seq)
	}
	slots := s.stacks[c.off : c.off+c.n]
	if s.slotsRoom(slots, item) < n {
		return errPortFull(id, n)
	}
	s.slotsInsert(slots, item, n)
	p.seq = seq
	s.stats.bridgeIn(item, int64(n))
	p.count(&p.moved, len(s.b.Items), item, int64(n))
	s.changed(c.ent)
	return nil
}

// Outbox returns the unacknowledged outbox of an export port (shared; do not modify).
func (s *Surface) Outbox(id EntityID) []OutboxEntry {
	p, _, ok := s.portOf(id, true)
	if !ok {
		return nil
	}
	return p.outbox
}

// ImportHighWater returns the last applied delivery sequence of an import port.
func (s *Surface) ImportHighWater(id EntityID) uint64 {
	p, _, ok := s.portOf(id, false)
	if !ok {
		return 0
	}
	return p.seq
}

// ImportRoom returns how many free slots an import port has: the credit, in outbox
// entries of at most one stack each, that its receiver can grant.
func (s *Surface) ImportRoom(id EntityID) int64 {
	_, c, ok := s.portOf(id, false)
	if !ok {
		return 0
	}
	var room int64
	for _, st := range s.stacks[c.off : c.off+c.n] {
		if st.Count == 0 {
			room++
		}
	}
	return room
}

// Sequence spaces. An export port numbers its outbox entries within a space it is bound
// to; the receiving surface keeps one high-water mark per space (not per port), so a
// rebuilt or relabelled import port continues where the old one stood. Every deliver
// and ack names the space: a receiver meeting a new space starts it at the sender's
// acknowledged floor (entries at or below it were acknowledged by an earlier copy of
// the destination), never at another space's mark.

// maxDest bounds a port binding's destination name.
const maxDest = 512

// applyBind binds an export port to a sequence space for a destination. A port already
// bound for that destination keeps its space. Binding for another destination starts
// a new space, and is refused while the port holds unacknowledged entries owed to the
// old one: they would be lost.
func (s *Surface) applyBind(id EntityID, space uint64, dest string) error {
	p, c, ok := s.portOf(id, true)
	if !ok {
		return errNoPort(id, "export")
	}
	switch {
	case space == 0:
		return errors.New("a sequence space cannot be 0")
	case dest == "" || len(dest) > maxDest:
		return fmt.Errorf("bridge destination %q is empty or too long", dest)
	case p.space == space || p.space != 0 && p.dest == dest:
		return nil
	case p.space != 0 && len(p.outbox) > 0:
		return fmt.Errorf("export port #%d holds %d unacknowledged stacks for %s: binding it to %s would lose them; bridge it to %s again until they are delivered",
			id, len(p.outbox), p.dest, dest, p.dest)
	}
	if p.space != 0 {
		// The new destination grants its own credit.
		p.credit = 0
	}
	p.space, p.dest = space, dest
	s.hash = mix64(s.hash ^ space)
	s.changed(c.ent)
	return nil
}

// applyAckSpace drops an export port's entries its receiver acknowledged in the port's
// space and takes the new credit. An ack of another space, or above the last sequence
// number the port used, is refused: it cannot be about these entries.
func (s *Surface) applyAckSpace(id EntityID, space, seq uint64, credit int64) error {
	p, _, ok := s.portOf(id, true)
	if !ok {
		return errNoPort(id, "export")
	}
	if space == 0 || space != p.space {
		return fmt.Errorf("ack for sequence space %016x refused: export port #%d is in space %016x", space, id, p.space)
	}
	if seq > p.seq {
		return fmt.Errorf("ack of sequence %d refused: export port #%d has only used %d", seq, id, p.seq)
	}
	return s.applyAck(id, seq, credit)
}

// mark returns the surface's mark for a space, starting it at base if the space is
// new. An import port holding a mark from before spaces (seq) hands it to the first
// space it meets.
func (s *Surface) mark(p *port, space, base uint64) *spaceMark {
	i := sort.Search(len(s.marks), func(i int) bool { return s.marks[i].space >= space })
	if i < len(s.marks) && s.marks[i].space == space {
		return &s.marks[i]
	}
	start := base
	if p.seq > 0 {
		start = max(start, p.seq)
		p.seq = 0
	}
	if len(s.marks) >= maxSpaceMarks {
		old := 0
		for k := range s.marks {
			if s.marks[k].used < s.marks[old].used {
				old = k
			}
		}
		s.marks = append(s.marks[:old], s.marks[old+1:]...)
		if old < i {
			i--
		}
	}
	s.marks = append(s.marks, spaceMark{})
	copy(s.marks[i+1:], s.marks[i:])
	s.marks[i] = spaceMark{space: space, seq: start, used: s.tick}
	return &s.marks[i]
}

// applyDeliverySpace puts a delivered stack of a space into an import port. base is the
// sender's acknowledged floor: a known mark below it means this surface lost deliveries
// it had acknowledged; the mark moves up and the gap is counted as lost, never skipped
// silently.
func (s *Surface) applyDeliverySpace(id EntityID, space, base, seq uint64, item ItemID, n int32) error {
	p, c, ok := s.portOf(id, false)
	if !ok {
		return errNoPort(id, "import")
	}
	if space == 0 {
		return errors.New("a delivery needs a sequence space")
	}
	m := s.mark(p, space, base)
	if base > m.seq {
		p.lost += int64(base - m.seq)
		m.seq = base
	}
	m.used = s.tick
	switch {
	case seq <= m.seq:
		return nil
	case seq != m.seq+1:
		return errSeqGap(m.seq, seq)
	}
	slots := s.stacks[c.off : c.off+c.n]
	if s.slotsRoom(slots, item) < n {
		return errPortFull(id, n)
	}
	s.slotsInsert(slots, item, n)
	m.seq = seq
	s.stats.bridgeIn(item, int64(n))
	p.count(&p.moved, len(s.b.Items), item, int64(n))
	s.hash = (s.hash ^ seq<<8 ^ space ^ uint64(item)) * 0x100000001b3
	s.changed(c.ent)
	return nil
}

// portHolds refuses to remove or relabel an export port that holds unacknowledged
// entries: its outbox is owed to a receiver, and only the port's bridge can settle it.
func (s *Surface) portHolds(id EntityID, what string) error {
	p, _, ok := s.portOf(id, true)
	if !ok || len(p.outbox) == 0 {
		return nil
	}
	var n int64
	for _, e := range p.outbox {
		n += int64(e.Count)
	}
	return fmt.Errorf("cannot %s bridge-export #%d: %d items in %d stacks are on their way to %s and not acknowledged yet; wait until its bridge delivers them (or stop feeding the port)",
		what, id, n, len(p.outbox), p.dest)
}
