package sim

// The petrochem map: a small base of everything fluids and modules bring, used by
// the determinism tests and as a demonstration.
//
//   - a steam power column at the origin: an offshore pump, 20 boilers fed coal by
//     inserters from infinity chests, 40 steam engines;
//   - an oil block south of it: a pumpjack on crude oil, a refinery on basic oil
//     processing, a storage tank and a chemical plant making plastic from the gas and
//     coal, into a steel chest;
//   - a beaconed assembling machine 3 east of the column: four productivity modules,
//     eight beacons of two speed modules, making gears from an infinity chest's plates.
//
// Everything runs on the steam engines; there is no other power source.

func genPetrochem(b *Bundle, seed uint64, name string) (*Surface, error) {
	crude, _ := b.ItemID("crude-oil")
	if name == "" {
		name = "nauvis"
	}
	s, err := NewSurface(b, Config{Name: name, Planet: "nauvis", Seed: seed,
		Patches: []Patch{{X: -40, Y: -60, W: 160, H: 120}, {Resource: crude, X: 1, Y: 31, W: 1, H: 1, Amount: 450_000}}})
	if err != nil {
		return nil, err
	}
	l := &layout{s: s}
	coal := &InfinitySettings{Filters: []InfinityFilter{{Item: "coal", Count: 50, Mode: "exactly"}}}

	// Steam power: offshore pump west of the first boiler's water input.
	l.put("offshore-pump", -1, 1, West)
	for k := int32(0); k < 20; k++ {
		l.put("boiler", 3*k, 0, North)
		l.put("steam-engine", 3*k, -5, North)
		l.put("steam-engine", 3*k, -10, North)
		l.put("inserter", 3*k+1, 2, South)
		l.spec(BuildSpec{Name: "infinity-chest", X: 3*k + 1, Y: 3, Infinity: coal})
	}
	for _, x := range []int32{0, 16, 32, 48} {
		l.put("substation", x, -13, North)
		l.put("substation", x, 4, North)
	}

	// Oil, 20 tiles south: pumpjack → refinery → tank → chemical plant.
	const oy = 20
	l.put("substation", 2, 16, North)
	l.put("substation", 5, oy+8, North)
	l.put("pumpjack", 0, oy+10, North)
	l.put("pipe", 2, oy+9, North)
	l.put("pipe", 2, oy+8, North)
	l.spec(BuildSpec{Name: "oil-refinery", X: -1, Y: oy + 3, Recipe: "basic-oil-processing"})
	l.put("pipe", 3, oy+2, North)
	l.put("storage-tank", 1, oy-1, North)
	l.put("pipe", 0, oy-1, North)
	l.put("pipe", -1, oy-1, North)
	l.put("pipe", -2, oy-1, North)
	l.spec(BuildSpec{Name: "chemical-plant", X: -2, Y: oy, Recipe: "plastic-bar"})
	l.spec(BuildSpec{Name: "infinity-chest", X: -4, Y: oy + 1, Infinity: coal})
	l.put("inserter", -3, oy+1, West)
	l.put("inserter", -3, oy+2, East)
	l.put("steel-chest", -4, oy+2, North)

	// The beaconed assembler, east of the column.
	const ax = 75
	l.put("substation", 60, -8, North)
	l.put("substation", ax+1, -6, North)
	l.spec(BuildSpec{Name: "assembling-machine-3", X: ax, Y: 0, Recipe: "iron-gear-wheel",
		Modules: []string{"productivity-module-3", "productivity-module-3", "productivity-module-3", "productivity-module-3"}})
	plates := &InfinitySettings{Filters: []InfinityFilter{{Item: "iron-plate", Count: 100, Mode: "exactly"}}}
	for k := int32(0); k < 2; k++ {
		l.spec(BuildSpec{Name: "infinity-chest", X: ax - 2, Y: k, Infinity: plates})
		l.put("fast-inserter", ax-1, k, West)
		l.put("fast-inserter", ax+3, k, West)
		l.put("steel-chest", ax+4, k, North)
	}
	for i, x := range []int32{-4, -1, 2, 5} {
		for _, y := range []int32{-3, 3} {
			l.spec(BuildSpec{Name: "beacon", X: ax + x, Y: y, Modules: []string{"speed-module-3", "speed-module-3"}})
		}
		_ = i
	}
	if l.err != nil {
		return nil, l.err
	}
	// The boilers start with some coal so that the inserters feeding them have power.
	s.prepare()
	for k := int32(0); k < 20; k++ {
		if _, _, err := s.doInsert(nil, 3*k, 0, "coal", 5); err != nil {
			return nil, err
		}
	}
	return s, nil
}
