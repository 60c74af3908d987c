package megabase

import (
	"bytes"
	"sync"
	"testing"

	"github.com/starlane/starlane/sim"
)

// The megabase benchmarks run on a base that has reached steady state (all belts and
// buffers filled, labs researching at 10,000 SPM): generating and warming it up takes a
// few tens of seconds, once per benchmark binary.
var (
	warmOnce sync.Once
	warmSave []byte
	warmErr  error
)

const megaWarmupTicks = 40000

func warmMegabase(b *testing.B) *sim.Surface {
	b.Helper()
	warmOnce.Do(func() {
		s, err := sim.NewMap(sim.DefaultBundle(), "megabase-10k", 1, "")
		if err != nil {
			warmErr = err
			return
		}
		s.Run(megaWarmupTicks)
		var buf bytes.Buffer
		warmErr = s.Save(&buf)
		warmSave = buf.Bytes()
	})
	if warmErr != nil {
		b.Fatal(warmErr)
	}
	s, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(warmSave))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkMegabaseTick measures one steady-state tick of megabase-10k.
func BenchmarkMegabaseTick(b *testing.B) {
	s := warmMegabase(b)
	s.Run(120) // let the woken-on-load entities settle back to sleep
	if spm := s.Production().SPM; spm < 9000 {
		b.Fatalf("the megabase is not at steady state: %.0f SPM", spm)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Step(nil)
	}
	b.ReportMetric(float64(s.EntityCount()), "entities")
}

func BenchmarkMegabaseSave(b *testing.B) {
	s := warmMegabase(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

func BenchmarkMegabaseLoad(b *testing.B) {
	warmMegabase(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(warmSave)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(warmSave)))
}

func BenchmarkMegabaseGenerate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := sim.NewMap(sim.DefaultBundle(), "megabase-10k", 1, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// The megabase-full benchmarks run on the map the tests share (megaFullSeed1), warmed
// once per binary to steady state (labs researching at 2,700 SPM or more, rockets
// launching).
func warmMegabaseFull(b *testing.B) *sim.Surface {
	b.Helper()
	return loadMegaFull(b, megaFullSeed1(b).steady)
}

// BenchmarkMegabaseFullTick measures one steady-state tick of megabase-full.
func BenchmarkMegabaseFullTick(b *testing.B) {
	s := warmMegabaseFull(b)
	s.Run(120)
	if spm := s.Production().SPM; spm < 2700 {
		b.Fatalf("megabase-full is not at steady state: %.0f SPM", spm)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Step(nil)
	}
	b.StopTimer()
	b.ReportMetric(float64(s.EntityCount()), "entities")
	b.ReportMetric(s.Production().SPM, "SPM")
}

func BenchmarkMegabaseFullSave(b *testing.B) {
	s := warmMegabaseFull(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var buf bytes.Buffer
		if err := s.Save(&buf); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(buf.Len()))
	}
}

func BenchmarkMegabaseFullLoad(b *testing.B) {
	save := megaFullSeed1(b).steady
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(save)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(save)))
}

// TestMegabaseFullTickDoesNotAllocate checks the benchmark's 0 allocs/op on the
// warmed map: its own copy of the shared seed-1 map, loaded at minute 16. It does not
// run in parallel: AllocsPerRun counts every allocation in the process.
func TestMegabaseFullTickDoesNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("warms megabase-full for sixteen game minutes")
	}
	s := loadMegaFull(t, megaFullSeed1(t).steady)
	if a := testing.AllocsPerRun(600, func() { s.Step(nil) }); a != 0 {
		t.Errorf("%.2f allocations per steady tick, want 0", a)
	}
}
