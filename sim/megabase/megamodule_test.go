package megabase

import (
	"testing"

	"github.com/starlane/starlane/sim"
)

// checkFMLanes checks that belt FM (row 3 of the first cell) carries productivity
// modules on one lane and electric furnaces on the other, and nothing else.
func checkFMLanes(t *testing.T, b *sim.Bundle, s *sim.Surface) {
	t.Helper()
	sz, err := sizeFullCell(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	const ox, oy = 16, 30
	xf := fullFMColumn(&sz, ox)
	lanes := map[string]map[uint8]int{}
	s.BeltItems(func(bi sim.BeltItem) bool {
		if bi.Y != oy+prodFM || bi.X < xf || bi.X >= fullTurnX(&sz, ox) { // FM ends west of T
			return true
		}
		name := b.Item(bi.Item).Name
		if lanes[name] == nil {
			lanes[name] = map[uint8]int{}
		}
		lanes[name][bi.Lane]++
		return true
	})
	t.Logf("belt FM: %v", lanes)
	mods, furn := lanes["productivity-module"], lanes["electric-furnace"]
	if len(lanes) != 2 || len(mods) != 1 || len(furn) != 1 {
		t.Fatalf("belt FM carries %v; want productivity modules on one lane and electric furnaces on the other", lanes)
	}
	for lane := range mods {
		if furn[lane] > 0 {
			t.Errorf("productivity modules and electric furnaces share lane %d of belt FM", lane)
		}
	}
}
