package megabase

import (
	"fmt"
	"hash/fnv"
	"testing"

	"github.com/starlane/starlane/sim"
)

// unpowered counts the entities of the given kinds that no electric pole supplies: an
// entity draws power when its footprint overlaps a pole's supply square.
func unpowered(s *sim.Surface, kinds ...sim.Kind) int {
	var poles []sim.PoleInfo
	s.PowerPoles(func(p sim.PoleInfo) bool {
		poles = append(poles, p)
		return true
	})
	want := map[sim.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	n := 0
	s.Entities(func(e sim.EntityInfo) bool {
		if !want[e.Kind] {
			return true
		}
		x0, y0 := e.X*sim.TileUnits, e.Y*sim.TileUnits
		x1, y1 := x0+e.W*sim.TileUnits, y0+e.H*sim.TileUnits
		for _, p := range poles {
			if p.Network >= 0 && p.CX-p.Supply < x1 && p.CX+p.Supply > x0 && p.CY-p.Supply < y1 && p.CY+p.Supply > y0 {
				return true
			}
		}
		n++
		return true
	})
	return n
}

// digest condenses a hash sequence into one string to compare across processes.
func digest(hs []uint64) string {
	h := fnv.New64a()
	for _, v := range hs {
		fmt.Fprintf(h, "%x,", v)
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func mustBuild(t testing.TB, s *sim.Surface, sp sim.BuildSpec) sim.EntityID {
	t.Helper()
	id, err := s.Build(sp)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// beaconedAssembler builds an assembling machine 3 with mods, fed from infinity chests
// holding feed and emptied into voiding chests, reached by beacons beacons holding
// beaconMods, powered by an electric-energy-interface.
func beaconedAssembler(t *testing.T, recipe string, mods []string, beacons int, beaconMods []string, feed []sim.InfinityFilter) (*sim.Surface, sim.EntityID) {
	t.Helper()
	s, err := sim.NewSurface(sim.DefaultBundle(), sim.Config{Name: "test", Planet: "nauvis", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	mustBuild(t, s, sim.BuildSpec{Name: "substation", X: 1, Y: -6})
	mustBuild(t, s, sim.BuildSpec{Name: "electric-energy-interface", X: 3, Y: -6})
	am := mustBuild(t, s, sim.BuildSpec{Name: "assembling-machine-3", X: 0, Y: 0, Recipe: recipe, Modules: mods})
	for k := int32(0); k < 2; k++ {
		mustBuild(t, s, sim.BuildSpec{Name: "infinity-chest", X: -2, Y: k, Infinity: &sim.InfinitySettings{Filters: feed}})
		mustBuild(t, s, sim.BuildSpec{Name: "fast-inserter", X: -1, Y: k, Dir: sim.West})
		mustBuild(t, s, sim.BuildSpec{Name: "fast-inserter", X: 3, Y: k, Dir: sim.West})
		mustBuild(t, s, sim.BuildSpec{Name: "infinity-chest", X: 4, Y: k, Infinity: &sim.InfinitySettings{RemoveUnfiltered: true}})
	}
	xs := []int32{-4, -1, 2, 5}
	for i := 0; i < beacons; i++ {
		y := int32(-3)
		if i >= 4 {
			y = 3
		}
		mustBuild(t, s, sim.BuildSpec{Name: "beacon", X: xs[i%4], Y: y, Modules: beaconMods})
	}
	return s, am
}

// madeOver runs s for minutes game minutes and returns how many of items a and b it
// made a second.
func madeOver(s *sim.Surface, minutes int, a, b string) (float64, float64) {
	before := s.Production()
	s.Run(minutes * 3600)
	after := s.Production()
	secs := float64(minutes * 60)
	return float64(after.Produced[a]-before.Produced[a]) / secs, float64(after.Produced[b]-before.Produced[b]) / secs
}

// beltLanes counts the items on the belts of row y from column x0 to x1 that face d,
// by item and lane (0: the belt's left lane).
func beltLanes(s *sim.Surface, y, x0, x1 int32, d sim.Dir) map[string]map[uint8]int {
	b := s.Bundle()
	lanes := map[string]map[uint8]int{}
	s.BeltItems(func(bi sim.BeltItem) bool {
		if bi.Y != y || bi.X < x0 || bi.X > x1 || bi.Dir != d {
			return true
		}
		name := b.Item(bi.Item).Name
		if lanes[name] == nil {
			lanes[name] = map[uint8]int{}
		}
		lanes[name][bi.Lane]++
		return true
	})
	return lanes
}
