package sim

// Transport lines, as Factorio implements belts: a lane is a run of belt tiles whose items
// are stored front to back as gaps (distance to the item in front, or to the lane end for
// the front item), never as absolute positions. Moving every item on a flowing lane is one
// subtraction on the front gap; a blocked lane only touches the items that are still
// closing up behind the blocked front. Positions are 1/256 tile; an item is 64 long.

const (
	itemSpacing  = 64 // minimum distance between two items on a lane
	maxLaneTiles = 32 // transport lines are split every this many tiles
)

// Lane end kinds.
const (
	endNone  uint8 = iota // items stop at the end
	endLane               // items continue onto the back of lane next
	endSide               // items side-load into lane next at position pos
	endSplit              // items enter splitter next, which picks an output lane
)

type lane struct {
	off, mask int32 // ring buffer: item j is at laneRing[off + (head+j)&mask]
	head, n   int32
	// front and frontItem are the front item's gap (its position) and item, kept here
	// rather than in the ring so that moving a flowing lane, and passing its front item
	// on, touch nothing but the lane: gapAt(l, 0) is &front, itemAt(l, 0) frontItem, and
	// the ring's slot at head is unused.
	front     int32
	frontItem ItemID
	total     int32 // distance from the lane end to the last item
	length    int32
	speed     int32
	comp      int32 // items 1..comp are known to sit exactly itemSpacing behind the one in front
	end       uint8
	lane      uint8 // endSplit: which lane (0 left, 1 right) of the splitter this is
	side      uint8 // endSplit: which input side
	next      int32
	pos       int32
	nodeOff   int32 // nodes of the lane, from its end, in laneNodes
	nodeN     int32
	// seen holds a bit for every item type put on the lane since the lanes were built
	// (types past the last bit share it): a superset of the types on it now. An
	// inserter whose target accepts none of them does not scan the lane.
	seen [4]uint64
}

// ringSlot is an item of a lane's ring and its gap to the item in front: one cache
// line holds both.
type ringSlot struct {
	gap  int32
	item ItemID
}

// laneSeenBits is the number of item types seen tracks one by one.
const laneSeenBits = 256

// laneSee records that an item of this type went onto lane li. The first of its type
// wakes the inserters picking from the lane: they sleep while their target accepts
// none of the types seen there.
func (s *Surface) laneSee(li int32, l *lane, item ItemID) {
	i := min(uint32(item), laneSeenBits-1)
	w, b := i/64, uint64(1)<<(i%64)
	if l.seen[w]&b != 0 {
		return
	}
	l.seen[w] |= b
	if int(li) < len(s.lanePickers) {
		for _, k := range s.lanePickers[li] {
			s.active[KindInserter].set(k)
		}
	}
}

func (s *Surface) gapAt(l *lane, j int32) *int32 {
	if j == 0 {
		return &l.front
	}
	return &s.laneRing[l.off+(l.head+j)&l.mask].gap
}

func (s *Surface) itemAt(l *lane, j int32) ItemID {
	if j == 0 {
		return l.frontItem
	}
	return s.laneRing[l.off+(l.head+j)&l.mask].item
}

// laneLimit returns how far past its end (negative) or short of it (positive) the front
// item of a lane may move this tick. Only a splitter looks at the item.
func (s *Surface) laneLimit(l *lane) int32 {
	switch l.end {
	case endLane:
		return s.tailLimit(l.next, l.speed)
	case endSide:
		if s.laneHasRoom(&s.lanes[l.next], l.pos) {
			return -l.speed
		}
		return 0
	case endSplit:
		a, b := s.splitOutputs(l, s.itemAt(l, 0))
		lim := int32(0)
		if a >= 0 {
			lim = s.tailLimit(a, l.speed)
		}
		if b >= 0 {
			lim = min(lim, s.tailLimit(b, l.speed))
		}
		return lim
	}
	return 0
}

// tailLimit is the front limit for an item about to enter the back of lane t.
func (s *Surface) tailLimit(t int32, speed int32) int32 {
	b := &s.lanes[t]
	if b.n == 0 {
		return -speed
	}
	return itemSpacing + b.total - b.length
}

// updateLane moves a lane's items one tick.
func (s *Surface) updateLane(li int32) {
	l := &s.lanes[li]
	if l.n == 0 {
		s.laneSleep(li)
		return
	}
	r := l.speed
	g0 := s.gapAt(l, 0)
	d0 := *g0
	if d0-r >= itemSpacing {
		// Front item is far from the end: every item moves the full speed.
		*g0 = d0 - r
		l.total -= r
		s.wakeFeeders(li)
		return
	}
	limit := s.laneLimit(l)
	nd := max(d0-r, limit)
	if nd > d0 {
		nd = d0
	}
	m := d0 - nd
	*g0 = nd
	moved := m > 0
	if m < r {
		// The front is held back: items behind it close up until one moves freely.
		i := max(l.comp, 0) + 1
		for ; i < l.n && m < r; i++ {
			g := s.gapAt(l, i)
			mi := min(r, *g+m-itemSpacing)
			*g = *g - mi + m
			if mi < r && i == l.comp+1 {
				l.comp = i
			}
			m = mi
			moved = moved || mi > 0
		}
	}
	l.total -= m
	if nd < 0 {
		s.laneTransfer(li, nd)
		s.wakeFeeders(li)
		return
	}
	if moved {
		s.wakeFeeders(li)
	}
	if s.noSleep || l.comp < l.n-1 {
		return
	}
	switch {
	case l.end == endNone && nd == 0:
		s.laneSleep(li)
	case !moved && (l.end == endLane || l.end == endSide):
		// Nothing moved and nothing will until the lane it ends on changes, which
		// wakes it (wakeFeeders), or this lane changes.
		s.laneSleep(li)
	}
}

