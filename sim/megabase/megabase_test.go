package megabase

import (
	"github.com/starlane/starlane/sim"

	"testing"
)

func TestMegabaseCellIsPoweredAndResearches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cell for ten game minutes")
	}
	s, err := genMegabaseCells(sim.DefaultBundle(), 1, "", 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	s.Step(nil) // a tick builds the electric networks
	if n := unpowered(s, sim.KindAssembler, sim.KindFurnace, sim.KindInserter, sim.KindDrill, sim.KindLab); n > 0 || s.Power().Networks != 1 {
		t.Fatalf("%d unpowered entities, %d networks", n, s.Power().Networks)
	}
	t.Logf("cell: %d entities", s.EntityCount())
	for m := 1; m <= 10; m++ {
		s.Run(3600)
		p := s.Production()
		t.Logf("minute %d: SPM %.1f %v", m, p.SPM, p.SPMByPack)
	}
	p := s.Production()
	if p.SPM < 95 || p.SPM > 101 {
		t.Errorf("a cell researches at %.1f SPM, want 100 (production per minute %v)", p.SPM, p.ProducedPerMinute)
	}
}

func TestMegabaseCellSolarLastsTheNight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cell for a whole game day")
	}
	s, err := genMegabaseCells(sim.DefaultBundle(), 1, "", 1, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	s.Run(10 * 3600)
	day := int(s.Bundle().DayTicks)
	lowest, lowSat := 1e9, 1.0
	for i := 0; i < day; i += 600 {
		s.Run(600)
		if spm := s.Production().SPM; spm < lowest {
			lowest = spm
		}
		for _, sat := range s.Power().Satisfaction {
			lowSat = min(lowSat, sat)
		}
	}
	t.Logf("lowest SPM over a day %.1f, lowest satisfaction %.3f, entities %d", lowest, lowSat, s.EntityCount())
	if lowest < 95 {
		t.Errorf("SPM dropped to %.1f during the day/night cycle", lowest)
	}
}
