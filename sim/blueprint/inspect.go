package blueprint

import (
	"fmt"
	"math"
	"sort"
)

// Entry is one blueprint of a string, books flattened.
type Entry struct {
	// Index is the blueprint's place in depth-first slot order, from 0: the
	// N that Select and `--index N` take. It is stable: it depends only on
	// the book's slots, not on the order the JSON lists them in.
	Index int
	// Slots are the slot numbers leading to the blueprint, outermost book
	// first; empty for a string that is a single blueprint.
	Slots     []int
	Blueprint *Blueprint
}

// PlannerEntry is one planner of a string, books flattened.
type PlannerEntry struct {
	Kind    Kind
	Slots   []int
	Planner *Planner
}

// Blueprints returns every blueprint in the object, books flattened.
func (o *Object) Blueprints() []Entry {
	var out []Entry
	o.walk(nil, func(slots []int, it *Object) {
		if it.Blueprint != nil {
			out = append(out, Entry{Index: len(out), Slots: slots, Blueprint: it.Blueprint})
		}
	})
	return out
}

// Planners returns every upgrade and deconstruction planner in the object.
func (o *Object) Planners() []PlannerEntry {
	var out []PlannerEntry
	o.walk(nil, func(slots []int, it *Object) {
		if it.Planner != nil {
			out = append(out, PlannerEntry{Kind: it.Kind, Slots: slots, Planner: it.Planner})
		}
	})
	return out
}

func (o *Object) walk(slots []int, fn func([]int, *Object)) {
	fn(slots, o)
	if o.Book == nil {
		return
	}
	for i := range o.Book.Entries {
		e := &o.Book.Entries[i]
		e.Item.walk(append(slots[:len(slots):len(slots)], e.Slot), fn)
	}
}

// Select returns blueprint n (from 0) of the flattened object; a single
// blueprint is number 0.
func (o *Object) Select(n int) (*Blueprint, error) {
	all := o.Blueprints()
	if n >= 0 && n < len(all) {
		return all[n].Blueprint, nil
	}
	switch {
	case len(all) == 0:
		return nil, o.nothingToPaste()
	case o.Kind == KindBlueprint:
		return nil, fmt.Errorf("index %d: the string is a single blueprint; use index 0", n)
	default:
		return nil, fmt.Errorf("index %d: the book holds %d blueprints (indexes 0 to %d)", n, len(all), len(all)-1)
	}
}

// nothingToPaste says what a string without a blueprint is and what to give
// instead.
func (o *Object) nothingToPaste() error {
	const hint = "Starlane reports planners (blueprint inspect) and never applies them; copy a blueprint, or a book holding one, out of the game"
	quoted := func(label, format string) string {
		if label == "" {
			return ""
		}
		return fmt.Sprintf(format, label)
	}
	switch {
	case o.Planner != nil:
		what := "an upgrade planner"
		if o.Kind == KindDeconstructionPlanner {
			what = "a deconstruction planner"
		}
		return fmt.Errorf("the string is %s%s, which has nothing to paste: %s", what, quoted(o.Planner.Label, " (%q)"), hint)
	case o.Book != nil:
		book := "the book" + quoted(o.Book.Label, " %q")
		switch n := len(o.Planners()); n {
		case 0:
			return fmt.Errorf("%s is empty: it has nothing to paste", book)
		case 1:
			return fmt.Errorf("%s holds 1 planner and no blueprint, so it has nothing to paste: %s", book, hint)
		default:
			return fmt.Errorf("%s holds %d planners and no blueprint, so it has nothing to paste: %s", book, n, hint)
		}
	}
	return fmt.Errorf("the %s holds no blueprint", o.Kind)
}

// Bounds returns the smallest box holding every entity and tile of the
// blueprint, and false for an empty one. footprint gives an entity's box
// relative to its position (the simulation knows sizes and rotation); with
// nil, entities count as points. A tile covers its whole 1×1 cell.
func (bp *Blueprint) Bounds(footprint func(e *Entity) Box) (Box, bool) {
	b := Box{
		Min: Position{math.MaxInt32, math.MaxInt32},
		Max: Position{math.MinInt32, math.MinInt32},
	}
	grow := func(lo, hi Position) {
		b.Min.X, b.Min.Y = min(b.Min.X, lo.X), min(b.Min.Y, lo.Y)
		b.Max.X, b.Max.Y = max(b.Max.X, hi.X), max(b.Max.Y, hi.Y)
	}
	for i := range bp.Entities {
		e := &bp.Entities[i]
		lo, hi := e.Position, e.Position
		if footprint != nil {
			f := footprint(e)
			lo, hi = e.Position.Add(f.Min), e.Position.Add(f.Max)
		}
		grow(lo, hi)
	}
	for _, t := range bp.Tiles {
		grow(t.Position, t.Position.Add(Position{TileScale, TileScale}))
	}
	return b, len(bp.Entities)+len(bp.Tiles) > 0
}

