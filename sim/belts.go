package sim

import "sort"

// Belt topology: transport belts, underground belts and splitter sides are nodes of a
// graph; rebuildBelts turns it into lanes. The lane layout is a pure function of the set of
// belt entities, rebuilt from scratch whenever a belt is built or removed, so every peer
// and every reloaded save gets exactly the same lanes.

type beltNode struct {
	ent   EntityID
	kind  Kind // KindBelt, KindUnderground or KindSplitter (one side of a splitter)
	dir   Dir
	x, y  int32
	speed int32
	out   bool  // underground: this is the output (exit) end
	split int32 // splitter index for splitter sides, -1 otherwise
	side  uint8 // splitter side: 0 is left of the travel direction
	alive bool
	// Derived by rebuildBelts.
	pair int32    // underground: the paired other end, -1 if none
	lane [2]int32 // left and right lanes
	k    int32    // tiles between this node's downstream edge and its lane's end
	span int32    // lane tiles this node owns: 1, or 1 + hidden tiles for an underground input
}

type splitter struct {
	ent     EntityID
	node    [2]int32 // side nodes
	inPrio  int8     // -1 none, 0 left, 1 right
	outPrio int8
	filter  ItemID
	toggle  [2]uint8 // per lane: the output side the next item tries first
	out     [2][2]int32
}

func prioOf(s string) int8 {
	switch s {
	case "left":
		return 0
	case "right":
		return 1
	}
	return -1
}

func (s *Surface) newBeltNode(n beltNode) int32 {
	i := s.allocSlot(KindBelt, len(s.belts))
	n.alive = true
	n.pair = -1
	n.lane = [2]int32{-1, -1}
	if int(i) == len(s.belts) {
		s.belts = append(s.belts, n)
	} else {
		s.belts[i] = n
	}
	return i
}

func (s *Surface) addBeltNode(id EntityID, sp *BuildSpec) int32 {
	e := &s.ents[id]
	p := &s.b.Entities[e.proto]
	return s.newBeltNode(beltNode{ent: id, kind: p.Kind, dir: sp.Dir, x: sp.X, y: sp.Y,
		speed: p.BeltSpeed, out: sp.Underground == "output", split: -1})
}

// splitterTiles returns the tiles of a splitter's left and right sides.
func splitterTiles(x, y int32, d Dir) [2]TilePos {
	switch d {
	case East:
		return [2]TilePos{{x, y}, {x, y + 1}}
	case South:
		return [2]TilePos{{x + 1, y}, {x, y}}
	case West:
		return [2]TilePos{{x, y + 1}, {x, y}}
	}
	return [2]TilePos{{x, y}, {x + 1, y}}
}

func (s *Surface) addSplitter(id EntityID, sp *BuildSpec) int32 {
	e := &s.ents[id]
	p := &s.b.Entities[e.proto]
	si := s.allocSlot(KindSplitter, len(s.splitters))
	spl := splitter{ent: id, inPrio: prioOf(sp.InputPriority), outPrio: prioOf(sp.OutputPriority)}
	if sp.Filter != "" {
		spl.filter, _ = s.b.ItemID(sp.Filter)
	}
	for side, t := range splitterTiles(sp.X, sp.Y, sp.Dir) {
		spl.node[side] = s.newBeltNode(beltNode{ent: id, kind: KindSplitter, dir: sp.Dir, x: t.X, y: t.Y,
			speed: p.BeltSpeed, split: si, side: uint8(side)})
	}
	if int(si) == len(s.splitters) {
		s.splitters = append(s.splitters, spl)
	} else {
		s.splitters[si] = spl
	}
	return si
}

// takeLaneRange removes the items of lane li lying in [lo, hi).
func (s *Surface) takeLaneRange(li, lo, hi int32, out []Stack) []Stack {
	if li < 0 {
		return out
	}
	l := &s.lanes[li]
	var pos int32
	for j := int32(0); j < l.n; {
		pos += *s.gapAt(l, j)
		if pos >= hi {
			break
		}
		if pos >= lo {
			out = addStack(out, s.itemAt(l, j), 1)
			pos -= *s.gapAt(l, j)
			s.laneRemoveAt(li, j)
			continue
		}
		j++
	}
	return out
}

// takeNodeItems removes the items lying on a node's part of its lanes.
func (s *Surface) takeNodeItems(ni int32, out []Stack) []Stack {
	n := &s.belts[ni]
	for _, li := range n.lane {
		out = s.takeLaneRange(li, n.k*TileUnits, (n.k+n.span)*TileUnits, out)
	}
	return out
}

