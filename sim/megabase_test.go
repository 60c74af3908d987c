package sim

import (
	"testing"
)

func TestMegabaseCellIsPoweredAndResearches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cell for ten game minutes")
	}
	s, err := genMegabaseCells(DefaultBundle(), 1, "", 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	s.prepare()
	unpowered := 0
	for i := range s.crafters {
		if c := &s.crafters[i]; c.ent != 0 && c.net < 0 {
			unpowered++
		}
	}
	for i := range s.ins {
		if in := &s.ins[i]; in.ent != 0 && in.net < 0 {
			unpowered++
			e := s.ents[in.ent]
			t.Logf("unpowered inserter at %d,%d", e.x, e.y)
		}
	}
	for i := range s.drills {
		if d := &s.drills[i]; d.ent != 0 && d.net < 0 {
			unpowered++
		}
	}
	for i := range s.labs {
		if l := &s.labs[i]; l.ent != 0 && l.net < 0 {
			unpowered++
		}
	}
	if unpowered > 0 || len(s.nets) != 1 {
		t.Fatalf("%d unpowered entities, %d networks", unpowered, len(s.nets))
	}
	t.Logf("cell: %d entities", s.EntityCount())
	var demand int64
	for m := 1; m <= 10; m++ {
		for i := 0; i < 3600; i++ {
			s.Step(nil)
			demand += s.nets[0].lastDemand
		}
		p := s.Production()
		t.Logf("minute %d: SPM %.1f %v", m, p.SPM, p.SPMByPack)
	}
	t.Logf("average demand %.1f MW", float64(demand)/36000/1e6)
	p := s.Production()
	if p.SPM < 95 || p.SPM > 101 {
		t.Errorf("a cell researches at %.1f SPM, want 100 (production per minute %v)", p.SPM, p.ProducedPerMinute)
	}
}

func TestMegabaseCellSolarLastsTheNight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cell for a whole game day")
	}
	s, err := genMegabaseCells(DefaultBundle(), 1, "", 1, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	s.Run(10 * 3600)
	day := int(s.b.DayTicks)
	lowest, lowSat := 1e9, int32(SatOne)
	for i := 0; i < day; i += 600 {
		s.Run(600)
		if spm := s.Production().SPM; spm < lowest {
			lowest = spm
		}
		for n := range s.nets {
			lowSat = min(lowSat, s.nets[n].sat)
		}
	}
	t.Logf("lowest SPM over a day %.1f, lowest satisfaction %.3f, entities %d", lowest, float64(lowSat)/SatOne, s.EntityCount())
	if lowest < 95 {
		t.Errorf("SPM dropped to %.1f during the day/night cycle", lowest)
	}
}
