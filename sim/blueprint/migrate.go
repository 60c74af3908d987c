package blueprint

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Migration of Factorio 1.x blueprints to 2.0 prototypes. The game renames
// prototypes when it opens an older save or blueprint, by the migration files
// each mod ships; data/renames-2.0.json is a copy of base's renames, with
// where each came from. Directions and wires are converted by the decoder;
// Migrate does names, and the settings that moved with them.

//go:embed data/renames-2.0.json
var renameData embed.FS

// RenameKind is the prototype family a rename applies to.
type RenameKind string

// The prototype families blueprints name.
const (
	RenameEntity RenameKind = "entity"
	RenameItem   RenameKind = "item"
	RenameRecipe RenameKind = "recipe"
)

type renameStep struct {
	File   string      `json:"file"`
	Before string      `json:"before"`
	Entity [][2]string `json:"entity"`
	Item   [][2]string `json:"item"`
	Recipe [][2]string `json:"recipe"`
}

type renameFile struct {
	Steps    []renameStep `json:"steps"`
	Settings struct {
		UseFilterFrom []string `json:"use_filters_when_renamed_from"`
	} `json:"settings"`
}

// renames holds, for each step, the renames of that step and every later one
// composed: a blueprint gets the steps written after it, and the steps are in
// version order, so what applies to it is a suffix of the list.
type renames struct {
	before    []Version                          // step i applies to blueprints older than before[i]
	byKind    []map[RenameKind]map[string]string // suffix i composed; one more, empty, for none
	useFilter map[string]bool
}

var (
	renamesOnce sync.Once
	renameTable *renames
)

func loadRenames() *renames {
	renamesOnce.Do(func() {
		raw, err := renameData.ReadFile("data/renames-2.0.json")
		if err != nil {
			panic("blueprint: embedded rename table missing: " + err.Error())
		}
		var f renameFile
		if err := json.Unmarshal(raw, &f); err != nil {
			panic("blueprint: embedded rename table invalid: " + err.Error())
		}
		renameTable, err = composeRenames(&f)
		if err != nil {
			panic("blueprint: embedded rename table invalid: " + err.Error())
		}
	})
	return renameTable
}

// composeRenames folds each suffix of the steps into one map per family: every
// name a step renames is run through the suffix's steps in order, so a name
// renamed by one step and again by a later one maps to its final name. Within
// a step each name moves at most once, so a swap is a swap.
func composeRenames(f *renameFile) (*renames, error) {
	r := &renames{useFilter: map[string]bool{}}
	for i, st := range f.Steps {
		v, err := ParseVersion(st.Before)
		if err != nil {
			return nil, fmt.Errorf("step %s: %w", st.File, err)
		}
		if i > 0 && v < r.before[i-1] {
			return nil, fmt.Errorf("step %s: before %s comes after a step for %s", st.File, v, r.before[i-1])
		}
		r.before = append(r.before, v)
	}
	r.byKind = make([]map[RenameKind]map[string]string, len(f.Steps)+1)
	for first := range r.byKind {
		r.byKind[first] = map[RenameKind]map[string]string{}
		for _, k := range []RenameKind{RenameEntity, RenameItem, RenameRecipe} {
			steps := make([]map[string]string, 0, len(f.Steps)-first)
			for _, st := range f.Steps[first:] {
				var pairs [][2]string
				switch k {
				case RenameEntity:
					pairs = st.Entity
				case RenameItem:
					pairs = st.Item
				case RenameRecipe:
					pairs = st.Recipe
				}
				m := map[string]string{}
				for _, p := range pairs {
					m[p[0]] = p[1]
				}
				steps = append(steps, m)
			}
			final := map[string]string{}
			for _, st := range steps {
				for from := range st {
					cur := from
					for _, st2 := range steps {
						if to, ok := st2[cur]; ok {
							cur = to
						}
					}
					if cur != from {
						final[from] = cur
					}
				}
			}
			r.byKind[first][k] = final
		}
	}
	for _, n := range f.Settings.UseFilterFrom {
		r.useFilter[n] = true
	}
	return r, nil
}

// since returns the composed renames for a blueprint written by version v:
// those of every step whose version is later than v.
func (r *renames) since(v Version) map[RenameKind]map[string]string {
	i := sort.Search(len(r.before), func(i int) bool { return r.before[i] > v })
	return r.byKind[i]
}

// Rename2 returns the Factorio 2.0 name of a 1.x prototype name of a family,
// and whether it changed.
func Rename2(kind RenameKind, name string) (string, bool) {
	return RenameSince(MakeVersion(1, 0, 0, 0), kind, name)
}

