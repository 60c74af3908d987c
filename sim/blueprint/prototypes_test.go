package blueprint

import "testing"

// The Space Age table knows the expansion's prototypes by family and none of the
// base game's.
func TestSpaceAgeNames(t *testing.T) {
	for _, tc := range []struct {
		kind RenameKind
		name string
		want bool
	}{
		{RenameEntity, "foundry", true},
		{RenameEntity, "stack-inserter", true},
		{RenameEntity, "turbo-transport-belt", true},
		{SpaceAgeTile, "foundation", true},
		{RenameItem, "tungsten-carbide", true},
		{RenameRecipe, "tungsten-carbide", true},
		{RenameRecipe, "foundry", true},
		{RenameEntity, "tungsten-carbide", false},
		{RenameEntity, "assembling-machine-3", false},
		{RenameEntity, "bulk-inserter", false},
		{RenameItem, "processing-unit", false},
		{RenameRecipe, "advanced-oil-processing", false},
		// The expansion's other two mods: elevated rails and quality.
		{RenameEntity, "elevated-straight-rail", true},
		{RenameEntity, "rail-ramp", true},
		{RenameEntity, "rail-support", true},
		{RenameEntity, "recycler", true},
		{RenameItem, "quality-module-3", true},
		{RenameRecipe, "quality-module", true},
		{RenameEntity, "straight-rail", false},
	} {
		if got := SpaceAge(tc.kind, tc.name); got != tc.want {
			t.Errorf("SpaceAge(%s, %s) = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}

// The base-game table knows vanilla prototypes, including those Starlane does
// not simulate, and neither the expansion's nor mods'.
func TestBaseGameNames(t *testing.T) {
	for _, tc := range []struct {
		kind RenameKind
		name string
		want bool
	}{
		{RenameEntity, "radar", true},
		{RenameEntity, "beacon", true},
		{RenameEntity, "straight-rail", true},
		{RenameEntity, "legacy-curved-rail", true},
		{RenameEntity, "selector-combinator", true},
		{SpaceAgeTile, "refined-concrete", true},
		{RenameItem, "speed-module-3", true},
		{RenameRecipe, "medium-electric-pole", true},
		{RenameEntity, "foundry", false},
		{RenameEntity, "stack-inserter", false},
		{RenameEntity, "kr-advanced-assembling-machine", false},
		{RenameEntity, "iron-gear-wheel", false},
		{RenameRecipe, "parameter-0", false},
	} {
		if got := BaseGame(tc.kind, tc.name); got != tc.want {
			t.Errorf("BaseGame(%s, %s) = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}

// The removed table knows the 1.1 names 2.0 dropped, and no 2.0 name.
func TestRemovedIn20Names(t *testing.T) {
	for _, tc := range []struct {
		kind RenameKind
		name string
		want bool
	}{
		{RenameRecipe, "rocket-control-unit", true},
		{RenameItem, "rocket-control-unit", true},
		{RenameRecipe, "filter-inserter", true},
		{RenameRecipe, "fast-inserter", false},
		{RenameItem, "processing-unit", false},
		{RenameEntity, "filter-inserter", false}, // renamed to fast-inserter, not removed
	} {
		if got := RemovedIn20(tc.kind, tc.name); got != tc.want {
			t.Errorf("RemovedIn20(%s, %s) = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}
