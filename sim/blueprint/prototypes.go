package blueprint

import (
	_ "embed"
	"encoding/json"
	"sync"
)

// Names of Factorio 2.0's prototypes, base game and Space Age, read from the
// tables in data/ (each says where its lists came from). The simulation's
// prototype bundle decides what a paste builds; these only word its refusals,
// so a player learns whether a name is a prototype Starlane does not simulate,
// one of the expansion's, or no Factorio prototype at all (a mod's, or a typo).

//go:embed data/space-age-2.0.json
var spaceAgeData []byte

//go:embed data/base-2.0.json
var baseData []byte

// SpaceAgeTile is the prototype family of tiles, which the name tables list
// besides RenameEntity, RenameItem and RenameRecipe.
const SpaceAgeTile RenameKind = "tile"

// nameTable is one embedded list of prototype names per family, parsed once;
// section, when set, names the object of the file that holds the lists.
type nameTable struct {
	once    sync.Once
	what    string
	data    []byte
	section string
	names   map[RenameKind]map[string]bool
}

var (
	spaceAgeTable = &nameTable{what: "Space Age", data: spaceAgeData}
	baseTable     = &nameTable{what: "base game", data: baseData}
	removedTable  = &nameTable{what: "removed base game", data: baseData, section: "removed"}
)

func (t *nameTable) has(kind RenameKind, name string) bool {
	t.once.Do(func() {
		data := t.data
		if t.section != "" {
			var sections map[string]json.RawMessage
			if err := json.Unmarshal(data, &sections); err != nil {
				panic("blueprint: embedded " + t.what + " table invalid: " + err.Error())
			}
			data = sections[t.section]
		}
		var f struct {
			Entities []string `json:"entities"`
			Tiles    []string `json:"tiles"`
			Items    []string `json:"items"`
			Recipes  []string `json:"recipes"`
		}
		if err := json.Unmarshal(data, &f); err != nil {
			panic("blueprint: embedded " + t.what + " table invalid: " + err.Error())
		}
		t.names = map[RenameKind]map[string]bool{}
		for k, names := range map[RenameKind][]string{RenameEntity: f.Entities, SpaceAgeTile: f.Tiles, RenameItem: f.Items, RenameRecipe: f.Recipes} {
			t.names[k] = map[string]bool{}
			for _, n := range names {
				t.names[k][n] = true
			}
		}
	})
	return t.names[kind][name]
}

// SpaceAge reports whether Space Age adds a prototype of kind (entity, tile, item
// or recipe) named name.
func SpaceAge(kind RenameKind, name string) bool { return spaceAgeTable.has(kind, name) }

// BaseGame reports whether Factorio 2.0's base game has a prototype of kind
// (entity, tile, item or recipe) named name.
func BaseGame(kind RenameKind, name string) bool { return baseTable.has(kind, name) }

// RemovedIn20 reports whether a prototype of kind named name was in Factorio
// 1.1's base game and 2.0 has it no more, under that name or another (the
// rocket control unit, the filter inserters' recipes).
func RemovedIn20(kind RenameKind, name string) bool { return removedTable.has(kind, name) }
