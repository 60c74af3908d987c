package blueprint

import (
	_ "embed"
	"encoding/json"
	"sync"
)

// Names Factorio's Space Age expansion adds. Starlane simulates the base game
// without it, so a blueprint made with Space Age names prototypes the simulation
// will never have; data/space-age-2.0.json lists them (with where each list came
// from) so that a refusal can say why instead of calling the name unknown.

//go:embed data/space-age-2.0.json
var spaceAgeData []byte

// The prototype families the Space Age table lists, besides RenameEntity,
// RenameItem and RenameRecipe.
const SpaceAgeTile RenameKind = "tile"

var (
	spaceAgeOnce  sync.Once
	spaceAgeNames map[RenameKind]map[string]bool
)

// SpaceAge reports whether Space Age adds a prototype of kind (entity, tile, item
// or recipe) named name.
func SpaceAge(kind RenameKind, name string) bool {
	spaceAgeOnce.Do(func() {
		var f struct {
			Entities []string `json:"entities"`
			Tiles    []string `json:"tiles"`
			Items    []string `json:"items"`
			Recipes  []string `json:"recipes"`
		}
		if err := json.Unmarshal(spaceAgeData, &f); err != nil {
			panic("blueprint: embedded Space Age table invalid: " + err.Error())
		}
		spaceAgeNames = map[RenameKind]map[string]bool{}
		for k, names := range map[RenameKind][]string{RenameEntity: f.Entities, SpaceAgeTile: f.Tiles, RenameItem: f.Items, RenameRecipe: f.Recipes} {
			spaceAgeNames[k] = map[string]bool{}
			for _, n := range names {
				spaceAgeNames[k][n] = true
			}
		}
	})
	return spaceAgeNames[kind][name]
}
