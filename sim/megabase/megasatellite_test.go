package megabase

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/starlane/starlane/sim"
)

// fullSatMinPct is the share of its planned rate the satellite-parts line makes, at
// least, of each item over the measured minutes (solar panels 103 %, accumulators
// 102 %, radars 118 % at minutes 10 to 15; sim/megabase/DESIGN.md).
const fullSatMinPct = 95

// The satellite-parts line makes a cell's satellites' solar panels, accumulators and
// radars from ore, crude oil and water at the planned rates (minutes 10 to 15 of a
// one-cell run), and puts each on a lane of its own between its outputs and the labs'
// east end: solar panels on belt SA's north lane, accumulators on its south lane,
// radars on belt SB's south lane.
func TestMegabaseFullSatellitePartsLineMakesItsItems(t *testing.T) {
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	b, s := longCell(t)
	const ox, oy = 16, 30 // cell 0
	sz, err := sizeFullCell(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	west := fullLabsEnd(&sz, ox) + 1
	// SA's and SB's head: their east end, at the line's outputs.
	var head int32
	s.Entities(func(e sim.EntityInfo) bool {
		if e.Name == fullBelt && e.Y == oy+utilSA && e.X >= west {
			head = max(head, e.X)
		}
		return true
	})
	if head == 0 {
		t.Fatal("no belt SA east of the labs")
	}
	s.Run(10 * 3600)
	before := s.Production()
	s.Run(5 * 3600)
	after := s.Production()
	for _, it := range fullSatItems {
		r, err := fullSatelliteRate(b, fullCellMilli, it)
		if err != nil {
			t.Fatal(err)
		}
		planned, _ := r.Float64()
		made := float64(after.Produced[it]-before.Produced[it]) / 300
		t.Logf("%s: %.4f a second made at minutes 10 to 15, planned %.4f (%.0f %%)", it, made, planned, 100*made/planned)
		if made < planned*fullSatMinPct/100 {
			t.Errorf("the line makes %.4f %s a second, less than %d %% of the planned %.4f", made, it, fullSatMinPct, planned)
		}
	}
	// Each item on its lane only, from the outputs to the labs' east end.
	sa, sb := beltLanes(s, oy+utilSA, west, head, sim.West), beltLanes(s, oy+utilSB, west, head, sim.West)
	t.Logf("belt SA: %v; belt SB: %v", sa, sb)
	only := func(belt string, lanes map[string]map[uint8]int, want map[string]uint8) {
		t.Helper()
		got := map[string][]uint8{}
		for name, l := range lanes {
			for lane := range l {
				got[name] = append(got[name], lane)
			}
		}
		w := map[string][]uint8{}
		for name, lane := range want {
			w[name] = []uint8{lane}
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("items by lane on belt %s (lane 0 south, 1 north; -want +got):\n%s", belt, diff)
		}
	}
	only("SA", sa, map[string]uint8{"solar-panel": 1, "accumulator": 0})
	// The second processing-unit line, east of this one, sends its units west on SB's
	// north lane through this line's columns.
	only("SB", sb, map[string]uint8{"radar": 0, "processing-unit": 1})
}
