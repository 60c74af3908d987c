package sim

// Step advances the surface by one tick: it applies the tick's inputs in order, rebuilds
// derived state if the inputs changed the topology, then updates every active entity,
// kind by kind in a fixed order and within a kind in slot order.
func (s *Surface) Step(inputs []Input) {
	s.stepping = true
	s.tick++
	s.results = s.results[:0]
	for _, in := range inputs {
		s.apply(in)
	}
	s.prepare()
	s.update()
	if s.tick%TicksPerSecond == 0 {
		s.stats.roll(s.tick/TicksPerSecond - 1)
	}
	s.hash = mix64(s.hash ^ s.tick)
	s.stepping = false
}

// Run advances the surface by n ticks without inputs.
func (s *Surface) Run(n int) {
	for i := 0; i < n; i++ {
		s.Step(nil)
	}
}

func (s *Surface) update() {
	s.napWakeDue()
	s.active[KindDrill].each(s.updateDrill)
	s.active[KindPipe].each(s.updateFluidEnt)
	s.active[KindInserter].each(s.updateInserter)
	s.active[KindAssembler].each(s.updateCrafter)
	s.active[KindLab].each(s.updateLab)
	s.active[KindContainer].each(s.updateContainer)
	s.updateLanes()
	s.updatePower()
}
