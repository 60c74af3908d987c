package sim

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Saves made with an earlier prototype bundle. A save stores items, entities,
// recipes and technologies by their index in its bundle's sorted lists, so a
// build whose bundle gained prototypes cannot read them directly. For the
// earlier vanilla bundles listed in data/legacy (their name tables), the
// loader maps every index to this bundle's by name. A save whose bundle is
// neither this one nor a known earlier one is refused, as before.

//go:embed data/legacy/*.json
var legacyData embed.FS

type legacyTables struct {
	Hash     string   `json:"hash"`
	Items    []string `json:"items"`
	Entities []string `json:"entities"`
	Recipes  []string `json:"recipes"`
	Techs    []string `json:"technologies"`
}

var (
	legacyOnce   sync.Once
	legacyByHash map[string]*legacyTables
)

func legacyBundles() map[string]*legacyTables {
	legacyOnce.Do(func() {
		legacyByHash = map[string]*legacyTables{}
		entries, _ := legacyData.ReadDir("data/legacy")
		for _, e := range entries {
			raw, err := legacyData.ReadFile("data/legacy/" + e.Name())
			if err != nil {
				panic("sim: embedded legacy bundle: " + err.Error())
			}
			var t legacyTables
			if err := json.Unmarshal(raw, &t); err != nil {
				panic("sim: embedded legacy bundle " + e.Name() + ": " + err.Error())
			}
			legacyByHash[t.Hash] = &t
		}
	})
	return legacyByHash
}

// remap translates an earlier bundle's indexes into this bundle's.
type remap struct {
	items   []ItemID // old item ID → new (index 0 is "no item")
	ents    []int32
	recipes []int32
	techs   []int32
}

// legacyRemap builds the mapping for a save made with bundle hash, or says why
// it cannot.
func legacyRemap(b *Bundle, hash string) (*remap, error) {
	t, ok := legacyBundles()[hash]
	if !ok {
		return nil, nil
	}
	var missing []string
	m := &remap{items: make([]ItemID, len(t.Items)+1)}
	for i, n := range t.Items {
		id, ok := b.ItemID(n)
		if !ok {
			missing = append(missing, "item "+n)
		}
		m.items[i+1] = id
	}
	idx := func(kind string, names []string, look func(string) (int, bool)) []int32 {
		out := make([]int32, len(names))
		for i, n := range names {
			j, ok := look(n)
			if !ok {
				missing = append(missing, kind+" "+n)
			}
			out[i] = int32(j)
		}
		return out
	}
	m.ents = idx("entity", t.Entities, b.Entity)
	m.recipes = idx("recipe", t.Recipes, b.Recipe)
	m.techs = idx("technology", t.Techs, b.Tech)
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("save was made with prototype bundle %s, whose %s this build's bundle %s lacks",
			hash[:12], strings.Join(missing, ", "), b.ShortHash())
	}
	return m, nil
}

// itemCount is how many items the save's bundle has.
func (d *decoder) itemCount(b *Bundle) int {
	if d.remap != nil {
		return len(d.remap.items) - 1
	}
	return len(b.Items)
}
