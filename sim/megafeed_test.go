package sim

import (
	"math/big"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fullInfinityItems are the items megabase-full still takes from infinity chests: the
// ingredients of the pack rows not yet fed from ore and of the rocket silos.
var fullInfinityItems = []string{"advanced-circuit", "electric-furnace", "engine-unit", "flying-robot-frame",
	"grenade", "inserter", "low-density-structure", "piercing-rounds-magazine", "processing-unit",
	"productivity-module", "rail", "rocket-fuel", "satellite", "stone-wall", "sulfur", "transport-belt"}

// A cell of megabase-full lays out the lines feeding its automation row from ore with
// the machine counts of the plan for that row (PlanFull's planner, the beacons this
// layout gives), each machine with the modules and at least the beacons it was sized
// for; the remaining infinity chests supply exactly fullInfinityItems.
func TestMegabaseFullFeedLinesMatchThePlan(t *testing.T) {
	b := DefaultBundle()
	sz, err := sizeFullCell(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := planFullFeed(b, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	full, err := PlanFull(b, big.NewRat(45, 1), 1_500_000)
	if err != nil {
		t.Fatal(err)
	}
	fullPer := map[string]PlanLine{}
	for _, l := range full.Lines {
		fullPer[l.Task] = l
	}
	want := map[string]int{}
	for _, l := range fp.Lines {
		want[l.Task] = l.Machines
		f := fullPer[l.Task]
		t.Logf("%-24s %-22s %3d machines, %d beacons, %.4f/s each (PlanFull: %d beacons, %.4f/s each)",
			l.Task, l.Machine, l.Machines, l.Beacons, l.PerMachine, f.Beacons, f.PerMachine)
		// Same machine, modules and productivity as the whole base's plan; only the
		// beacons (so the speed) may differ.
		if l.Machine != f.Machine || l.Productivity != f.Productivity || !cmp.Equal(l.Modules, f.Modules) {
			t.Errorf("%s: %s %v +%d%% productivity, PlanFull has %s %v +%d%%", l.Task, l.Machine, l.Modules, l.Productivity, f.Machine, f.Modules, f.Productivity)
		}
		if l.Beacons == f.Beacons && l.PerMachine != f.PerMachine {
			t.Errorf("%s: %.4f a second each, PlanFull %.4f with the same beacons", l.Task, l.PerMachine, f.PerMachine)
		}
	}
	if want["automation-science-pack"] != sz.rows["automation-science-pack"] {
		t.Errorf("the plan has %d automation machines, the row %d", want["automation-science-pack"], sz.rows["automation-science-pack"])
	}
	for _, task := range []string{"copper-plate", "iron-plate", "iron-gear-wheel", "mine copper-ore", "mine iron-ore"} {
		if want[task] <= 0 {
			t.Errorf("the feed plan has no %s line", task)
		}
	}

	s, err := genMegabaseFullCells(b, 1, "", 1, fullCellMilli)
	if err != nil {
		t.Fatal(err)
	}
	s.Run(2 * 3600) // every furnace has picked its recipe
	got := map[string]int{}
	sized := func(id EntityID, task string) {
		info, _ := s.Modules(id)
		if int(info.Beacons) < fullFeedBeacons[task] || info.Effect.Productivity <= 0 {
			t.Errorf("%s machine %d: %d beacons, +%d%% productivity; sized for %d beacons and productivity modules",
				task, id, info.Beacons, info.Effect.Productivity, fullFeedBeacons[task])
		}
	}
	for i := range s.crafters {
		c := &s.crafters[i]
		if c.ent == 0 || c.isSilo || c.recipe < 0 {
			continue
		}
		task := b.Recipes[c.recipe].Name
		if _, planned := want[task]; planned {
			got[task]++
			sized(c.ent, task)
		}
	}
	for i := range s.drills {
		d := &s.drills[i]
		if d.ent == 0 || len(d.tiles) == 0 {
			continue
		}
		r, _ := s.ResourceAt(d.tiles[0].X, d.tiles[0].Y)
		got["mine "+b.Item(r).Name]++
		pd := fullPer["mine iron-ore"]
		if info, _ := s.Modules(d.ent); info.Beacons != 0 || info.Effect.Speed != pd.Speed || info.Effect.Productivity != pd.Productivity {
			t.Errorf("drill %d: %d beacons, speed %+d%%, productivity %+d%%; the plan's drills have no beacons, %+d%%, %+d%%",
				d.ent, info.Beacons, info.Effect.Speed, info.Effect.Productivity, pd.Speed, pd.Productivity)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("machines per task in a cell (-plan +map):\n%s", diff)
	}

	chests := 0
	items := map[string]bool{}
	for i := range s.chests {
		c := &s.chests[i]
		if c.ent == 0 || c.kind != KindInfinityChest {
			continue
		}
		chests++
		for _, f := range c.inf.Filters {
			items[f.Item] = true
		}
	}
	var names []string
	for n := range items {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff(fullInfinityItems, names); diff != "" {
		t.Errorf("items from infinity chests (-want +got):\n%s", diff)
	}
	wantChests := 3 // the silo's
	for _, pack := range fullPackRows {
		if !fullFed(pack) {
			wantChests += sz.rows[pack]
		}
	}
	if chests != wantChests {
		t.Errorf("%d infinity chests in a cell, want %d (one per machine of the rows not fed from ore, three for the silo)", chests, wantChests)
	}
	t.Logf("%d infinity chests a cell, supplying %v", chests, names)
}