func (s *Surface) removeBeltNode(ni int32) []Stack {
	items := s.takeNodeItems(ni, nil)
	n := &s.belts[ni]
	if n.kind == KindUnderground && n.out && n.pair >= 0 {
		// Items travelling underground towards this exit come out with it.
		items = s.takeHiddenItems(n.pair, items)
	}
	n.alive = false
	return items
}

// takeHiddenItems removes the items in the underground part of an underground input.
func (s *Surface) takeHiddenItems(ni int32, out []Stack) []Stack {
	n := &s.belts[ni]
	for _, li := range n.lane {
		out = s.takeLaneRange(li, n.k*TileUnits, (n.k+n.span-1)*TileUnits, out)
	}
	return out
}

func (s *Surface) removeSplitter(si int32) []Stack {
	var items []Stack
	for _, ni := range s.splitters[si].node {
		items = s.takeNodeItems(ni, items)
		s.belts[ni].alive = false
		s.free[KindBelt] = append(s.free[KindBelt], ni)
	}
	s.splitters[si] = splitter{}
	return items
}

// nodeAt returns the belt node on a tile, or -1.
func (s *Surface) nodeAt(x, y int32) int32 {
	id := s.EntityAt(x, y)
	if id == 0 {
		return -1
	}
	e := &s.ents[id]
	switch e.kind {
	case KindBelt, KindUnderground:
		return e.slot
	case KindSplitter:
		sp := &s.splitters[e.slot]
		for _, ni := range sp.node {
			if n := &s.belts[ni]; n.x == x && n.y == y {
				return ni
			}
		}
	}
	return -1
}

// outputsInto reports whether node n moves its items onto tile (x, y) from the side.
func (s *Surface) outputsInto(ni int32, x, y int32) bool {
	if ni < 0 {
		return false
	}
	n := &s.belts[ni]
	if n.kind == KindUnderground && !n.out {
		return false
	}
	dx, dy := n.dir.vec()
	return n.x+dx == x && n.y+dy == y
}

// curveInput returns the node feeding a belt from one side when the belt is a curve: no
// input from behind and exactly one from a side. Otherwise -1.
func (s *Surface) curveInput(mi int32) int32 {
	m := &s.belts[mi]
	bx, by := m.dir.vec()
	if b := s.nodeAt(m.x-bx, m.y-by); b >= 0 && s.outputsInto(b, m.x, m.y) && s.belts[b].dir == m.dir {
		return -1
	}
	lx, ly := m.dir.ccw().vec()
	rx, ry := m.dir.cw().vec()
	left := s.nodeAt(m.x+lx, m.y+ly)
	right := s.nodeAt(m.x+rx, m.y+ry)
	lf := left >= 0 && s.outputsInto(left, m.x, m.y) && s.belts[left].dir == m.dir.cw()
	rf := right >= 0 && s.outputsInto(right, m.x, m.y) && s.belts[right].dir == m.dir.ccw()
	switch {
	case lf && !rf:
		return left
	case rf && !lf:
		return right
	}
	return -1
}

// Link kinds between nodes.
const (
	linkNone uint8 = iota
	linkCont       // items continue onto the target's lanes, left to left
	linkSide       // items side-load onto the target's near lane
)

// outLink returns where node u's items go: the target node and, for side-loading, which
// of its lanes (0 left, 1 right) they land on.
func (s *Surface) outLink(ui int32) (uint8, int32, int) {
	u := &s.belts[ui]
	if u.kind == KindUnderground && !u.out {
		if u.pair >= 0 {
			return linkCont, u.pair, 0
		}
		return linkNone, -1, 0
	}
	dx, dy := u.dir.vec()
	vi := s.nodeAt(u.x+dx, u.y+dy)
	if vi < 0 {
		return linkNone, -1, 0
	}
	v := &s.belts[vi]
	near := 1
	if u.dir == v.dir.cw() {
		near = 0
	}
	perpendicular := v.dir == u.dir.cw() || v.dir == u.dir.ccw()
	switch v.kind {
	case KindBelt:
		if v.dir == u.dir {
			return linkCont, vi, 0
		}
		if perpendicular {
			if s.curveInput(vi) == ui {
				return linkCont, vi, 0
			}
			return linkSide, vi, near
		}
	case KindUnderground:
		if v.dir == u.dir && !v.out {
			return linkCont, vi, 0
		}
		if perpendicular {
			return linkSide, vi, near
		}
	case KindSplitter:
		if v.dir == u.dir {
			return linkCont, vi, 0
		}
	}
	return linkNone, -1, 0
}

