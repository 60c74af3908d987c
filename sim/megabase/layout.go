package megabase

import (
	"fmt"

	"github.com/starlane/starlane/sim"
)

// layout places entities through the surface's Build and remembers the first error, so
// generators read as a list of placements.
type layout struct {
	s   *sim.Surface
	err error
}

func (l *layout) put(name string, x, y int32, d sim.Dir) sim.EntityID {
	return l.spec(sim.BuildSpec{Name: name, X: x, Y: y, Dir: d})
}

func (l *layout) spec(sp sim.BuildSpec) sim.EntityID {
	if l.err != nil {
		return 0
	}
	id, err := l.s.Build(sp)
	if err != nil {
		l.err = err
	}
	return id
}

// belt lays a straight run of belts from (x, y) for n tiles in direction d.
func (l *layout) belt(name string, x, y int32, d sim.Dir, n int32) {
	dx, dy := int32(0), int32(-1)
	switch d {
	case sim.East:
		dx, dy = 1, 0
	case sim.South:
		dx, dy = 0, 1
	case sim.West:
		dx, dy = -1, 0
	}
	for i := int32(0); i < n; i++ {
		l.put(name, x+dx*i, y+dy*i, d)
	}
}

// fill places n entities on a grid of free spots inside a rectangle of tiles, row by row.
func (l *layout) fill(name string, x0, y0, x1, y1 int32, n int) {
	if l.err != nil {
		return
	}
	b := l.s.Bundle()
	pi, ok := b.Entity(name)
	if !ok {
		l.err = fmt.Errorf("unknown entity %s", name)
		return
	}
	p := &b.Entities[pi]
	placed := 0
	for y := y0; y+p.H-1 <= y1 && placed < n; y += p.H {
		for x := x0; x+p.W-1 <= x1 && placed < n; x += p.W {
			if l.free(x, y, p.W, p.H) {
				l.put(name, x, y, sim.North)
				placed++
			}
		}
	}
	if placed < n && l.err == nil {
		l.err = fmt.Errorf("room for only %d of %d %s in %d,%d..%d,%d", placed, n, name, x0, y0, x1, y1)
	}
}

// free reports whether no entity covers the w×h area with its top-left tile at x, y.
func (l *layout) free(x, y, w, h int32) bool {
	for ty := y; ty < y+h; ty++ {
		for tx := x; tx < x+w; tx++ {
			if l.s.EntityAt(tx, ty) != 0 {
				return false
			}
		}
	}
	return true
}

// beacon places a beacon of two speed-module-3, the only beacon the maps use.
func (l *layout) beacon(x, y int32) {
	l.spec(sim.BuildSpec{Name: "beacon", X: x, Y: y, Modules: []string{planSpeed, planSpeed}})
}

// pipes lays a straight run of pipes from (x0, y0) to (x1, y1), both ends included.
func (l *layout) pipes(x0, y0, x1, y1 int32) {
	for x := min(x0, x1); x <= max(x0, x1); x++ {
		for y := min(y0, y1); y <= max(y0, y1); y++ {
			l.put("pipe", x, y, sim.North)
		}
	}
}

// pipeUnder places a pipe-to-ground pair in column x, entering at yTop and leaving
// at yBottom.
func (l *layout) pipeUnder(x, yTop, yBottom int32) {
	l.put("pipe-to-ground", x, yTop, sim.North)
	l.put("pipe-to-ground", x, yBottom, sim.South)
}

// oreIDs are the raw resources the generated lines' patches hold.
func oreIDs(b *sim.Bundle) (iron, copper, coal, stone, crude sim.ItemID) {
	id := func(name string) sim.ItemID {
		i, _ := b.ItemID(name)
		return i
	}
	return id("iron-ore"), id("copper-ore"), id("coal"), id("stone"), id("crude-oil")
}
