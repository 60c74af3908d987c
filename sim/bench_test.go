package sim

import "testing"

func BenchmarkStarterTick(b *testing.B) {
	s, err := NewMap(DefaultBundle(), "starter", 1, "")
	if err != nil {
		b.Fatal(err)
	}
	s.Run(3600)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Step(nil)
	}
}

// BenchmarkPetrochemTick measures a steady tick of the fluids-and-modules map:
// steam power, oil, chemistry and a beaconed machine. Module effects and fluid
// segments are derived once; a steady tick must not allocate.
func BenchmarkPetrochemTick(b *testing.B) {
	s, err := NewMap(DefaultBundle(), "petrochem", 1, "")
	if err != nil {
		b.Fatal(err)
	}
	s.Run(3600)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Step(nil)
	}
}

// TestPetrochemTickDoesNotAllocate checks what the benchmark reports: no
// allocations per steady tick with fluids, beacons and modules.
func TestPetrochemTickDoesNotAllocate(t *testing.T) {
	s, err := NewMap(DefaultBundle(), "petrochem", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Run(3600)
	if a := testing.AllocsPerRun(600, func() { s.Step(nil) }); a != 0 {
		t.Errorf("%.2f allocations per steady tick, want 0", a)
	}
}
