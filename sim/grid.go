package sim

// The surface is an unbounded grid of tiles kept in 32×32 chunks. A chunk holds, per tile,
// the entity occupying it and the resource lying under it. Resources come from a pure
// function of the surface seed and the tile coordinates, so a chunk that was never touched
// need not be stored: it is generated on demand and only saved once something changed it.

const (
	chunkBits = 5
	chunkSize = 1 << chunkBits // 32 tiles
	chunkMask = chunkSize - 1
)

type chunkKey struct{ cx, cy int32 }

type chunk struct {
	ent [chunkSize * chunkSize]EntityID
	// res is the resource (an ItemID of an ore) and amount per tile.
	res    [chunkSize * chunkSize]ItemID
	amount [chunkSize * chunkSize]uint32
	// mined is set once any resource amount differs from map generation.
	mined bool
}

// TilePos is a tile coordinate. Tile (x, y) spans positions [x*256, x*256+256).
type TilePos struct{ X, Y int32 }

func chunkOf(x, y int32) (chunkKey, int) {
	return chunkKey{x >> chunkBits, y >> chunkBits}, int(y&chunkMask)<<chunkBits | int(x&chunkMask)
}

// chunkAt returns the chunk holding tile (x, y), generating it if needed.
func (s *Surface) chunkAt(x, y int32) (*chunk, int) {
	k, i := chunkOf(x, y)
	c := s.chunks[k]
	if c == nil {
		c = &chunk{}
		s.gen.fill(c, k)
		s.chunks[k] = c
	}
	return c, i
}

// peekChunk returns the chunk if it exists, without generating one.
func (s *Surface) peekChunk(x, y int32) (*chunk, int) {
	k, i := chunkOf(x, y)
	return s.chunks[k], i
}

// EntityAt returns the entity occupying a tile, or 0.
func (s *Surface) EntityAt(x, y int32) EntityID {
	c, i := s.peekChunk(x, y)
	if c == nil {
		return 0
	}
	return c.ent[i]
}

// ResourceAt returns the resource item and amount under a tile.
func (s *Surface) ResourceAt(x, y int32) (ItemID, uint32) {
	c, i := s.peekChunk(x, y)
	if c == nil {
		r, a := s.gen.tile(x, y)
		return r, a
	}
	return c.res[i], c.amount[i]
}

// setTiles marks a rectangle of tiles as id's, looking each chunk up once per row it
// crosses (loading a save sets every entity's tiles).
func (s *Surface) setTiles(x, y, w, h int32, id EntityID) {
	for ty := y; ty < y+h; ty++ {
		var c *chunk
		for tx := x; tx < x+w; tx++ {
			if c == nil || tx&chunkMask == 0 {
				c, _ = s.chunkAt(tx, ty)
			}
			_, i := chunkOf(tx, ty)
			c.ent[i] = id
		}
	}
}

// areaFree reports whether every tile of a rectangle is free, or names the blocking entity.
func (s *Surface) areaFree(x, y, w, h int32) EntityID {
	for ty := y; ty < y+h; ty++ {
		var c *chunk
		for tx := x; tx < x+w; tx++ {
			if tx == x || tx&chunkMask == 0 {
				c, _ = s.peekChunk(tx, ty)
			}
			if c == nil {
				continue
			}
			if _, i := chunkOf(tx, ty); c.ent[i] != 0 {
				return c.ent[i]
			}
		}
	}
	return 0
}

// TileOnMap reports whether tile x, y lies on the map.
func TileOnMap(x, y int64) bool { return onMap(x, y, 1, 1) }

// onMap reports whether a w×h footprint with its top-left tile at x, y lies on the map.
func onMap(x, y int64, w, h int32) bool {
	return x >= -MapRadius && y >= -MapRadius && x+int64(w) <= MapRadius && y+int64(h) <= MapRadius
}

func floorDiv(a, b int32) int32 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// tileOfPos converts a fixed-point position to the tile containing it.
func tileOfPos(p int32) int32 { return floorDiv(p, TileUnits) }
