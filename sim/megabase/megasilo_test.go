package megabase

import (
	"slices"
	"testing"

	"github.com/starlane/starlane/sim"
)

// checkSiloFedFromBelts checks, on a cell run to the labs' full rate, that its silo
// launches rockets with satellites made in its satellite assembler and takes its low
// density structures, processing units and rocket fuel from belts: no infinity chest
// holds satellites or rocket fuel; every inserter that puts items into the silo picks
// them up from a belt or from the satellite assembler; the silo has launched, each
// launch's satellite made in the cell. Belts SA and SB carry one item a lane (solar
// panels and processing units on their north lanes, accumulators and radars on their
// south lanes) and belt D carries the space science on its north lane to the labs.
// TestMegabaseFullCellMakesAndUsesAllSevenPacks calls it on its cell: the first
// satellite is made at about minute 18 (its parts come some 2,900 tiles on SA and SB),
// so a run of its own would simulate a cell as long again.
// dLanes is what belt D carried east of the silo, sampled over the minutes before.
func checkSiloFedFromBelts(t *testing.T, b *sim.Bundle, s *sim.Surface, dLanes map[string]map[uint8]int) {
	if _, items := fullInfinityChests(s); slices.Contains(items, "satellite") || slices.Contains(items, "rocket-fuel") {
		t.Fatalf("infinity chests hold %v", items)
	}
	const ox, oy = 16, 30
	sz, err := sizeFullCell(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	sx := fullSiloWest(&sz, ox)
	var silo, sat sim.EntityInfo
	s.Entities(func(e sim.EntityInfo) bool {
		switch {
		case e.Kind == sim.KindRocketSilo:
			if silo.ID != 0 {
				t.Fatalf("two silos in a cell: %+v and %+v", silo, e)
			}
			silo = e
		case e.Recipe == "satellite":
			if sat.ID != 0 {
				t.Fatalf("two satellite assemblers in a cell: %+v and %+v", sat, e)
			}
			sat = e
		}
		return true
	})
	if silo.X != sx || silo.Y != oy+siloTop || sat.ID == 0 {
		t.Fatalf("silo %+v, want it at (%d, %d); satellite assembler %+v", silo, sx, oy+siloTop, sat)
	}
	// The inserters that drop into the silo, by what they pick up from.
	from := map[string]int{}
	inside := func(e sim.EntityInfo, x, y int32) bool {
		return x >= e.X && x < e.X+e.W && y >= e.Y && y < e.Y+e.H
	}
	s.Entities(func(e sim.EntityInfo) bool {
		if e.Kind != sim.KindInserter {
			return true
		}
		reach := int32(1)
		if e.Name == fullLongInserter {
			reach = 2
		}
		dx, dy := dirVec(e.Dir)
		px, py := e.X+dx*reach, e.Y+dy*reach
		if !inside(silo, e.X-dx*reach, e.Y-dy*reach) || inside(silo, px, py) {
			return true
		}
		src, _ := s.Entity(s.EntityAt(px, py))
		switch {
		case src.ID == sat.ID:
			from["satellite assembler"]++
		case src.Kind == sim.KindBelt || src.Kind == sim.KindUnderground:
			from["belt"]++
		default:
			from[src.Name]++
		}
		return true
	})
	t.Logf("inserters into the silo, by what they take from: %v", from)
	if len(from) != 2 || from["satellite assembler"] != 1 || from["belt"] < 3 {
		t.Errorf("inserters into the silo take from %v; want one from the satellite assembler, the rest from belts", from)
	}

	end := fullLabsEnd(&sz, ox)
	p := s.Production()
	launched := p.Consumed["satellite"]
	t.Logf("minute %d: %d satellites made, %d launched, %d space science made; created by chests: %v",
		s.Tick()/3600, p.Produced["satellite"], launched, p.Produced["space-science-pack"], p.Created)
	if launched < 2 || p.Produced["satellite"] < launched || p.Created["satellite"] != 0 {
		t.Errorf("%d satellites made, %d launched, %d from chests; want at least two launches, each with a satellite made in the cell",
			p.Produced["satellite"], launched, p.Created["satellite"])
	}
	if p.Created["rocket-fuel"] != 0 || p.Produced["space-science-pack"] != launched*1000 {
		t.Errorf("%d rocket fuel from chests, %d space science made for %d launches", p.Created["rocket-fuel"], p.Produced["space-science-pack"], launched)
	}

	// SA and SB east of their jogs: one item a lane (lane 1 is the north lane of a
	// belt going west). D between the silo and the turn column: space science on its
	// north lane (lane 0 of a belt going east), the utility packs only on its south
	// lane.
	for _, c := range []struct {
		name string
		row  int32
		want map[string]uint8
	}{
		{"SA", utilSA, map[string]uint8{"solar-panel": 1, "accumulator": 0}},
		{"SB", utilSB, map[string]uint8{"processing-unit": 1, "radar": 0}},
	} {
		lanes := beltLanes(s, oy+c.row, sx+18, end, sim.West)
		t.Logf("belt %s: %v", c.name, lanes)
		checkLanes(t, c.name, lanes, c.want, true)
	}
	t.Logf("belt D east of the silo, sampled: %v", dLanes)
	if dLanes["space-science-pack"][0] == 0 {
		t.Errorf("belt D carries %v; want space-science-pack on lane 0", dLanes)
	}
	checkLanes(t, "D", dLanes, map[string]uint8{"space-science-pack": 0, "utility-science-pack": 1}, false)
}

// dirVec is the tile offset a direction points to.
func dirVec(d sim.Dir) (int32, int32) {
	switch d {
	case sim.East:
		return 1, 0
	case sim.South:
		return 0, 1
	case sim.West:
		return -1, 0
	}
	return 0, -1
}

// checkLanes fails unless a belt carries only items of want, each on its lane only,
// and, if all, every item of want.
func checkLanes(t *testing.T, name string, lanes map[string]map[uint8]int, want map[string]uint8, all bool) {
	t.Helper()
	for item, lane := range want {
		if all && lanes[item][lane] == 0 {
			t.Errorf("belt %s carries %v; want %s on lane %d", name, lanes, item, lane)
		}
	}
	for item, on := range lanes {
		if lane, ok := want[item]; !ok || len(on) != 1 || on[lane] == 0 {
			t.Errorf("belt %s carries %v; want only %v (item: lane)", name, lanes, want)
			return
		}
	}
}