// pairUndergrounds links every underground input with the nearest output of the same
// prototype ahead of it within reach.
func (s *Surface) pairUndergrounds() {
	for i := range s.belts {
		s.belts[i].pair = -1
	}
	for i := range s.belts {
		n := &s.belts[i]
		if !n.alive || n.kind != KindUnderground || n.out {
			continue
		}
		proto := s.ents[n.ent].proto
		reach := s.b.Entities[proto].MaxDistance
		dx, dy := n.dir.vec()
		for d := int32(1); d <= reach; d++ {
			mi := s.nodeAt(n.x+dx*d, n.y+dy*d)
			if mi < 0 {
				continue
			}
			m := &s.belts[mi]
			if m.kind != KindUnderground || s.ents[m.ent].proto != proto || (m.dir != n.dir && m.dir != n.dir.opposite()) {
				continue
			}
			if m.out && m.dir == n.dir && m.pair < 0 {
				n.pair, m.pair = int32(mi), int32(i)
			}
			break
		}
	}
}

// placedItem is an item on a lane recorded by the node it lies on, so that it can be put
// back at the same place after the lanes are rebuilt.
type placedItem struct {
	node int32
	side uint8
	rel  int32 // distance from the node's downstream edge
	item ItemID
}

// rebuildBelts recomputes every lane from the belt graph and moves the items over.
func (s *Surface) rebuildBelts() {
	s.lanePickers = s.lanePickers[:0] // lane numbers change; resolveTargets lists them again
	var items []placedItem
	for li := range s.lanes {
		l := &s.lanes[li]
		nodes := s.laneNodes[l.nodeOff : l.nodeOff+l.nodeN]
		var pos int32
		k := 0
		for j := int32(0); j < l.n; j++ {
			pos += *s.gapAt(l, j)
			for k < len(nodes)-1 && pos >= (s.belts[nodes[k]].k+s.belts[nodes[k]].span)*TileUnits {
				k++
			}
			ni := nodes[k]
			n := &s.belts[ni]
			if !n.alive {
				continue // removal already took the items it could; nothing should be here
			}
			side := uint8(0)
			if n.lane[1] == int32(li) {
				side = 1
			}
			items = append(items, placedItem{node: ni, side: side, rel: pos - n.k*TileUnits, item: s.itemAt(l, j)})
		}
	}

	s.pairUndergrounds()
	succ := make([]int32, len(s.belts))
	pred := make([]int32, len(s.belts))
	for i := range pred {
		pred[i], succ[i] = -1, -1
	}
	for ui := range s.belts {
		u := &s.belts[ui]
		if !u.alive || u.kind == KindSplitter {
			continue
		}
		kind, vi, _ := s.outLink(int32(ui))
		if kind != linkCont {
			continue
		}
		v := &s.belts[vi]
		if v.kind == KindSplitter || v.speed != u.speed {
			continue
		}
		succ[ui], pred[vi] = vi, int32(ui)
	}
	for i := range s.belts {
		n := &s.belts[i]
		n.lane = [2]int32{-1, -1}
		n.span = 1
		if n.alive && n.kind == KindUnderground && !n.out && n.pair >= 0 {
			p := &s.belts[n.pair]
			n.span = abs32(p.x-n.x) + abs32(p.y-n.y)
		}
	}

	s.lanes = s.lanes[:0]
	s.laneNodes = s.laneNodes[:0]
	visited := make([]bool, len(s.belts))
	// newLanes makes the left/right lane pair for nodes listed from the downstream end.
	newLanes := func(nodes []int32) {
		off := int32(len(s.laneNodes))
		s.laneNodes = append(s.laneNodes, nodes...)
		var k int32
		for _, ni := range nodes {
			n := &s.belts[ni]
			n.k = k
			k += n.span
			n.lane = [2]int32{int32(len(s.lanes)), int32(len(s.lanes) + 1)}
			visited[ni] = true
		}
		speed := s.belts[nodes[0]].speed
		for side := 0; side < 2; side++ {
			s.lanes = append(s.lanes, lane{length: k * TileUnits, speed: speed, nodeOff: off,
				nodeN: int32(len(nodes)), lane: uint8(side)})
		}
	}
	// chain collects the nodes upstream of a head and cuts them into lanes.
	var buf []int32
	chain := func(head int32, stop int32) {
		buf = buf[:0]
		var tiles int32
		for ni := head; ni >= 0 && !visited[ni]; ni = pred[ni] {
			span := s.belts[ni].span
			if len(buf) > 0 && tiles+span > maxLaneTiles {
				newLanes(buf)
				buf, tiles = buf[:0], 0
			}
			buf = append(buf, ni)
			tiles += span
			if pred[ni] == stop {
				break
			}
		}
		if len(buf) > 0 {
			newLanes(buf)
		}
	}
	for i := range s.belts {
		if n := &s.belts[i]; n.alive && n.kind != KindSplitter && succ[i] < 0 {
			chain(int32(i), -1)
		}
	}
	// Whatever is left are loops: cut each at its lowest node.
	for i := range s.belts {
		if n := &s.belts[i]; n.alive && n.kind != KindSplitter && !visited[i] {
			chain(int32(i), int32(i))
		}
	}
	// Splitter sides: the input-priority side gets the lower lane index, so it moves first
	// and wins contested output space.
	for si := range s.splitters {
		sp := &s.splitters[si]
		if sp.ent == 0 {
			continue
		}
		first := 0
		if sp.inPrio == 1 {
			first = 1
		}
		newLanes([]int32{sp.node[first]})
		newLanes([]int32{sp.node[1-first]})
	}

	// Lane ends.
	for li := range s.lanes {
		l := &s.lanes[li]
		head := &s.belts[s.laneNodes[l.nodeOff]]
		hi := s.laneNodes[l.nodeOff]
		side := int(l.lane)
		l.end, l.next, l.pos = endNone, -1, 0
		if head.kind == KindSplitter {
			l.end, l.next, l.side = endSplit, head.split, head.side
			continue
		}
		if succ[hi] >= 0 {
			l.end, l.next = endLane, s.belts[succ[hi]].lane[side]
			continue
		}
		kind, vi, near := s.outLink(hi)
		switch kind {
		case linkCont:
			l.end, l.next = endLane, s.belts[vi].lane[side]
		case linkSide:
			v := &s.belts[vi]
			l.end, l.next = endSide, v.lane[near]
			l.pos = (v.k+v.span-1)*TileUnits + TileUnits/2
		}
	}
	for si := range s.splitters {
		sp := &s.splitters[si]
		if sp.ent == 0 {
			continue
		}
		for side := 0; side < 2; side++ {
			sp.out[side] = [2]int32{-1, -1}
			kind, vi, _ := s.outLink(sp.node[side])
			if kind == linkCont {
				sp.out[side] = s.belts[vi].lane
			}
		}
	}

	// Storage: a power-of-two ring per lane.
	var total int32
	for li := range s.lanes {
		l := &s.lanes[li]
		c := int32(1)
		for c < l.length/itemSpacing+2 {
			c <<= 1
		}
		l.off, l.mask = total, c-1
		total += c
	}
	s.laneRing = make([]ringSlot, total)
	s.laneActive = make(bitset, (len(s.lanes)+63)/64)
	s.listFeeders()

	// Put the items back, in position order per lane.
	type laneItem struct {
		lane int32
		d    int32
		item ItemID
	}
	placed := make([]laneItem, 0, len(items))
	for _, it := range items {
		n := &s.belts[it.node]
		placed = append(placed, laneItem{n.lane[it.side], n.k*TileUnits + it.rel, it.item})
	}
	sort.SliceStable(placed, func(i, j int) bool {
		if placed[i].lane != placed[j].lane {
			return placed[i].lane < placed[j].lane
		}
		return placed[i].d < placed[j].d
	})
	for _, p := range placed {
		l := &s.lanes[p.lane]
		d := p.d
		if l.n > 0 && d < l.total+itemSpacing {
			d = l.total + itemSpacing
		}
		if d >= l.length || l.n > l.mask {
			// No room left (only after unusual edits): the item is lost to the void and
			// recorded so conservation checks can account for it.
			s.stats.spilled[p.item]++
			continue
		}
		s.lanePushBack(p.lane, d, p.item)
	}
	for li := range s.lanes {
		s.laneActive.set(int32(li))
	}
}

