// Package fluid is Factorio 2.0's fluid model reduced to integers: every fluid
// box (a pipe, a tank, one box of a machine) is a node; connected nodes form a
// segment, which holds one fluid and behaves as one tank whose capacity is the
// sum of its nodes' volumes. Machines take from and put into segments; pumps
// move fluid between them. The cost of a tick is O(machines + pumps), never
// O(pipes): pipes only matter when the topology changes.
//
// Amounts are fixed point: Unit is one fluid unit.
package fluid

// Amount is a fluid amount in thousandths of a unit.
type Amount int64

// Unit is one fluid unit.
const Unit Amount = 1000

// ID names a fluid (the simulation uses item IDs); 0 is none.
type ID uint16

// Segment is a connected group of fluid boxes.
type Segment struct {
	Fluid  ID
	Amount Amount
	Cap    Amount
}

// Room returns how much of fluid f the segment can take.
func (s *Segment) Room(f ID) Amount {
	if s.Fluid != 0 && s.Fluid != f && s.Amount > 0 {
		return 0
	}
	return s.Cap - s.Amount
}

// Put adds up to a of fluid f and returns how much went in.
func (s *Segment) Put(f ID, a Amount) Amount {
	a = min(a, s.Room(f))
	if a <= 0 {
		return 0
	}
	s.Fluid = f
	s.Amount += a
	return a
}

// Has returns how much of fluid f the segment holds.
func (s *Segment) Has(f ID) Amount {
	if s.Fluid != f {
		return 0
	}
	return s.Amount
}

// Take removes up to a of fluid f and returns how much came out.
func (s *Segment) Take(f ID, a Amount) Amount {
	a = min(a, s.Has(f))
	if a <= 0 {
		return 0
	}
	s.Amount -= a
	return a
}

// Graph builds segments from nodes and the connections between them.
type Graph struct {
	parent []int32
	volume []Amount
}

// NewGraph returns a graph of n nodes with the given volumes.
func NewGraph(volumes []Amount) *Graph {
	g := &Graph{parent: make([]int32, len(volumes)), volume: volumes}
	for i := range g.parent {
		g.parent[i] = int32(i)
	}
	return g
}

func (g *Graph) find(i int32) int32 {
	for g.parent[i] != i {
		g.parent[i] = g.parent[g.parent[i]]
		i = g.parent[i]
	}
	return i
}

// Connect joins two nodes.
func (g *Graph) Connect(a, b int32) {
	ra, rb := g.find(a), g.find(b)
	if ra == rb {
		return
	}
	if ra < rb {
		g.parent[rb] = ra
	} else {
		g.parent[ra] = rb
	}
}

// Segments numbers the segments in order of their lowest node and returns each
// node's segment and each segment's capacity.
func (g *Graph) Segments() (segOf []int32, segs []Segment) {
	segOf = make([]int32, len(g.parent))
	for i := range g.parent {
		r := g.find(int32(i))
		if r == int32(i) {
			segOf[i] = int32(len(segs))
			segs = append(segs, Segment{})
		} else {
			segOf[i] = segOf[r]
		}
		segs[segOf[i]].Cap += g.volume[i]
	}
	return segOf, segs
}

// Share is what one node holds when a segment's contents are split back into
// its nodes (before the topology changes or to save).
type Share struct {
	Fluid  ID
	Amount Amount
}

// Split divides each segment's contents among its nodes in proportion to
// their volumes; the remainder of the division goes to the segment's lowest
// node, so the split is exact and the same on every peer.
func Split(segOf []int32, volumes []Amount, segs []Segment) []Share {
	out := make([]Share, len(segOf))
	given := make([]Amount, len(segs))
	first := make([]int32, len(segs))
	for i := range first {
		first[i] = -1
	}
	for i, si := range segOf {
		s := &segs[si]
		if first[si] < 0 {
			first[si] = int32(i)
		}
		if s.Cap == 0 || s.Amount == 0 {
			continue
		}
		a := Amount(int64(s.Amount) * int64(volumes[i]) / int64(s.Cap))
		out[i] = Share{Fluid: s.Fluid, Amount: a}
		given[si] += a
	}
	for si := range segs {
		if r := segs[si].Amount - given[si]; r > 0 && first[si] >= 0 {
			out[first[si]].Fluid = segs[si].Fluid
			out[first[si]].Amount += r
		}
	}
	return out
}

// Gather sums node shares into segments. Nodes of one segment holding
// different fluids keep the fluid with the most (ties: the lower fluid ID);
// the other fluid is returned as lost, per fluid, so the caller can account
// for it. Builds that would mix fluids are refused before this happens.
func Gather(segOf []int32, shares []Share, segs []Segment) (lost map[ID]Amount) {
	type tally struct {
		f ID
		a Amount
	}
	per := make([][]tally, len(segs))
	for i, sh := range shares {
		if sh.Amount == 0 {
			continue
		}
		si := segOf[i]
		found := false
		for k := range per[si] {
			if per[si][k].f == sh.Fluid {
				per[si][k].a += sh.Amount
				found = true
			}
		}
		if !found {
			per[si] = append(per[si], tally{sh.Fluid, sh.Amount})
		}
	}
	for si, ts := range per {
		if len(ts) == 0 {
			continue
		}
		best := 0
		for k := 1; k < len(ts); k++ {
			if ts[k].a > ts[best].a || (ts[k].a == ts[best].a && ts[k].f < ts[best].f) {
				best = k
			}
		}
		s := &segs[si]
		s.Fluid, s.Amount = ts[best].f, min(ts[best].a, s.Cap)
		if over := ts[best].a - s.Amount; over > 0 {
			if lost == nil {
				lost = map[ID]Amount{}
			}
			lost[ts[best].f] += over
		}
		for k, t := range ts {
			if k != best {
				if lost == nil {
					lost = map[ID]Amount{}
				}
				lost[t.f] += t.a
			}
		}
	}
	return lost
}
