package sim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The bridge runtime's view of a surface's ports. These methods use only basic types so
// that the bridge package can declare the interface it needs without importing sim.

// BridgePort finds a port by entity ID (decimal) or label and says whether it exports.
func (s *Surface) BridgePort(name string) (id uint32, export bool, err error) {
	var eid EntityID
	if _, scanErr := fmt.Sscanf(name, "%d", &eid); scanErr == nil && fmt.Sprint(eid) == name {
		if !s.validEntity(eid) {
			return 0, false, fmt.Errorf("surface %s has no entity #%d", s.name, eid)
		}
	} else if eid = s.FindByLabel(name); eid == 0 {
		return 0, false, fmt.Errorf("surface %s has no entity labelled %q", s.name, name)
	}
	switch s.ents[eid].kind {
	case KindBridgeExport:
		return uint32(eid), true, nil
	case KindBridgeImport:
		return uint32(eid), false, nil
	}
	return 0, false, fmt.Errorf("%s #%d on surface %s is not a bridge port", s.b.Entities[s.ents[eid].proto].Name, eid, s.name)
}

// BridgeOutbox calls fn, in sequence order, for the unacknowledged outbox entries of an
// export port with a sequence above after, until fn returns false.
func (s *Surface) BridgeOutbox(port uint32, after uint64, fn func(seq, tick uint64, item string, count int32) bool) {
	for _, e := range s.Outbox(EntityID(port)) {
		if e.Seq <= after {
			continue
		}
		if !fn(e.Seq, e.Tick, s.b.ItemName(e.Item), e.Count) {
			return
		}
	}
}

// BridgeExportState returns an export port's last used sequence number, its acknowledged
// high-water mark (entries at or below it are gone from the outbox) and its credit.
func (s *Surface) BridgeExportState(port uint32) (last, acked uint64, credit int64) {
	p, _, ok := s.portOf(EntityID(port), true)
	if !ok {
		return 0, 0, 0
	}
	acked = p.seq
	if len(p.outbox) > 0 {
		acked = p.outbox[0].Seq - 1
	}
	return p.seq, acked, p.credit
}

// BridgeImportState returns an import port's high-water mark (the last delivery applied)
// and the credit it can grant (free slots, each taking one delivered stack).
func (s *Surface) BridgeImportState(port uint32) (hwm uint64, room int64) {
	return s.ImportHighWater(EntityID(port)), s.ImportRoom(EntityID(port))
}

// BridgeCodec encodes the shard inputs the bridge runtime submits (it satisfies the
// bridge package's Codec).
type BridgeCodec struct{}

// DeliverInput delivers consecutive outbox entries to an import port, the first with
// sequence first.
func (BridgeCodec) DeliverInput(port uint32, first uint64, items []string, counts []int32) []byte {
	return EncodeAction(Action{Kind: ActDeliver, Entity: EntityID(port), Seq: first, Names: items, Counts: counts})
}

// AckInput acknowledges an export port's deliveries up to seq and sets its credit
// (outbox entries allowed in flight).
func (BridgeCodec) AckInput(port uint32, seq uint64, credit int64) []byte {
	return EncodeAction(Action{Kind: ActAck, Entity: EntityID(port), Seq: seq, Credit: credit})
}

// BindInput binds an export port to a sequence space for a destination
// ("surface:port"); see applyBind.
func (BridgeCodec) BindInput(port uint32, space uint64, dest string) []byte {
	return EncodeAction(Action{Kind: ActBindPort, Entity: EntityID(port), Space: space, Name: dest})
}

// DeliverSpaceInput delivers consecutive entries of a sequence space to an import
// port, the first with sequence first; base is the sender's acknowledged floor.
func (BridgeCodec) DeliverSpaceInput(port uint32, space, base, first uint64, items []string, counts []int32) []byte {
	return EncodeAction(Action{Kind: ActDeliverSpace, Entity: EntityID(port), Space: space, Base: base, Seq: first, Names: items, Counts: counts})
}