// splitOutputs returns the output lanes an item leaving a splitter input lane may take, in
// order of preference (-1 when absent).
func (s *Surface) splitOutputs(l *lane, item ItemID) (int32, int32) {
	sp := &s.splitters[l.next]
	ln := l.lane
	if sp.filter != 0 {
		prio := max(sp.outPrio, 0)
		if item == sp.filter {
			return sp.out[prio][ln], -1
		}
		return sp.out[1-prio][ln], -1
	}
	first := sp.toggle[ln]
	if sp.outPrio >= 0 {
		first = uint8(sp.outPrio)
	}
	return sp.out[first][ln], sp.out[1-first][ln]
}

// splitChoose picks the output lane for the front item of a splitter input lane and
// advances the splitter's alternation.
func (s *Surface) splitChoose(l *lane, item ItemID) int32 {
	sp := &s.splitters[l.next]
	ln := l.lane
	a, b := s.splitOutputs(l, item)
	nd := *s.gapAt(l, 0)
	out := b
	if a >= 0 && nd >= s.tailLimit(a, l.speed) {
		out = a
	}
	if sp.filter == 0 && sp.outPrio < 0 {
		if out == sp.out[0][ln] {
			sp.toggle[ln] = 1
		} else {
			sp.toggle[ln] = 0
		}
	}
	return out
}
