package megabase

import (
	"testing"

	"github.com/starlane/starlane/sim"
)

// demand runs s for ticks ticks and returns the mean and the peak of the power its
// networks asked for each tick, the lowest satisfaction any network had on any tick and
// the least energy its accumulators held.
func demand(s *sim.Surface, ticks int64) (mean, peak int64, lowSat float64, lowJ int64) {
	var sum int64
	lowSat, lowJ = 1, s.Power().StoredJ
	for i := int64(0); i < ticks; i++ {
		s.Step(nil)
		p := s.Power()
		lowJ = min(lowJ, p.StoredJ)
		sum += p.DemandW
		peak = max(peak, p.DemandW)
		for _, sat := range p.Satisfaction {
			lowSat = min(lowSat, sat)
		}
	}
	return sum / ticks, peak, lowSat, lowJ
}

// A cell of megabase-full, powered by an electric-energy-interface, never asks for more
// than its solar field is sized for, over a whole day at steady state; and the figure
// the field is sized from is the measured one (re-measure it when the cell changes).
func TestMegabaseFullCellDemandFitsItsField(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cell of megabase-full for 29 game minutes")
	}
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	s, err := genMegabaseFullPowered(sim.DefaultBundle(), 1, "", 1, fullCellMilli, fullPowerEEI)
	if err != nil {
		t.Fatal(err)
	}
	s.Run(fullWarmMinutes * 3600) // the labs at full rate
	mean, peak, _, _ := demand(s, s.Bundle().DayTicks)
	t.Logf("a cell over a day from minute %d: mean %d W, peak %d W; sized for %d W; %.0f SPM", fullWarmMinutes, mean, peak, int64(fullCellDemandW), s.Production().SPM)
	if peak > fullCellDemandW {
		t.Errorf("a cell asks for up to %d W, more than the %d W its field is sized for", peak, int64(fullCellDemandW))
	}
	if peak < fullCellPeakW*95/100 || peak > fullCellPeakW*105/100 {
		t.Errorf("a cell's measured peak is %d W; the field is sized from %d W", peak, int64(fullCellPeakW))
	}
}

// The field's sizing holds in the simulation's own terms: a day of light at full
// demand, the night carried by accumulators within their output limit.
func TestSizeFullSolarCoversTheDay(t *testing.T) {
	b := sim.DefaultBundle()
	f, err := sizeFullSolar(b, fullCellDemandW)
	if err != nil {
		t.Fatal(err)
	}
	pi, _ := b.Entity("solar-panel")
	ai, _ := b.Entity("accumulator")
	panel, acc := &b.Entities[pi], &b.Entities[ai]
	t.Logf("%d W: %d panels, %d accumulators", int64(fullCellDemandW), f.panels, f.accumulators)
	var light int64
	for tick := int64(0); tick < b.DayTicks; tick++ {
		light += sim.Daylight(b.DayTicks, uint64(tick))
	}
	dayJ := float64(f.panels) * float64(panel.Production) * float64(light) / sim.SatOne
	if want := float64(fullCellDemandW) * float64(b.DayTicks); dayJ < want {
		t.Errorf("the panels give %.4g W-ticks a day, want at least %.4g", dayJ, want)
	}
	if int64(f.accumulators)*acc.FlowOut < fullCellDemandW {
		t.Errorf("%d accumulators give at most %d W in the dark, want %d", f.accumulators, int64(f.accumulators)*acc.FlowOut, int64(fullCellDemandW))
	}
	// No more panels than that: one fewer falls short of a day's energy.
	if fewer := float64(f.panels-1) * float64(panel.Production) * float64(light) / sim.SatOne; fewer >= float64(fullCellDemandW)*float64(b.DayTicks) {
		t.Errorf("%d panels would do", f.panels-1)
	}
}

