package megabase

import "github.com/starlane/starlane/sim"

// The megabase-10k map: 100 identical cells, each researching at 100 SPM of red and
// green science from ore to labs. A cell, from west to east along its plate belt:
//
//   - smelting: electric drills feed electric furnaces directly; fast inserters put the
//     plates on the plate belt, iron on one lane (south side), copper on the other;
//   - a second, iron-only smelting line starts the belt that feeds the green row;
//   - red row (north of the plate belt): [red, gears, red] units, the gear machine
//     feeding both red machines directly, copper from the plate belt;
//   - gear/circuit row (south of the plate belt): gears onto one lane and circuits onto
//     another belt, from cable machines feeding the circuit machine directly;
//   - green row: [belts, green, inserters, green, ...] machines feeding green science
//     directly, iron and gears from one belt (long-handed inserters), circuits from the
//     next;
//   - 50 labs between the red and the green belt, researching a repeating technology
//     (30 s per unit: 2 SPM each).
//
// Every stage is over-provisioned, so the labs set the rate: 50 labs × 100 cells × 2 SPM
// = 10,000 SPM once the cells have filled up. Solar panels and accumulators south of each
// cell power it through the night.

const (
	megaCellsX   = 10
	megaCellsY   = 10
	megaOre      = 2_000_000 // per tile
	ironCols     = 28        // iron drill/furnace pairs on the plate belt (0.5 plates/s each)
	copperCols   = 11        // copper pairs
	greenIronCol = 9         // iron pairs on the green row's belt
	redUnits     = 4         // [red, gears, red]
	greenMachs   = 21        // belts, green, inserters, green, ... (10 green)
	cellLabs     = 50
	labPitch     = 3
)

// cellGeometry holds the x positions of a cell's sections, relative to its origin.
type cellGeometry struct {
	plateCols, plateGaps []int32 // smelting columns and substation gaps on the plate belt
	greenCols, greenGaps []int32 // smelting for the green row's belt
	m                    int32   // start of the machine rows
	ls                   int32   // first lab
	turn                 int32   // where the green belt turns north
	width                int32
	solarY               int32 // first row of the solar field
	solarH               int32
}

// columns lays out n smelting columns (3 tiles each) from x, with a 2-tile gap for a
// substation before every group of five and after the last.
func columns(x int32, n int) (cols, gaps []int32, end int32) {
	for i := 0; i < n; i++ {
		if i%5 == 0 {
			gaps = append(gaps, x)
			x += 2
		}
		cols = append(cols, x)
		x += 3
	}
	gaps = append(gaps, x)
	return cols, gaps, x + 2
}

func megaGeometry() cellGeometry {
	var g cellGeometry
	var x int32
	g.plateCols, g.plateGaps, x = columns(0, ironCols)
	g.greenCols, g.greenGaps, x = columns(x, greenIronCol)
	g.m = x
	g.ls = g.m + 4*greenMachs + 4
	g.turn = g.ls - 2
	g.width = g.ls + cellLabs*labPitch + 6
	g.solarY = 16
	g.solarH = 40
	return g
}

func genMegabase(b *sim.Bundle, seed uint64, name string) (*sim.Surface, error) {
	return genMegabaseCells(b, seed, name, megaCellsX, megaCellsY, true)
}

