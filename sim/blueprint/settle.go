package blueprint

import (
	"cmp"
	"fmt"
	"slices"
)

// finish settles what depends on the game version once the whole string is
// read: objects without a version inherit their book's, legacy directions
// and wires are converted to 2.0 conventions, and wires are checked against
// the entities they join.
func (d *decoder) finish() error {
	// pending is in pre-order, so a parent's version is settled before its
	// children look at it.
	for _, p := range d.pending {
		if !p.has && p.parent != nil {
			*p.version = *p.parent.version
		}
		if p.bp != nil {
			if err := settle(p); err != nil {
				return err
			}
		}
	}
	return nil
}

func settle(p *pending) error {
	bp := p.bp
	legacy := bp.Version.Legacy()
	at := func(format string, args ...any) string { return p.path + fmt.Sprintf(format, args...) }

	index := make(map[uint32]int, len(bp.Entities))
	for i := range bp.Entities {
		e := &bp.Entities[i]
		if j, dup := index[e.Number]; dup {
			return newError(at(".entities[%d].entity_number", i), "entity_number %d is also used by entities[%d]", e.Number, j)
		}
		index[e.Number] = i
		if legacy {
			if e.Direction > 7 {
				return newError(at(".entities[%d].direction", i),
					"%d is not one of the 8 directions (0–7) of a Factorio %s blueprint", e.Direction, eraName(bp.Version))
			}
			e.Direction *= 2
		}
	}

	for i, w := range bp.Wires {
		for _, n := range [2]uint32{w.SourceEntity, w.TargetEntity} {
			if _, ok := index[n]; !ok {
				return newError(at(".wires[%d]", i), "wire to entity %d, which is not in the blueprint", n)
			}
		}
	}
	if !legacy && len(p.legacy) == 0 {
		return nil
	}

	conv := make([]Wire, 0, len(p.legacy))
	for _, lw := range p.legacy {
		if _, ok := index[lw.target]; !ok {
			return newError(at(".entities[%d]", lw.entity), "wire to entity %d, which is not in the blueprint", lw.target)
		}
		src := bp.Entities[lw.entity].Number
		conv = append(conv, canonical(Wire{src, lw.connector, lw.target, lw.targetCon}))
	}
	if legacy {
		// 1.x lists most wires at both ends and has no wire order of its
		// own: the wire list is canonical, sorted and without duplicates.
		for _, w := range bp.Wires {
			conv = append(conv, canonical(w))
		}
		slices.SortFunc(conv, compareWires)
		bp.Wires = slices.Compact(conv)
		if len(bp.Wires) == 0 {
			bp.Wires = nil
		}
		return nil
	}
	// A 2.0 blueprint keeps its wire list as written; 1.x connections found
	// in it are added after, once each.
	slices.SortFunc(conv, compareWires)
	conv = slices.Compact(conv)
	have := make(map[Wire]bool, len(bp.Wires))
	for _, w := range bp.Wires {
		have[canonical(w)] = true
	}
	for _, w := range conv {
		if !have[w] {
			bp.Wires = append(bp.Wires, w)
		}
	}
	return nil
}

// canonical orients a wire so its smaller end comes first.
func canonical(w Wire) Wire {
	if cmp.Or(cmp.Compare(w.TargetEntity, w.SourceEntity), cmp.Compare(w.TargetConnector, w.SourceConnector)) < 0 {
		return Wire{w.TargetEntity, w.TargetConnector, w.SourceEntity, w.SourceConnector}
	}
	return w
}

func compareWires(a, b Wire) int {
	return cmp.Or(
		cmp.Compare(a.SourceEntity, b.SourceEntity),
		cmp.Compare(a.SourceConnector, b.SourceConnector),
		cmp.Compare(a.TargetEntity, b.TargetEntity),
		cmp.Compare(a.TargetConnector, b.TargetConnector),
	)
}

func eraName(v Version) string {
	if v == 0 {
		return "1.x (no version given)"
	}
	return v.String()
}
