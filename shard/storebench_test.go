package shard

import (
	"path/filepath"
	"testing"

	"github.com/starlane/starlane/internal/proctest"
)

// BenchmarkStoreWriteTick measures one tick's durable write (a small batch, and every
// 600 ticks a 300 KiB checkpoint with truncation), with the process's CPU time per tick.
func BenchmarkStoreWriteTick(b *testing.B) {
	st, err := OpenStore(filepath.Join(b.TempDir(), "shard.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ckpt := make([]byte, 300<<10)
	in := []Input{{Player: 1, Data: make([]byte, 40)}}
	c0 := proctest.CPUTime()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		var cps []*Checkpoint
		if i%600 == 0 {
			cps = []*Checkpoint{{Tick: uint64(i), Data: ckpt}}
		}
		if err := st.write([]*Batch{{Tick: uint64(i), Inputs: in}}, cps, 2); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((proctest.CPUTime()-c0).Microseconds())/float64(b.N), "cpu-us/tick")
}
