package fluid

import "testing"

func TestSegmentsSplitAndGatherConserve(t *testing.T) {
	// Nodes 0-1-2 in a row, 3-4 apart: two segments.
	vols := []Amount{100 * Unit, 100 * Unit, 25000 * Unit, 200 * Unit, 200 * Unit}
	g := NewGraph(vols)
	g.Connect(0, 1)
	g.Connect(2, 1)
	g.Connect(4, 3)
	segOf, segs := g.Segments()
	if len(segs) != 2 || segOf[2] != 0 || segOf[3] != 1 || segs[0].Cap != 25200*Unit {
		t.Fatalf("segments %v %+v", segOf, segs)
	}
	if got := segs[0].Put(7, 1000*Unit+333); got != 1000*Unit+333 {
		t.Fatal(got)
	}
	if segs[0].Put(8, Unit) != 0 || segs[0].Room(8) != 0 {
		t.Error("a segment holding fluid 7 took fluid 8")
	}
	shares := Split(segOf, vols, segs)
	var sum Amount
	for _, sh := range shares[:3] {
		sum += sh.Amount
	}
	if sum != 1000*Unit+333 {
		t.Errorf("split lost fluid: %d", sum)
	}
	// Join everything: the 1000.333 units come back whole.
	g2 := NewGraph(vols)
	for i := int32(1); i < 5; i++ {
		g2.Connect(0, i)
	}
	segOf2, segs2 := g2.Segments()
	if lost := Gather(segOf2, shares, segs2); lost != nil || segs2[0].Amount != 1000*Unit+333 || segs2[0].Fluid != 7 {
		t.Errorf("gather: %+v lost %v", segs2, lost)
	}
	// Mixed fluids: the larger amount stays, the other is reported lost.
	shares[3] = Share{Fluid: 9, Amount: 5 * Unit}
	segs3 := []Segment{{Cap: segs2[0].Cap}}
	lost := Gather(segOf2, shares, segs3)
	if segs3[0].Fluid != 7 || lost[9] != 5*Unit {
		t.Errorf("mixed gather: %+v lost %v", segs3, lost)
	}
	if segs3[0].Take(7, 2000*Unit) != 1000*Unit+333 || segs3[0].Amount != 0 {
		t.Error("take")
	}
}
