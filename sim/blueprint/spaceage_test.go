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
	} {
		if got := SpaceAge(tc.kind, tc.name); got != tc.want {
			t.Errorf("SpaceAge(%s, %s) = %v, want %v", tc.kind, tc.name, got, tc.want)
		}
	}
}
