package sim

// Read-only views for map renderers (the dashboard's map, `surface map`): where items lie
// on belts and how poles join into electric networks. Like view.go, nothing here
// changes the surface, so a renderer may call them on a loaded copy at any time.

// BeltItem is one item on a belt, placed on the belt tile it currently lies on.
type BeltItem struct {
	Belt EntityID
	// X, Y is the tile of the belt node the item lies on (an underground belt's
	// hidden stretch counts as its entrance's tile).
	X, Y int32
	// Dir is the belt's travel direction; Lane is 0 for the left lane of it, 1 for
	// the right.
	Dir  Dir
	Lane uint8
	Item ItemID
}

// BeltItems calls fn for every item on every belt lane, lane by lane, front item first.
func (s *Surface) BeltItems(fn func(BeltItem) bool) {
	for li := range s.lanes {
		l := &s.lanes[li]
		if l.nodeN == 0 {
			continue
		}
		nodes := s.laneNodes[l.nodeOff : l.nodeOff+l.nodeN]
		var pos int32
		k := 0
		for j := int32(0); j < l.n; j++ {
			pos += *s.gapAt(l, j)
			for k < len(nodes)-1 && pos >= (s.belts[nodes[k]].k+s.belts[nodes[k]].span)*TileUnits {
				k++
			}
			n := &s.belts[nodes[k]]
			if !n.alive {
				continue
			}
			side := uint8(0)
			if n.lane[1] == int32(li) {
				side = 1
			}
			if !fn(BeltItem{Belt: n.ent, X: n.x, Y: n.y, Dir: n.dir, Lane: side, Item: s.itemAt(l, j)}) {
				return
			}
		}
	}
}

// PoleInfo is an electric pole as a renderer sees it.
type PoleInfo struct {
	Entity EntityID
	// CX, CY is the pole's centre in position units (1/256 tile).
	CX, CY int32
	// Reach is the wire reach and Supply half the side of the supply square, both in
	// position units.
	Reach, Supply int32
	// Network numbers the pole's electric network on this surface (-1: none yet).
	Network int32
}

// PowerPoles calls fn for every electric pole in slot order. Two poles are wired
// together when their distance is within both poles' reach and they share a network.
func (s *Surface) PowerPoles(fn func(PoleInfo) bool) {
	for i := range s.poles {
		p := &s.poles[i]
		if p.ent == 0 || !s.ents[p.ent].alive() {
			continue
		}
		if !fn(PoleInfo{Entity: p.ent, CX: p.c.X, CY: p.c.Y, Reach: p.reach, Supply: p.supply, Network: p.net}) {
			return
		}
	}
}

// ChunkTouched reports whether the 32×32 chunk holding tile x, y has ever been
// generated or changed; an untouched chunk holds no entity and only its procedural
// resources.
func (s *Surface) ChunkTouched(x, y int32) bool {
	c, _ := s.peekChunk(x, y)
	return c != nil
}

// TilesIn calls fn for every tile of the rectangle x0..x1 × y0..y1 (corners
// included), row by row, with the entity on it (0: none) and its resource (0: none,
// else the ore's item and amount). It reads chunk by chunk, which is much cheaper
// than EntityAt and ResourceAt per tile over large areas.
func (s *Surface) TilesIn(x0, y0, x1, y1 int32, fn func(x, y int32, ent EntityID, res ItemID, amount uint32)) {
	for cy := y0 >> chunkBits; cy <= y1>>chunkBits; cy++ {
		for cx := x0 >> chunkBits; cx <= x1>>chunkBits; cx++ {
			c := s.chunks[chunkKey{cx, cy}]
			ty0, ty1 := max(y0, cy<<chunkBits), min(y1, cy<<chunkBits+chunkMask)
			tx0, tx1 := max(x0, cx<<chunkBits), min(x1, cx<<chunkBits+chunkMask)
			for y := ty0; y <= ty1; y++ {
				for x := tx0; x <= tx1; x++ {
					if c == nil {
						r, a := s.gen.tile(x, y)
						fn(x, y, 0, r, a)
						continue
					}
					i := int(y&chunkMask)<<chunkBits | int(x&chunkMask)
					fn(x, y, c.ent[i], c.res[i], c.amount[i])
				}
			}
		}
	}
}

// EntitiesIn calls fn once for every entity with a tile in the rectangle x0..x1 ×
// y0..y1 (corners included), in no particular order.
func (s *Surface) EntitiesIn(x0, y0, x1, y1 int32, fn func(EntityInfo) bool) {
	stop := false
	s.TilesIn(x0, y0, x1, y1, func(x, y int32, id EntityID, _ ItemID, _ uint32) {
		if id == 0 || stop {
			return
		}
		// Report an entity at its first tile inside the rectangle only.
		e := &s.ents[id]
		if x != max(e.x, x0) || y != max(e.y, y0) {
			return
		}
		if info, ok := s.Entity(id); ok && !fn(info) {
			stop = true
		}
	})
}