// genMegabaseCells builds nx × ny cells; solar powers them, or else one
// electric-energy-interface per cell (used by tests that measure a cell's demand).
func genMegabaseCells(b *sim.Bundle, seed uint64, name string, nx, ny int, solar bool) (*sim.Surface, error) {
	iron, copper, _, _, _ := oreIDs(b)
	g := megaGeometry()
	cellH := g.solarY + g.solarH + 12
	origin := func(cx, cy int) (int32, int32) { return int32(cx) * (g.width + 8), int32(cy)*cellH + 10 }
	// No procedural ore under the base: a stray tile of coal in a drill's area would
	// block the drill's furnace. Later patches win, so the ore patches go on top.
	patches := []sim.Patch{{X: -64, Y: -64, W: int32(nx)*(g.width+8) + 128, H: int32(ny)*cellH + 128}}
	for cy := 0; cy < ny; cy++ {
		for cx := 0; cx < nx; cx++ {
			ox, oy := origin(cx, cy)
			first, last := g.plateCols[0], g.plateCols[len(g.plateCols)-1]+3
			patches = append(patches,
				sim.Patch{Resource: iron, X: ox + first, Y: oy + 5, W: last - first, H: 3, Amount: megaOre},
				sim.Patch{Resource: copper, X: ox + first, Y: oy - 7, W: g.plateCols[copperCols-1] + 3 - first, H: 3, Amount: megaOre},
				sim.Patch{Resource: iron, X: ox + g.greenCols[0], Y: oy + 11, W: g.greenCols[len(g.greenCols)-1] + 3 - g.greenCols[0], H: 3, Amount: megaOre})
		}
	}
	if name == "" {
		name = "nauvis"
	}
	s, err := sim.NewSurface(b, sim.Config{Name: name, Planet: "nauvis", Seed: seed, Patches: patches,
		Research: "logistics-2", Repeat: true, InserterBonus: 2, BulkBonus: 10})
	if err != nil {
		return nil, err
	}
	l := &layout{s: s}
	for cy := 0; cy < ny; cy++ {
		for cx := 0; cx < nx; cx++ {
			ox, oy := origin(cx, cy)
			l.cell(&g, ox, oy, solar)
		}
	}
	if l.err != nil {
		return nil, l.err
	}
	s.ChargeAccumulators()
	return s, nil
}

