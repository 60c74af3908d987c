package megabase

import (
	"slices"
	"testing"

	"github.com/starlane/starlane/sim"
)

// One cell's silo launches with rocket fuel from its rocket-fuel line: no chest holds
// rocket fuel, and for 15 game minutes from fullWarmMinutes (the silo launches from
// about minute 18, once its satellite assembler has made a satellite) the silo uses at
// least the cell's share (the labs' rate) and launches as fast as the labs use space
// science, window by window,
// and the labs stay full; over the whole run the line makes rocket fuel as fast as the
// silo uses it and its solid fuel is used as fast as it is made (every oil product
// goes somewhere: the line never stops on a backed-up fluid). Window by window the two
// may differ: the silo, sized above the labs' rate, backs up once belt D's space
// science lane is full (from about minute 30), and the line with it.
func TestMegabaseFullRocketFuelLineFeedsTheSilo(t *testing.T) {
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	b, s := longCell(t)
	if _, items := fullInfinityChests(s); slices.Contains(items, "rocket-fuel") {
		t.Fatalf("infinity chests still hold rocket fuel: %v", items)
	}
	need, err := fullSiloRate(b, fullCellMilli*100/fullMarginPct, "rocket-fuel")
	if err != nil {
		t.Fatal(err)
	}
	needPerSec, _ := need.Float64()
	s.Run(fullWarmMinutes * 3600)               // the silo launches from about minute 18
	const window, end = 5, fullWarmMinutes + 15 // game minutes
	var made, used, sfMade, sfUsed float64
	for m := fullWarmMinutes; m < end; m += window {
		before := s.Production()
		s.Run(window * 3600)
		after := s.Production()
		rate := func(item string, p map[string]int64, q map[string]int64) float64 {
			return float64(q[item]-p[item]) / (window * 60)
		}
		rf, rfUsed := rate("rocket-fuel", before.Produced, after.Produced), rate("rocket-fuel", before.Consumed, after.Consumed)
		sf, sfU := rate("solid-fuel", before.Produced, after.Produced), rate("solid-fuel", before.Consumed, after.Consumed)
		made, used, sfMade, sfUsed = made+rf, used+rfUsed, sfMade+sf, sfUsed+sfU
		t.Logf("minutes %d to %d: rocket fuel made %.2f/s, used %.2f/s (the cell's share %.2f); solid fuel made %.1f/s, used %.1f/s; %.0f SPM",
			m, m+window, rf, rfUsed, needPerSec, sf, sfU, after.SPM)
		if rfUsed < needPerSec*0.95 {
			t.Errorf("minutes %d to %d: the silo used %.2f rocket fuel a second, want at least %.2f", m, m+window, rfUsed, needPerSec*0.95)
		}
		// The silo launches: each rocket's 1,000 space science packs keep up with the
		// labs (a window may hold one launch less than they used).
		space, spaceUsed := rate("space-science-pack", before.Produced, after.Produced), rate("space-science-pack", before.Consumed, after.Consumed)
		if space <= 0 || space+1000.0/(window*60) < spaceUsed {
			t.Errorf("minutes %d to %d: space science made %.2f/s, used %.2f/s", m, m+window, space, spaceUsed)
		}
		if min := float64(fullCellMilli) * 60 / 1000; after.SPM < min {
			t.Errorf("minute %d: %.0f SPM, want at least %.0f", m+window, after.SPM, min)
		}
	}
	// The sums of the windows' rates (the frame line's solid fuel, made for its
	// boilers and burnt by them, is in both).
	const windows = (end - fullWarmMinutes) / window
	// The first window's silo catches up on the belt's stock (it launched from about
	// minute 18), so made trails used a little over the run.
	if made < used*0.97 {
		t.Errorf("minutes %d to %d: rocket fuel made %.2f a second, used %.2f; want made ≥ used", fullWarmMinutes, end, made/windows, used/windows)
	}
	if sfMade <= 0 || sfUsed < sfMade*0.98 || sfUsed > sfMade*1.02 {
		t.Errorf("minutes %d to %d: solid fuel made %.1f a second, used %.1f; the line must use what it makes", fullWarmMinutes, end, sfMade/windows, sfUsed/windows)
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

// The rocket-fuel line stops when the silo and the satellite assembler stop taking
// rocket fuel and starts again when they take it again: with the three inserters that
// take rocket fuel from its belt (the silo's two and the satellite assembler's) gone
// for ten game minutes, rocket fuel, solid fuel and the refineries' three fluids back
// up until nothing is made (but the frame line's solid fuel for its boilers); with
// them back, the line makes rocket fuel at its full rate again (minutes 5 to 10 after;
// a backed-up fluid never holds it).
func TestMegabaseFullRocketFuelLineRestartsAfterBackingUp(t *testing.T) {
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	_, s := longCell(t)
	sx, sy := siloAt(t), int32(30+siloTop) // cell 0: oy 30
	takers := []sim.BuildSpec{
		{Name: fullInInserter, X: sx - 1, Y: sy + 1, Dir: sim.West},
		{Name: fullInInserter, X: sx - 1, Y: sy + 5, Dir: sim.West},
		{Name: fullLongInserter, X: sx + 11, Y: int32(30 + siloSat - 1), Dir: sim.North},
	}
	var ids []sim.EntityID
	for _, sp := range takers {
		id := s.EntityAt(sp.X, sp.Y)
		if e, ok := s.Entity(id); !ok || e.Name != sp.Name || e.Dir != sp.Dir {
			t.Fatalf("no %s takes rocket fuel at (%d, %d): %+v", sp.Name, sp.X, sp.Y, e)
		}
		ids = append(ids, id)
	}
	s.Run(19 * 3600) // the silo takes rocket fuel steadily once it has its first satellite, at about minute 18
	made := func(minutes int) (rocket, solid float64) { return madeOver(s, minutes, "rocket-fuel", "solid-fuel") }
	steady, _ := made(5)
	for _, id := range ids {
		if _, err := s.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	s.Run(5 * 3600)
	stopped, stoppedSolid := made(5)
	for _, sp := range takers {
		mustBuild(t, s, sp)
	}
	s.Run(5 * 3600)
	again, againSolid := made(5)
	t.Logf("rocket fuel a second: %.2f before, %.2f (solid fuel %.1f) with the inserters gone, %.2f (solid fuel %.1f) once they are back",
		steady, stopped, stoppedSolid, again, againSolid)
	// The frame line makes solid fuel for its boilers all along (megaframe.go).
	fp, err := planFullFrames(sim.DefaultBundle(), fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	// The frame line runs a little above its plan (its frames at 103 %), its solid
	// fuel with it.
	if frames := fp.Flows["solid-fuel"]; stopped > 0.01 || stoppedSolid > frames*1.25+0.1 {
		t.Errorf("with nothing taking rocket fuel the line still made %.2f rocket fuel and %.1f solid fuel a second (the frame line %.2f); it should have backed up", stopped, stoppedSolid, frames)
	}
	if again < steady*0.95 {
		t.Errorf("the line makes %.2f rocket fuel a second once the silo and the satellite assembler take it again, %.2f before it backed up", again, steady)
	}
}

// siloAt is the west edge of cell 0's silo (ox 16).
func siloAt(t *testing.T) int32 {
	t.Helper()
	sz, err := sizeFullCell(sim.DefaultBundle(), fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	return fullSiloWest(&sz, 16)
}