// megabase-full is powered by what a player can place: no electric-energy-interface,
// every machine, inserter and lab on the one network its solar fields feed, the fields
// as sized.
func TestMegabaseFullIsPoweredBySolar(t *testing.T) {
	if testing.Short() {
		t.Skip("generates megabase-full")
	}
	b := sim.DefaultBundle()
	s, err := sim.NewMap(b, "megabase-full", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Step(nil) // a tick builds the electric networks
	count := map[sim.Kind]int{}
	s.Entities(func(e sim.EntityInfo) bool {
		count[e.Kind]++
		return true
	})
	f, err := sizeFullSolar(b, fullCellDemandW)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d entities: %d solar panels, %d accumulators, %d poles", s.EntityCount(), count[sim.KindSolar], count[sim.KindAccumulator], count[sim.KindPole])
	if n := count[sim.KindEnergyInterface]; n != 0 {
		t.Errorf("%d electric-energy-interfaces; the map must make its own power", n)
	}
	if count[sim.KindSolar] != fullCells*f.panels || count[sim.KindAccumulator] != fullCells*f.accumulators {
		t.Errorf("%d solar panels and %d accumulators, want %d and %d (%d cells of %+v)",
			count[sim.KindSolar], count[sim.KindAccumulator], fullCells*f.panels, fullCells*f.accumulators, fullCells, f)
	}
	if n := s.Power().Networks; n != 1 {
		t.Errorf("%d electric networks, want 1 (the cells and their fields)", n)
	}
	if n := unpowered(s, sim.KindAssembler, sim.KindFurnace, sim.KindRocketSilo, sim.KindInserter, sim.KindLab,
		sim.KindDrill, sim.KindSolar, sim.KindAccumulator); n > 0 {
		t.Errorf("%d machines, inserters, labs, drills, panels or accumulators reach no pole", n)
	}
}

// One cell of megabase-full on its solar field keeps every network fully satisfied from
// the start (three nights while the cell fills) and for a whole day at steady state: the
// evening, the night and the morning on accumulators. (The map's cells and fields are
// copies of this one, on one network.)
func TestMegabaseFullCellSolarLastsTheDay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cell of megabase-full for 29 game minutes")
	}
	t.Parallel() // one cell of its own: runs beside the package's other long tests
	s, err := genMegabaseFullCells(sim.DefaultBundle(), 1, "", 1, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	s.Step(nil)
	if n := s.Power().Networks; n != 1 {
		t.Fatalf("%d electric networks, want 1", n)
	}
	full := s.Power().StoredJ
	_, _, warmSat, warmJ := demand(s, fullWarmMinutes*3600-int64(s.Tick()))
	spm0 := s.Production().SPM
	mean, peak, lowSat, lowJ := demand(s, s.Bundle().DayTicks)
	t.Logf("minutes 0 to %d: lowest satisfaction %.4f, least stored %d of %d MJ, %.0f SPM at minute %d; a day from minute %d: demand mean %d W, peak %d W, lowest satisfaction %.4f, least stored %d MJ, %.0f SPM",
		fullWarmMinutes, warmSat, warmJ/1_000_000, full/1_000_000, spm0, fullWarmMinutes, fullWarmMinutes, mean, peak, lowSat, lowJ/1_000_000, s.Production().SPM)
	if warmSat < 1 || lowSat < 1 {
		t.Errorf("satisfaction fell to %.4f in the first %d minutes, %.4f in the day after", warmSat, fullWarmMinutes, lowSat)
	}
}

// The whole map keeps full satisfaction for a whole day from minute 22 (the shared
// seed-1 map at fullWarmMinutes, the labs full; the day holds a night).
func TestMegabaseFullSolarLastsTheDay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs megabase-full for a game day after its shared warm-up")
	}
	s := loadMegaFull(t, megaFullSeed1(t).warm)
	ai, _ := s.Bundle().Entity("accumulator")
	full := int64(fullCells) * int64(mustSizeFullSolar(t).accumulators) * s.Bundle().Entities[ai].Buffer / sim.EnergyPerJoule
	mean, peak, lowSat, lowJ := demand(s, s.Bundle().DayTicks)
	t.Logf("a day from minute %d: demand mean %d W, peak %d W; lowest satisfaction %.4f; least stored %d of %d MJ; %.0f SPM at the end", fullWarmMinutes,
		mean, peak, lowSat, lowJ/1_000_000, full/1_000_000, s.Production().SPM)
	if lowSat < 1 {
		t.Errorf("satisfaction fell to %.4f during the day", lowSat)
	}
}

func mustSizeFullSolar(t *testing.T) fullSolar {
	t.Helper()
	f, err := sizeFullSolar(sim.DefaultBundle(), fullCellDemandW)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