// cell builds one cell with its origin at (ox, oy): the plate belt runs along y = oy.
func (l *layout) cell(g *cellGeometry, ox, oy int32, solar bool) {
	const (
		belt  = "fast-transport-belt"
		fast  = "fast-inserter"
		long  = "long-handed-inserter"
		asm   = "assembling-machine-3"
		sub   = "substation"
		drill = "electric-mining-drill"
		furn  = "electric-furnace"
	)
	m, ls := ox+g.m, ox+g.ls
	machine := func(x, y int32, recipe string) {
		l.spec(sim.BuildSpec{Name: asm, X: x, Y: oy + y, Recipe: recipe})
	}

	// Plate belt smelting: iron pairs south of the belt, copper pairs north of it.
	for i, c := range g.plateCols {
		x := ox + c
		l.put(fast, x+1, oy+1, sim.South)
		l.put(furn, x, oy+2, sim.North)
		l.put(drill, x, oy+5, sim.North)
		if i < copperCols {
			l.put(fast, x+1, oy-1, sim.North)
			l.put(furn, x, oy-4, sim.North)
			l.put(drill, x, oy-7, sim.South)
		}
	}
	for _, gx := range g.plateGaps {
		l.put(sub, ox+gx, oy+5, sim.North)
	}
	// The green row's iron: pairs south of its belt (y+6).
	for _, c := range g.greenCols {
		x := ox + c
		l.put(fast, x+1, oy+7, sim.South)
		l.put(furn, x, oy+8, sim.North)
		l.put(drill, x, oy+11, sim.North)
	}
	for _, gx := range g.greenGaps {
		l.put(sub, ox+gx, oy+2, sim.North)
	}

	// Red row: [red i gears i red] units north of the plate belt.
	for u := int32(0); u < redUnits; u++ {
		x := m + 13*u
		machine(x, -4, "automation-science-pack")
		machine(x+4, -4, "iron-gear-wheel")
		machine(x+8, -4, "automation-science-pack")
		l.put(fast, x+3, oy-3, sim.East) // gears -> west red
		l.put(fast, x+7, oy-3, sim.West) // gears -> east red
		l.put(fast, x+5, oy-1, sim.South)
		l.put(fast, x+1, oy-1, sim.South)
		l.put(fast, x+9, oy-1, sim.South)
		l.put(fast, x+1, oy-5, sim.South) // red -> red belt
		l.put(fast, x+9, oy-5, sim.South)
		l.put(sub, x+11, oy-4, sim.North)
	}
	// Gear/circuit row south of the plate belt.
	for _, x := range []int32{m, m + 4} {
		machine(x, 2, "iron-gear-wheel")
		l.put(fast, x+1, oy+1, sim.North)
		l.put(fast, x+1, oy+5, sim.North) // gears -> green belt, south lane
	}
	machine(m+8, 2, "copper-cable")
	machine(m+12, 2, "electronic-circuit")
	machine(m+16, 2, "copper-cable")
	l.put(fast, m+9, oy+1, sim.North)
	l.put(fast, m+13, oy+1, sim.North)
	l.put(fast, m+17, oy+1, sim.North)
	l.put(fast, m+11, oy+3, sim.West)
	l.put(fast, m+15, oy+3, sim.East)
	l.put(long, m+13, oy+5, sim.North) // circuits -> circuit belt
	for x := m + 4; x < m+4*greenMachs+8; x += 16 {
		l.put(sub, x, oy+14, sim.North) // below the green belt, covering the green row
	}
	// Green row: belts, green, inserters, green, belts, ...
	kinds := []string{"transport-belt", "logistic-science-pack", "inserter", "logistic-science-pack"}
	for k := int32(0); k < greenMachs; k++ {
		x := m + 4*k
		recipe := kinds[k%4]
		machine(x, 9, recipe)
		switch recipe {
		case "transport-belt":
			l.put(long, x, oy+8, sim.North)
		case "inserter":
			l.put(long, x, oy+8, sim.North)
			l.put(fast, x+1, oy+8, sim.North)
		default:
			l.put(fast, x+1, oy+12, sim.North) // green -> green belt
		}
		if k+1 < greenMachs {
			if recipe == "logistic-science-pack" {
				l.put(fast, x+3, oy+10, sim.East)
			} else {
				l.put(fast, x+3, oy+10, sim.West)
			}
		}
	}

	// Belts.
	l.belt(belt, ox, oy, sim.East, m+13*redUnits-ox)
	l.belt(belt, ox+g.greenCols[0], oy+6, sim.East, m+4*greenMachs-(ox+g.greenCols[0]))
	l.belt(belt, m, oy+7, sim.East, 4*greenMachs)
	l.belt(belt, m, oy-6, sim.East, ls+cellLabs*labPitch-m)
	turn := ox + g.turn
	l.belt(belt, m, oy+13, sim.East, turn-m)
	l.belt(belt, turn, oy+13, sim.North, 13)
	l.belt(belt, turn, oy, sim.East, ls+cellLabs*labPitch-turn)

	// Labs between the red belt (north) and the green belt (south).
	for j := int32(0); j < cellLabs; j++ {
		x := ls + labPitch*j
		l.put("lab", x, oy-4, sim.North)
		l.put(fast, x+1, oy-5, sim.North)
		l.put(fast, x+1, oy-1, sim.South)
	}
	// A row of substations north of the red belt covers everything north of the plate
	// belt, the labs included, and links the cell's substations into one network.
	for x := ox; x < ox+g.width; x += 16 {
		l.put(sub, x, oy-9, sim.North)
	}

	if !solar {
		l.put("electric-energy-interface", ox+3, oy-12, sim.North)
		return
	}
	l.solarField(ox, oy+g.solarY, g.width, g.solarH)
}

// Solar field sizing, measured: a cell draws about cellPowerW on average over a day.
const (
	cellSolar = 780 // panels per cell
	cellAcc   = 650 // accumulators per cell
)

// solarField covers a band below a cell with substations, solar panels and accumulators
// and links it to the cell's own substations.
func (l *layout) solarField(ox, y0, w, h int32) {
	// Substations on a 16-tile grid, then panels and accumulators in the free space.
	for y := y0; y < y0+h; y += 16 {
		for x := ox; x < ox+w; x += 16 {
			l.put("substation", x, y, sim.North)
		}
	}
	l.fill("solar-panel", ox, y0, ox+w-1, y0+h-1, cellSolar)
	l.fill("accumulator", ox, y0, ox+w-1, y0+h-1, cellAcc)
}