// AckSpaceInput acknowledges an export port's entries of a space up to seq and sets
// its credit.
func (BridgeCodec) AckSpaceInput(port uint32, space, seq uint64, credit int64) []byte {
	return EncodeAction(Action{Kind: ActAckSpace, Entity: EntityID(port), Space: space, Seq: seq, Credit: credit})
}

// CheckItems says which of names are not items of the surface's prototype bundle
// (nil when all are): a bridge's item filter is checked with it before it is set,
// since a filter action naming an unknown item is refused and the port would keep
// taking any item.
func (s *Surface) CheckItems(names []string) error {
	var unknown []string
	for _, n := range names {
		if _, err := s.itemByName(n); err != nil {
			unknown = append(unknown, strconv.Quote(n))
		}
	}
	switch len(unknown) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("item %s is not in the surface's prototype bundle (%s)", unknown[0], s.bundleRef())
	}
	return fmt.Errorf("items %s are not in the surface's prototype bundle (%s)", strings.Join(unknown, ", "), s.bundleRef())
}

// bundleRef names the surface's bundle for messages: its name and hash prefix.
func (s *Surface) bundleRef() string {
	h := s.b.Hash()
	if len(h) > 12 {
		h = h[:12]
	}
	if s.b.Name == "" {
		return h
	}
	return s.b.Name + " " + h
}

// FilterInput limits which items inserters may put into an export port (none: any).
func (BridgeCodec) FilterInput(port uint32, items []string) []byte {
	return EncodeAction(Action{Kind: ActSetPortFilter, Entity: EntityID(port), Names: items})
}

// BridgeCounts returns, per item name, what a port moved (left through an export port,
// or was delivered to an import port) and, for an export port, what its receiver
// acknowledged. The counts are state: they survive restarts and agree on every peer.
func (s *Surface) BridgeCounts(port uint32) (moved, acked map[string]int64) {
	moved, acked = map[string]int64{}, map[string]int64{}
	e := EntityID(port)
	if !s.validEntity(e) {
		return moved, acked
	}
	k := s.ents[e].kind
	if k != KindBridgeExport && k != KindBridgeImport {
		return moved, acked
	}
	p := &s.ports[s.chests[s.ents[e].slot].port]
	for id, n := range p.moved {
		if n != 0 {
			moved[s.b.ItemName(ItemID(id))] = n
		}
	}
	for id, n := range p.acked {
		if n != 0 {
			acked[s.b.ItemName(ItemID(id))] = n
		}
	}
	return moved, acked
}

// BridgePortSpace returns the sequence space an export port is bound to (0: none) and
// the destination it was bound for.
func (s *Surface) BridgePortSpace(port uint32) (space uint64, dest string) {
	p, _, ok := s.portOf(EntityID(port), true)
	if !ok {
		return 0, ""
	}
	return p.space, p.dest
}

// BridgeImportMark returns the surface's high-water mark for a sequence space, and
// whether the surface has met the space at all.
func (s *Surface) BridgeImportMark(space uint64) (hwm uint64, known bool) {
	i := sort.Search(len(s.marks), func(i int) bool { return s.marks[i].space >= space })
	if i < len(s.marks) && s.marks[i].space == space {
		return s.marks[i].seq, true
	}
	return 0, false
}

// BridgeImportLost returns how many sequence numbers an import port gave up because a
// sender said they were acknowledged while this surface had not applied them (it had
// lost confirmed state). Zero unless something failed beyond what replication covers.
func (s *Surface) BridgeImportLost(port uint32) int64 {
	p, _, ok := s.portOf(EntityID(port), false)
	if !ok {
		return 0
	}
	return p.lost
}

// BridgePortFilter returns the items an export port takes (none: any).
func (s *Surface) BridgePortFilter(port uint32) []string {
	p, _, ok := s.portOf(EntityID(port), true)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(p.filter))
	for _, f := range p.filter {
		out = append(out, s.b.ItemName(f))
	}
	return out
}
