package blueprint

import (
	"fmt"
	"strconv"
)

// legacyConns are the Factorio 1.x per-entity wire lists a 1.x blueprint is
// written back with, by entity index.
type legacyConns struct {
	byEntity map[int]*entityConns
}

type connTarget struct {
	entity uint32
	id     int
}

type entityConns struct {
	circuit    [2][2][]connTarget // [point "1"/"2"][red/green]
	copper     [2][]connTarget    // Cu0, Cu1 of a power switch
	neighbours []uint32           // copper wires between poles
}

func (lc *legacyConns) at(i int) *entityConns {
	c := lc.byEntity[i]
	if c == nil {
		c = new(entityConns)
		lc.byEntity[i] = c
	}
	return c
}

// splitLegacyWires sorts a 1.x blueprint's wires into per-entity
// connections, the way the game wrote them: circuit wires at both ends,
// copper between poles as "neighbours" at both ends, and power switch copper
// as Cu0/Cu1 on the switch. Wires 1.x cannot express (a red-to-green wire, a
// right copper connector on something that is not a power switch) are
// returned to be written as a 2.0-style wire list, so nothing is lost.
func splitLegacyWires(bp *Blueprint) (*legacyConns, []Wire, error) {
	index := make(map[uint32]int, len(bp.Entities))
	for i, e := range bp.Entities {
		if _, dup := index[e.Number]; dup {
			return nil, nil, fmt.Errorf("entity_number %d is used twice", e.Number)
		}
		index[e.Number] = i
	}
	lc := &legacyConns{byEntity: make(map[int]*entityConns)}
	var rest []Wire
	for _, x := range bp.Wires {
		si, ok := index[x.SourceEntity]
		if !ok {
			return nil, nil, fmt.Errorf("wire to entity %d, which is not in the blueprint", x.SourceEntity)
		}
		ti, ok := index[x.TargetEntity]
		if !ok {
			return nil, nil, fmt.Errorf("wire to entity %d, which is not in the blueprint", x.TargetEntity)
		}
		sc, tc := x.SourceConnector, x.TargetConnector
		switch {
		case sc >= 1 && sc <= 4 && tc >= 1 && tc <= 4 && sc%2 == tc%2:
			colour := int(sc+1) % 2
			sp, tp := int(sc-1)/2, int(tc-1)/2
			s, t := lc.at(si), lc.at(ti)
			s.circuit[sp][colour] = append(s.circuit[sp][colour], connTarget{x.TargetEntity, tp + 1})
			t.circuit[tp][colour] = append(t.circuit[tp][colour], connTarget{x.SourceEntity, sp + 1})
		case sc >= 5 && sc <= 6 && tc >= 5 && tc <= 6:
			ss := bp.Entities[si].Name == "power-switch"
			ts := bp.Entities[ti].Name == "power-switch"
			if !ss && sc == 6 || !ts && tc == 6 {
				rest = append(rest, x)
				continue
			}
			if !ss && !ts {
				lc.at(si).neighbours = append(lc.at(si).neighbours, x.TargetEntity)
				lc.at(ti).neighbours = append(lc.at(ti).neighbours, x.SourceEntity)
				continue
			}
			if ss {
				c := lc.at(si)
				c.copper[sc-5] = append(c.copper[sc-5], connTarget{x.TargetEntity, int(tc - 5)})
			}
			if ts {
				c := lc.at(ti)
				c.copper[tc-5] = append(c.copper[tc-5], connTarget{x.SourceEntity, int(sc - 5)})
			}
		default:
			rest = append(rest, x)
		}
	}
	return lc, rest, nil
}

// write adds entity i's "connections" and "neighbours" keys to o.
func (lc *legacyConns) write(w *writer, o *obj, i int) {
	c := lc.byEntity[i]
	if c == nil {
		return
	}
	has := false
	for _, p := range c.circuit {
		has = has || len(p[0]) > 0 || len(p[1]) > 0
	}
	has = has || len(c.copper[0]) > 0 || len(c.copper[1]) > 0
	if has {
		o.key("connections")
		co := w.open()
		for p, colours := range c.circuit {
			if len(colours[0]) == 0 && len(colours[1]) == 0 {
				continue
			}
			co.key(strconv.Itoa(p + 1))
			po := w.open()
			for col, list := range colours {
				if len(list) == 0 {
					continue
				}
				po.key([2]string{"red", "green"}[col])
				writeTargets(w, list, "circuit_id")
			}
			po.close()
		}
		for k, list := range c.copper {
			if len(list) > 0 {
				co.key([2]string{"Cu0", "Cu1"}[k])
				writeTargets(w, list, "wire_id")
			}
		}
		co.close()
	}
	if len(c.neighbours) > 0 {
		o.key("neighbours")
		w.b = append(w.b, '[')
		for j, n := range c.neighbours {
			if j > 0 {
				w.b = append(w.b, ',')
			}
			w.b = strconv.AppendUint(w.b, uint64(n), 10)
		}
		w.b = append(w.b, ']')
	}
}

func writeTargets(w *writer, list []connTarget, idKey string) {
	w.b = append(w.b, '[')
	for j, t := range list {
		if j > 0 {
			w.b = append(w.b, ',')
		}
		w.b = fmt.Appendf(w.b, `{"entity_id":%d,"%s":%d}`, t.entity, idKey, t.id)
	}
	w.b = append(w.b, ']')
}