// listFeeders lists, per lane, the lanes that end on it or side-load into it.
func (s *Surface) listFeeders() {
	n := len(s.lanes)
	s.laneFeedOff = append(s.laneFeedOff[:0], make([]int32, n+1)...)
	for li := range s.lanes {
		if l := &s.lanes[li]; l.end == endLane || l.end == endSide {
			s.laneFeedOff[l.next+1]++
		}
	}
	for i := 1; i <= n; i++ {
		s.laneFeedOff[i] += s.laneFeedOff[i-1]
	}
	s.laneFeed = append(s.laneFeed[:0], make([]int32, s.laneFeedOff[n])...)
	fill := make([]int32, n)
	for li := range s.lanes {
		if l := &s.lanes[li]; l.end == endLane || l.end == endSide {
			s.laneFeed[s.laneFeedOff[l.next]+fill[l.next]] = int32(li)
			fill[l.next]++
		}
	}
}

// wakeFeeders wakes the lanes that end on or side-load into lane li after it changed:
// a lane blocked by it sleeps until then.
func (s *Surface) wakeFeeders(li int32) {
	if int(li)+1 < len(s.laneFeedOff) {
		for _, f := range s.laneFeed[s.laneFeedOff[li]:s.laneFeedOff[li+1]] {
			s.laneActive.set(f)
		}
	}
}

// laneTransfer moves the front item of lane li, which is nd (< 0) past the end, onward.
func (s *Surface) laneTransfer(li int32, nd int32) {
	l := &s.lanes[li]
	item := s.itemAt(l, 0)
	switch l.end {
	case endLane:
		s.lanePushBack(l.next, s.lanes[l.next].length+nd, item)
	case endSide:
		if !s.laneInsert(l.next, l.pos, item) {
			// laneLimit saw room; nothing can have taken it since within this tick.
			*s.gapAt(l, 0) = 0
			l.total -= nd
			return
		}
	case endSplit:
		out := s.splitChoose(l, item)
		s.lanePushBack(out, s.lanes[out].length+nd, item)
	default:
		*s.gapAt(l, 0) = 0
		return
	}
	s.lanePopFront(li, nd)
	s.hash = (s.hash ^ uint64(li)<<16 ^ uint64(item)) * 0x100000001b3
}

// lanePopFront removes the front item; nd is its (negative) final position, which the
// next item's gap absorbs.
func (s *Surface) lanePopFront(li int32, nd int32) {
	l := &s.lanes[li]
	l.head = (l.head + 1) & l.mask
	l.n--
	if l.n == 0 {
		l.total = 0
		l.head = 0
		l.front, l.frontItem = 0, 0
	} else {
		// The new front's gap and item move out of the ring into the lane.
		r := &s.laneRing[l.off+l.head]
		l.front, l.frontItem = r.gap+nd, r.item
	}
	l.comp = max(l.comp-1, 0)
}

// lanePushBack appends an item at distance d from the end; the caller guarantees spacing.
func (s *Surface) lanePushBack(li int32, d int32, item ItemID) {
	l := &s.lanes[li]
	j := (l.head + l.n) & l.mask
	s.laneSee(li, l, item)
	if l.n == 0 {
		l.front, l.frontItem = d, item
	} else {
		s.laneRing[l.off+j] = ringSlot{gap: d - l.total, item: item}
	}
	l.total = d
	l.n++
	s.laneActive.set(li)
	s.wakeFeeders(li)
}

// laneHasRoom reports whether an item fits at position d of a lane.
func (s *Surface) laneHasRoom(l *lane, d int32) bool {
	if d < 0 || d >= l.length {
		return false
	}
	if l.n == int32(l.mask)+1 {
		return false
	}
	var pos int32
	for j := int32(0); j < l.n; j++ {
		pos += *s.gapAt(l, j)
		if pos > d-itemSpacing && pos < d+itemSpacing {
			return false
		}
		if pos >= d+itemSpacing {
			return true
		}
	}
	return true
}

