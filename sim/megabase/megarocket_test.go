package megabase

import (
	"slices"
	"testing"

	"github.com/starlane/starlane/sim"
)

// One cell's silo launches with rocket fuel from its rocket-fuel line: no chest holds
// rocket fuel, and from minute 10 to 40, window by window, the line makes rocket fuel
// at least as fast as the silo uses it, the silo uses at least the cell's share (the
// labs' rate) and launches as fast as the labs use space science, the line's solid
// fuel is used as fast as it is made (every oil product goes somewhere: the line never
// stops on a backed-up fluid) and the labs stay full.
func TestMegabaseFullRocketFuelLineFeedsTheSilo(t *testing.T) {
	b, s := longCell(t)
	if _, items := fullInfinityChests(s); slices.Contains(items, "rocket-fuel") {
		t.Fatalf("infinity chests still hold rocket fuel: %v", items)
	}
	need, err := fullSiloRate(b, fullCellMilli*100/fullMarginPct, "rocket-fuel")
	if err != nil {
		t.Fatal(err)
	}
	needPerSec, _ := need.Float64()
	s.Run(10 * 3600)
	const window = 5 // game minutes
	for m := 10; m < 40; m += window {
		before := s.Production()
		s.Run(window * 3600)
		after := s.Production()
		rate := func(item string, p map[string]int64, q map[string]int64) float64 {
			return float64(q[item]-p[item]) / (window * 60)
		}
		made, used := rate("rocket-fuel", before.Produced, after.Produced), rate("rocket-fuel", before.Consumed, after.Consumed)
		sfMade, sfUsed := rate("solid-fuel", before.Produced, after.Produced), rate("solid-fuel", before.Consumed, after.Consumed)
		t.Logf("minutes %d to %d: rocket fuel made %.2f/s, used %.2f/s (the cell's share %.2f); solid fuel made %.1f/s, used %.1f/s; %.0f SPM",
			m, m+window, made, used, needPerSec, sfMade, sfUsed, after.SPM)
		if made < used*0.98 || used < needPerSec*0.95 {
			t.Errorf("minutes %d to %d: rocket fuel made %.2f/s, used %.2f/s; want made ≥ used ≥ %.2f", m, m+window, made, used, needPerSec*0.95)
		}
		if sfMade <= 0 || sfUsed < sfMade*0.98 || sfUsed > sfMade*1.02 {
			t.Errorf("minutes %d to %d: solid fuel made %.1f/s, used %.1f/s; the line must use what it makes", m, m+window, sfMade, sfUsed)
		}
		// The silo launches: each rocket's 1,000 space science packs keep up with the
		// labs (a window may hold one launch less than they used).
		space, spaceUsed := rate("space-science-pack", before.Produced, after.Produced), rate("space-science-pack", before.Consumed, after.Consumed)
		if space <= 0 || space+1000.0/(window*60) < spaceUsed {
			t.Errorf("minutes %d to %d: space science made %.2f/s, used %.2f/s", m, m+window, space, spaceUsed)
		}
		if min := float64(fullCellMilli) * 60 / 1000; m >= 15 && after.SPM < min {
			t.Errorf("minute %d: %.0f SPM, want at least %.0f", m+window, after.SPM, min)
		}
	}
}

// longCell generates one cell of megabase-full for a test that runs it for many game
// minutes (skipped in short mode).
func longCell(t *testing.T) (*sim.Bundle, *sim.Surface) {
	t.Helper()
	if testing.Short() {
		t.Skip("simulates a cell for 30 or more game minutes")
	}
	b := sim.DefaultBundle()
	s, err := genMegabaseFullCells(b, 1, "", 1, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	return b, s
}

// The rocket-fuel line stops when the silo stops taking rocket fuel and starts again
// when it takes it again: with the silo's rocket-fuel inserter gone for ten game
// minutes, rocket fuel, solid fuel and the refineries' three fluids back up until
// nothing is made; with it back, the line makes rocket fuel at its full rate again
// (minutes 5 to 10 after; a backed-up fluid never holds it).
func TestMegabaseFullRocketFuelLineRestartsAfterBackingUp(t *testing.T) {
	_, s := longCell(t)
	sx, sy := int32(16+fullSiloX), int32(30+22) // cell 0: ox 16, oy 30
	ins := s.EntityAt(sx+8, sy+9)
	if e, ok := s.Entity(ins); !ok || e.Name != fullInInserter {
		t.Fatalf("no %s takes rocket fuel into the silo at (%d, %d): %+v", fullInInserter, sx+8, sy+9, e)
	}
	s.Run(10 * 3600)
	made := func(minutes int) (rocket, solid float64) {
		before := s.Production()
		s.Run(minutes * 3600)
		after := s.Production()
		secs := float64(minutes * 60)
		return float64(after.Produced["rocket-fuel"]-before.Produced["rocket-fuel"]) / secs,
			float64(after.Produced["solid-fuel"]-before.Produced["solid-fuel"]) / secs
	}
	steady, _ := made(5)
	if _, err := s.Remove(ins); err != nil {
		t.Fatal(err)
	}
	s.Run(5 * 3600)
	stopped, stoppedSolid := made(5)
	mustBuild(t, s, sim.BuildSpec{Name: fullInInserter, X: sx + 8, Y: sy + 9, Dir: sim.South})
	s.Run(5 * 3600)
	again, againSolid := made(5)
	t.Logf("rocket fuel a second: %.2f before, %.2f (solid fuel %.1f) with the silo's inserter gone, %.2f (solid fuel %.1f) once it is back",
		steady, stopped, stoppedSolid, again, againSolid)
	if stopped > 0.01 || stoppedSolid > 0.1 {
		t.Errorf("with the silo taking no rocket fuel the line still made %.2f rocket fuel and %.1f solid fuel a second; it should have backed up", stopped, stoppedSolid)
	}
	if again < steady*0.95 {
		t.Errorf("the line makes %.2f rocket fuel a second once the silo takes it again, %.2f before it backed up", again, steady)
	}
}
