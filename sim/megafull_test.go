package sim

import (
	"testing"
)

func TestMegabaseFullCellSizing(t *testing.T) {
	sz, err := sizeFullCell(DefaultBundle(), fullPacksPerSec*1000/fullCells)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cell: %v, %d labs", sz.rows, sz.labs)
}

func TestMegabaseFullOneCell(t *testing.T) {
	b := DefaultBundle()
	s, err := genMegabaseFullCells(b, 1, "", 1, fullPacksPerSec*1000/fullCells)
	if err != nil {
		t.Fatal(err)
	}
	s.prepare()
	t.Logf("entities %d nets %d", s.EntityCount(), len(s.nets))
	for m := 1; m <= 12; m++ {
		s.Run(3600)
		p := s.Production()
		t.Logf("minute %d: SPM %.1f %v prod %v", m, p.SPM, p.SPMByPack, p.ProducedPerMinute)
	}
}