// RenameSince returns the Factorio 2.0 name of a prototype name of a family
// as a blueprint of version v names it, and whether it changed: the renames
// of every migration the game made after v.
func RenameSince(v Version, kind RenameKind, name string) (string, bool) {
	to, ok := loadRenames().since(v)[kind][name]
	if !ok {
		return name, false
	}
	return to, true
}

// Renamed is one rename Migrate applied, with how many times.
type Renamed struct {
	Kind  RenameKind
	From  string
	To    string
	Count int
}

func (r Renamed) String() string {
	return fmt.Sprintf("%s %s → %s ×%d", r.Kind, r.From, r.To, r.Count)
}

// Migrate returns the blueprint as Factorio 2.0 reads it: for a 1.x
// blueprint, a copy with every entity, recipe and item name renamed as the
// game's migrations do, settings kept (recipes, item requests, splitter and
// infinity filters, inserter and logistic filters, chest bars and other raw
// settings), and a filter inserter's filters switched on as 2.0 writes them
// (use_filters). A 2.0 blueprint is returned as it is. The list says what was
// renamed, sorted.
func Migrate(bp *Blueprint) (*Blueprint, []Renamed, error) {
	if !bp.Version.Legacy() {
		return bp, nil, nil
	}
	r := loadRenames()
	table := r.since(bp.Version)
	counts := map[Renamed]int{}
	rename := func(kind RenameKind, name string) string {
		if to, ok := table[kind][name]; ok {
			counts[Renamed{Kind: kind, From: name, To: to}]++
			return to
		}
		return name
	}
	out := *bp
	out.Entities = make([]Entity, len(bp.Entities))
	for i := range bp.Entities {
		e := bp.Entities[i]
		oldName := e.Name
		e.Name = rename(RenameEntity, e.Name)
		if e.Recipe != "" {
			e.Recipe = rename(RenameRecipe, e.Recipe)
		}
		if e.Filter != nil {
			f := *e.Filter
			f.Name = rename(RenameItem, f.Name)
			e.Filter = &f
		}
		if e.Infinity != nil {
			inf := *e.Infinity
			inf.Filters = append([]InfinityFilter(nil), inf.Filters...)
			for k := range inf.Filters {
				inf.Filters[k].Name = rename(RenameItem, inf.Filters[k].Name)
			}
			e.Infinity = &inf
		}
		if len(e.Items) > 0 {
			e.Items = append([]ItemRequest(nil), e.Items...)
			for k := range e.Items {
				e.Items[k].Name = rename(RenameItem, e.Items[k].Name)
			}
		}
		extra, err := migrateExtra(e.Extra, func(n string) string { return rename(RenameItem, n) })
		if err != nil {
			return nil, nil, fmt.Errorf("entity %d (%s): %w", e.Number, oldName, err)
		}
		if r.useFilter[oldName] {
			if _, ok := extra.Get("filters"); ok {
				if _, set := extra.Get("use_filters"); !set {
					extra = append(extra[:len(extra):len(extra)], Field{Key: "use_filters", Value: json.RawMessage("true")})
				}
			}
		}
		e.Extra = extra
		out.Entities[i] = e
	}
	list := make([]Renamed, 0, len(counts))
	for k, n := range counts {
		k.Count = n
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.From < b.From
	})
	return &out, list, nil
}

// itemListKeys are the raw entity settings that are lists of {name, …}
// objects naming items: inserter and loader filters, requester and buffer
// chest requests (1.x).
var itemListKeys = map[string]bool{"filters": true, "request_filters": true}

// migrateExtra renames the items named in raw filter lists. Other raw
// settings are kept byte for byte.
func migrateExtra(extra Fields, rename func(string) string) (Fields, error) {
	var out Fields
	for i, f := range extra {
		if !itemListKeys[f.Key] {
			continue
		}
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(f.Value, &list); err != nil {
			// Not the 1.x list shape (2.0 request_filters is an object): keep it.
			continue
		}
		changed := false
		for _, obj := range list {
			raw, ok := obj["name"]
			if !ok {
				continue
			}
			var name string
			if json.Unmarshal(raw, &name) != nil {
				continue
			}
			if to := rename(name); to != name {
				b, _ := json.Marshal(to)
				obj["name"] = b
				changed = true
			}
		}
		if !changed {
			continue
		}
		b, err := json.Marshal(list)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Key, err)
		}
		if out == nil {
			out = append(Fields(nil), extra...)
		}
		out[i] = Field{Key: f.Key, Value: b}
	}
	if out == nil {
		return extra, nil
	}
	return out, nil
}
