package megabase

import (
	"testing"

	"github.com/starlane/starlane/sim"
)

// The frame line stops when nothing takes its frames and starts again when something
// does: with belt FO cut east of the frame assemblers for 25 game minutes, frames,
// electric engines, batteries, lubricant and acid back up until nothing is made
// (minutes 20 to 25); with it back, the line makes frames at its full rate again
// (minutes 5 to 10 after): every fluid has a consumer, so none holds the refinery once
// the frames leave. (The solid fuel the boilers burn is the one by-product.)
func TestMegabaseFullFrameLineRestartsAfterBackingUp(t *testing.T) {
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	_, s := longCell(t)
	const oy = 30 // cell 0
	// FO's first tile east of the last frame assembler's output (the belt east of it,
	// some 1,900 tiles to UL's head, holds some 7,000 frames).
	var last int32
	s.Entities(func(e sim.EntityInfo) bool {
		if e.Recipe == "flying-robot-frame" && e.Y < oy+fullCellPitch/2 {
			last = max(last, e.X)
		}
		return true
	})
	fo, ok := s.Entity(s.EntityAt(last+3, oy+frFO))
	if !ok || fo.Name != fullBelt || fo.Dir != sim.East {
		t.Fatalf("no belt FO east of the last frame assembler (x = %d): %+v", last, fo)
	}
	s.Run(10 * 3600)
	made := func(minutes int) (frames, lube float64) {
		return madeOver(s, minutes, "flying-robot-frame", "lubricant")
	}
	steady, _ := made(5)
	if _, err := s.Remove(fo.ID); err != nil {
		t.Fatal(err)
	}
	s.Run(20 * 3600) // the belts, machines and pipes between fill first
	stopped, stoppedLube := made(5)
	mustBuild(t, s, sim.BuildSpec{Name: fullBelt, X: fo.X, Y: fo.Y, Dir: sim.East})
	s.Run(5 * 3600)
	again, againLube := made(5)
	t.Logf("frames a second: %.2f before, %.2f (lubricant %.1f) with FO cut, %.2f (lubricant %.1f) once it is back",
		steady, stopped, stoppedLube, again, againLube)
	if stopped > 0.01 || stoppedLube > 0.1 {
		t.Errorf("with nothing taking frames the line still made %.2f frames and %.1f lubricant a second; it should have backed up", stopped, stoppedLube)
	}
	if again < steady*0.95 {
		t.Errorf("the line makes %.2f frames a second once its frames leave again, %.2f before it backed up", again, steady)
	}
}
