package sim

import (
	"fmt"
	"sort"
)

// Map generation. Every tile's resource is a pure function of the surface seed, its planet
// and the tile coordinates, so chunks can be generated lazily in any order and every peer
// gets the same map. Explicit patches (set by built-in maps and tests) override the
// procedural ones.

// Planet describes how a planet's map is generated.
type Planet struct {
	Name string
	// Resources are the ores procedural patches are drawn from, with relative weights.
	Resources []PlanetResource
	// PatchChance is the chance (in 1/256) that a 128×128 region holds a patch.
	PatchChance uint32
	// Richness scales patch amounts.
	Richness uint32
	// ClearRadius keeps procedural patches out of the spawn area (tiles).
	ClearRadius int32
}

// PlanetResource is one ore a planet's procedural patches can hold.
type PlanetResource struct {
	Name   string
	Weight uint32
}

// planets lists the built-in planets. Resources are limited to ores in the vanilla bundle.
var planets = map[string]Planet{
	"nauvis": {Name: "nauvis", PatchChance: 160, Richness: 1000, ClearRadius: 96,
		Resources: []PlanetResource{{"iron-ore", 4}, {"copper-ore", 3}, {"coal", 2}, {"stone", 1}}},
	"vulcanus": {Name: "vulcanus", PatchChance: 120, Richness: 1500, ClearRadius: 96,
		Resources: []PlanetResource{{"coal", 3}, {"stone", 2}, {"iron-ore", 1}}},
	"fulgora": {Name: "fulgora", PatchChance: 80, Richness: 800, ClearRadius: 96,
		Resources: []PlanetResource{{"stone", 2}, {"copper-ore", 1}}},
	"gleba": {Name: "gleba", PatchChance: 100, Richness: 800, ClearRadius: 96,
		Resources: []PlanetResource{{"stone", 3}, {"coal", 1}}},
	"aquilo": {Name: "aquilo", PatchChance: 60, Richness: 600, ClearRadius: 96,
		Resources: []PlanetResource{{"iron-ore", 1}, {"copper-ore", 1}}},
}

// Patch is an explicit rectangular resource patch.
type Patch struct {
	Resource ItemID
	X, Y     int32 // top-left tile
	W, H     int32
	Amount   uint32 // per tile
}

const regionBits = 7 // 128-tile regions, at most one procedural patch each

// PlanetNames lists the built-in planets in name order.
func PlanetNames() []string {
	names := make([]string, 0, len(planets))
	for n := range planets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type generator struct {
	seed    uint64
	planet  Planet
	res     []ItemID // resources of the planet, parallel to planet.Resources
	weights uint32
	patches []Patch
	// byChunk lists, per chunk, the patches overlapping it (in patch order).
	byChunk map[chunkKey][]int32
}

func newGenerator(b *Bundle, seed uint64, planet string, patches []Patch) (generator, error) {
	p, ok := planets[planet]
	if !ok {
		return generator{}, fmt.Errorf("unknown planet %q (known: nauvis, vulcanus, fulgora, gleba, aquilo)", planet)
	}
	g := generator{seed: seed, planet: p, patches: patches, byChunk: map[chunkKey][]int32{}}
	for i, pt := range patches {
		if pt.W <= 0 || pt.H <= 0 || pt.W > 1<<16 || pt.H > 1<<16 {
			return generator{}, fmt.Errorf("patch %d: size %dx%d out of range", i, pt.W, pt.H)
		}
		for cy := pt.Y >> chunkBits; cy <= (pt.Y+pt.H-1)>>chunkBits; cy++ {
			for cx := pt.X >> chunkBits; cx <= (pt.X+pt.W-1)>>chunkBits; cx++ {
				k := chunkKey{cx, cy}
				g.byChunk[k] = append(g.byChunk[k], int32(i))
			}
		}
	}
	for _, r := range p.Resources {
		id, ok := b.ItemID(r.Name)
		if !ok {
			return generator{}, fmt.Errorf("planet %s: resource %s is not in the prototype bundle", planet, r.Name)
		}
		g.res = append(g.res, id)
		g.weights += r.Weight
	}
	return g, nil
}

// mix64 is the splitmix64 finaliser: a fast, well-distributed integer hash.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (g *generator) hash(a, b int32, salt uint64) uint64 {
	return mix64(g.seed ^ mix64(uint64(uint32(a))|uint64(uint32(b))<<32) ^ salt*0x632be59bd9b4e019)
}

// tile returns the generated resource and amount of one tile.
func (g *generator) tile(x, y int32) (ItemID, uint32) {
	k, _ := chunkOf(x, y)
	list := g.byChunk[k]
	for i := len(list) - 1; i >= 0; i-- {
		p := &g.patches[list[i]]
		if x >= p.X && x < p.X+p.W && y >= p.Y && y < p.Y+p.H {
			return p.Resource, p.Amount
		}
	}
	if len(g.res) == 0 || g.weights == 0 {
		return 0, 0
	}
	rx, ry := x>>regionBits, y>>regionBits
	h := g.hash(rx, ry, 1)
	if uint32(h&0xff) >= g.planet.PatchChance {
		return 0, 0
	}
	// Patch radius 8..23 tiles, centre kept inside the region so a tile only needs its own.
	const size = 1 << regionBits
	r := int32(8 + (h>>8)&15)
	cx := rx<<regionBits + r + int32((h>>12)%uint64(size-2*r))
	cy := ry<<regionBits + r + int32((h>>24)%uint64(size-2*r))
	if abs32(cx) < g.planet.ClearRadius+r && abs32(cy) < g.planet.ClearRadius+r {
		return 0, 0
	}
	dx, dy := int64(x-cx), int64(y-cy)
	d2, r2 := dx*dx+dy*dy, int64(r)*int64(r)
	// A little per-tile noise on the edge makes patches look less like circles.
	noise := int64(g.hash(x, y, 2) % uint64(r2/4+1))
	if d2+noise > r2 {
		return 0, 0
	}
	pick := uint32(h>>40) % g.weights
	var res ItemID
	for i, pr := range g.planet.Resources {
		if pick < pr.Weight {
			res = g.res[i]
			break
		}
		pick -= pr.Weight
	}
	// Richer towards the centre and further from spawn.
	dist := int64(abs32(cx)+abs32(cy)) / 64
	amount := int64(g.planet.Richness) * (1 + dist) * (r2 - d2 + r2/4) / r2
	return res, uint32(min(amount, 1<<31))
}

func (g *generator) fill(c *chunk, k chunkKey) {
	x0, y0 := k.cx<<chunkBits, k.cy<<chunkBits
	// A chunk inside the last patch over it (a cleared base, an ore field) is that patch
	// on every tile: tile would find it first for each.
	if list := g.byChunk[k]; len(list) > 0 {
		p := &g.patches[list[len(list)-1]]
		if int64(p.X) <= int64(x0) && int64(x0)+chunkSize <= int64(p.X)+int64(p.W) &&
			int64(p.Y) <= int64(y0) && int64(y0)+chunkSize <= int64(p.Y)+int64(p.H) {
			for i := range c.res {
				c.res[i], c.amount[i] = p.Resource, p.Amount
			}
			return
		}
	}
	for ty := int32(0); ty < chunkSize; ty++ {
		for tx := int32(0); tx < chunkSize; tx++ {
			r, a := g.tile(x0+tx, y0+ty)
			i := ty<<chunkBits | tx
			c.res[i], c.amount[i] = r, a
		}
	}
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
