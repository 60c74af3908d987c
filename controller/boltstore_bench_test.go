package controller

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// BenchmarkBoltStoreLogs measures one Raft log write (StoreLogs: one bbolt commit
// with its two fdatasyncs) of 1 or 32 small entries (a lone write, a round under load) on the local disk, with the
// controller's bbolt options and with the variants the benchmark of docs/
// benchmarks.md (Controller) compares. The log is preloaded with 20,000 entries
// so the B+tree has its steady-state depth.
//
//	go test ./controller -run '^$' -bench BoltStoreLogs -benchtime 2000x
func BenchmarkBoltStoreLogs(b *testing.B) {
	variants := []struct {
		name string
		opt  func(*bbolt.Options)
	}{
		{"controller", func(*bbolt.Options) {}},
		{"page8k", func(o *bbolt.Options) { o.PageSize = 8 << 10 }},
		{"page16k", func(o *bbolt.Options) { o.PageSize = 16 << 10 }},
		{"mmap256m", func(o *bbolt.Options) { o.InitialMmapSize = 256 << 20 }},
		{"freelist-array", func(o *bbolt.Options) { o.FreelistType = bbolt.FreelistArrayType }},
		{"freelist-synced", func(o *bbolt.Options) { o.NoFreelistSync = false }},
	}
	data := make([]byte, 110) // about a CreateSurface command
	for _, batch := range []int{1, 32} {
		for _, v := range variants {
			b.Run(fmt.Sprintf("%s/batch%d", v.name, batch), func(b *testing.B) {
				opts := boltOptions()
				v.opt(opts)
				store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(b.TempDir(), "raft.db"), BoltOptions: opts})
				if err != nil {
					b.Fatal(err)
				}
				defer store.Close()
				index := uint64(0)
				logs := func(n int) []*raft.Log {
					out := make([]*raft.Log, n)
					for i := range out {
						index++
						out[i] = &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: time.Now()}
					}
					return out
				}
				for i := 0; i < 20_000; i += 500 {
					if err := store.StoreLogs(logs(500)); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := store.StoreLogs(logs(batch)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