// Summary is what `starlane blueprint inspect --json` prints. The first
// eight fields are a contract other tools depend on; keep their names.
type Summary struct {
	Kind        Kind   `json:"kind"`
	Label       string `json:"label"`
	GameVersion string `json:"game_version"`
	// Blueprints counts blueprints, books flattened.
	Blueprints   int            `json:"blueprints"`
	Entities     int            `json:"entities"`
	EntityCounts map[string]int `json:"entity_counts"`
	// Wires counts wires once each, whether the string lists them 2.0-style
	// or (1.x) at both ends of each wire.
	Wires int `json:"wires"`
	// Unsupported counts entities whose names the prototype bundle lacks.
	Unsupported map[string]int `json:"unsupported"`
	// Migrated lists the 1.x names a paste renames to 2.0 ones, as the game does
	// on import ("entity stack-inserter → bulk-inserter ×4"); empty for 2.0.
	Migrated []string `json:"migrated"`
	// UnsupportedAs gives, for an unsupported 1.x name, the 2.0 name a paste
	// would look for (and whose reason it gives).
	UnsupportedAs map[string]string `json:"unsupported_as,omitempty"`

	Tiles      int              `json:"tiles"`
	Parameters int              `json:"parameters"`
	Entries    []EntrySummary   `json:"entries"`
	Planners   []PlannerSummary `json:"planners"`
}

// EntrySummary describes one blueprint of a (flattened) string.
type EntrySummary struct {
	Index       int    `json:"index"`
	Slots       []int  `json:"slots"`
	Label       string `json:"label"`
	GameVersion string `json:"game_version"`
	Entities    int    `json:"entities"`
	Wires       int    `json:"wires"`
	Tiles       int    `json:"tiles"`
}

// PlannerSummary describes one planner in a string. Planners are reported,
// never applied.
type PlannerSummary struct {
	Kind        Kind   `json:"kind"`
	Slots       []int  `json:"slots"`
	Label       string `json:"label"`
	GameVersion string `json:"game_version"`
}

// Inspect summarises a decoded string. supported tells whether the prototype
// bundle has an entity name; with nil no name is reported unsupported.
func Inspect(o *Object, supported func(name string) bool) Summary {
	s := Summary{
		Kind:         o.Kind,
		Label:        o.Label(),
		GameVersion:  o.Version().String(),
		EntityCounts: map[string]int{},
		Unsupported:  map[string]int{},
		Entries:      []EntrySummary{},
		Planners:     []PlannerSummary{},
		Migrated:     []string{},
	}
	renamed := map[Renamed]int{} // counts summed over a book's blueprints
	for _, e := range o.Blueprints() {
		bp := e.Blueprint
		if bp.Version.Legacy() {
			if _, list, err := Migrate(bp); err == nil {
				for _, r := range list {
					n := r.Count
					r.Count = 0
					renamed[r] += n
				}
			}
		}
		s.Blueprints++
		s.Entities += len(bp.Entities)
		s.Wires += len(bp.Wires)
		s.Tiles += len(bp.Tiles)
		s.Parameters += len(bp.Parameters)
		// Counting runs of one name keeps map work low on big books, where
		// entities of a kind usually come together.
		for i := 0; i < len(bp.Entities); {
			name := bp.Entities[i].Name
			j := i + 1
			for j < len(bp.Entities) && bp.Entities[j].Name == name {
				j++
			}
			s.EntityCounts[name] += j - i
			if supported != nil {
				// A 1.x name counts as supported when its 2.0 name is: pasting
				// migrates it (Migrate).
				n2 := name
				if bp.Version.Legacy() {
					n2, _ = RenameSince(bp.Version, RenameEntity, name)
				}
				if !supported(n2) {
					s.Unsupported[name] += j - i
					if n2 != name {
						if s.UnsupportedAs == nil {
							s.UnsupportedAs = map[string]string{}
						}
						s.UnsupportedAs[name] = n2
					}
				}
			}
			i = j
		}
		s.Entries = append(s.Entries, EntrySummary{
			Index:       e.Index,
			Slots:       nonNil(e.Slots),
			Label:       bp.Label,
			GameVersion: bp.Version.String(),
			Entities:    len(bp.Entities),
			Wires:       len(bp.Wires),
			Tiles:       len(bp.Tiles),
		})
	}
	for _, p := range o.Planners() {
		s.Planners = append(s.Planners, PlannerSummary{
			Kind:        p.Kind,
			Slots:       nonNil(p.Slots),
			Label:       p.Planner.Label,
			GameVersion: p.Planner.Version.String(),
		})
	}
	for r, n := range renamed {
		r.Count = n
		s.Migrated = append(s.Migrated, r.String())
	}
	sort.Strings(s.Migrated)
	return s
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}