// laneInsert puts an item at position d if it fits, keeping items in order.
func (s *Surface) laneInsert(li int32, d int32, item ItemID) bool {
	l := &s.lanes[li]
	if d < 0 || d >= l.length || l.n == l.mask+1 {
		return false
	}
	// Positions grow along the lane: walk from the front, past its packed run, or from
	// the back, whichever has fewer items to cross (total is the last item's position).
	// Both walks find the same place.
	_, start := l.packedUpTo(d - itemSpacing)
	j, prev, ok := s.laneSlot(l, d, d-start > l.total-d)
	if !ok {
		return false
	}
	if j == l.n {
		s.lanePushBack(li, d, item)
		return true
	}
	// Open a hole at index j by moving items j..n-1 one slot back.
	for k := l.n; k > j; k-- {
		dst := l.off + (l.head+k)&l.mask
		// The front's gap and item are in the lane.
		s.laneRing[dst] = ringSlot{gap: *s.gapAt(l, k-1), item: s.itemAt(l, k-1)}
	}
	l.n++
	if j == 0 {
		prev = 0
	}
	next := s.gapAt(l, j+1)
	*next -= d - prev
	*s.gapAt(l, j) = d - prev
	if j == 0 {
		l.frontItem = item
	} else {
		s.laneRing[l.off+(l.head+j)&l.mask].item = item
	}
	s.laneSee(li, l, item)
	l.comp = min(l.comp, max(j-1, 0))
	s.laneActive.set(li)
	s.wakeFeeders(li)
	return true
}

// packedUpTo returns the index and position of the last item at or before position p
// in the lane's packed front run (item 0 and items 1..comp, each itemSpacing behind the
// one in front), found without walking; -1 when the front item is past p.
func (l *lane) packedUpTo(p int32) (int32, int32) {
	if l.n == 0 || l.front > p {
		return -1, 0
	}
	j := min(max(l.comp, 0), l.n-1, (p-l.front)/itemSpacing)
	return j, l.front + j*itemSpacing
}

// laneSlot finds where an item at position d would go: j is the first item at or past
// d+itemSpacing (l.n if none) and prev the position of the item before it (0 if j is
// 0). ok is false when an item lies closer to d than itemSpacing. It walks from the
// front or from the back.
func (s *Surface) laneSlot(l *lane, d int32, fromBack bool) (j, prev int32, ok bool) {
	if !fromBack {
		var pos int32
		if k, p := l.packedUpTo(d - itemSpacing); k >= 0 {
			j, pos, prev = k+1, p, p // items 0..k lie before d-itemSpacing
		}
		for ; j < l.n; j++ {
			p := pos + *s.gapAt(l, j)
			if p > d-itemSpacing && p < d+itemSpacing {
				return 0, 0, false
			}
			if p >= d+itemSpacing {
				break
			}
			prev, pos = p, p
		}
		return j, prev, true
	}
	j = l.n
	pos := l.total // the position of item j-1
	for j > 0 && pos >= d+itemSpacing {
		pos -= *s.gapAt(l, j-1)
		j--
	}
	if j > 0 {
		if pos > d-itemSpacing {
			return 0, 0, false
		}
		prev = pos
	}
	return j, prev, true
}

// laneFind returns the index and item of the item closest to the lane end whose position
// lies in [lo, hi) and which ok accepts.
func (s *Surface) laneFind(l *lane, lo, hi int32, ok func(ItemID) bool) (int32, ItemID) {
	var pos int32
	for j := int32(0); j < l.n; j++ {
		pos += *s.gapAt(l, j)
		if pos >= hi {
			break
		}
		if pos >= lo {
			if it := s.itemAt(l, j); ok(it) {
				return j, it
			}
		}
	}
	return -1, 0
}

// laneRemoveAt removes item j from a lane; the item behind it keeps its position.
func (s *Surface) laneRemoveAt(li int32, j int32) {
	l := &s.lanes[li]
	if j == 0 {
		g := *s.gapAt(l, 0)
		s.lanePopFront(li, g)
		s.laneActive.set(li)
		s.wakeFeeders(li)
		return
	}
	g := *s.gapAt(l, j)
	if j == l.n-1 {
		l.total -= g
	} else {
		*s.gapAt(l, j+1) += g
	}
	for k := j; k < l.n-1; k++ {
		dst := l.off + (l.head+k)&l.mask
		src := l.off + (l.head+k+1)&l.mask
		s.laneRing[dst] = s.laneRing[src]
	}
	l.n--
	l.comp = min(l.comp, j-1)
	s.laneActive.set(li)
	s.wakeFeeders(li)
}

func (s *Surface) laneSleep(li int32) {
	if !s.noSleep {
		s.laneActive.clear(li)
	}
}

// laneCount returns how many of each item a lane holds, adding to counts.
func (s *Surface) laneCount(l *lane, counts []int64) {
	for j := int32(0); j < l.n; j++ {
		counts[s.itemAt(l, j)]++
	}
}

// updateLanes moves every active lane.
func (s *Surface) updateLanes() {
	b := s.laneActive
	for w := 0; w < len(b); w++ {
		var done uint64
		for {
			m := b[w] &^ done
			if m == 0 {
				break
			}
			bit := trailingZeros(m)
			done |= (uint64(1) << uint(bit) << 1) - 1
			s.updateLane(int32(w<<6 | bit))
		}
	}
}
