package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/spf13/cobra"
)

// benchResult is what `bench --json` prints. Field names are a contract.
type benchResult struct {
	Map          string    `json:"map"`
	Entities     int       `json:"entities"`
	Ticks        int       `json:"ticks"`
	Runs         int       `json:"runs"`
	WarmupTicks  int       `json:"warmup_ticks"`
	MeanMs       float64   `json:"ms_per_tick_mean"`
	MinMs        float64   `json:"ms_per_tick_min"`
	MaxMs        float64   `json:"ms_per_tick_max"`
	P99Ms        float64   `json:"ms_per_tick_p99"`
	UPS          float64   `json:"ups"`
	FinalHash    string    `json:"final_hash"`
	AllocsPerTik float64   `json:"allocs_per_tick"`
	BytesPerTick float64   `json:"bytes_per_tick"`
	RunMeansMs   []float64 `json:"run_means_ms"`
	GOMAXPROCS   int       `json:"gomaxprocs"`
	HeapMiB      float64   `json:"heap_mib"`
}

func newBenchCmd() *cobra.Command {
	var (
		mapArg, prof   string
		seed           uint64
		ticks, runs, w int
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure simulation speed, like factorio --benchmark",
		Long: `Run a map or save for --ticks ticks as fast as possible, --runs times (each run
starts from the map again), and report the time per tick (mean, min, max, p99),
the updates per second that implies, heap allocations per tick and the final
state hash (equal across runs and machines: the simulation is deterministic).

--warmup runs ticks before measuring, so that a generated map reaches steady
state first (its factories fill their belts and buffers).`,
		Example: `  starlane bench --map megabase-10k --ticks 1000 --warmup 3600
  starlane bench --map megabase-full --ticks 3600 --warmup 84000
  starlane bench --map starter --ticks 6000 --runs 3 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ticks <= 0 || runs <= 0 || w < 0 {
				return fmt.Errorf("--ticks and --runs must be positive and --warmup not negative")
			}
			res := benchResult{Map: mapArg, Ticks: ticks, Runs: runs, WarmupTicks: w, GOMAXPROCS: runtime.GOMAXPROCS(0)}
			var all []float64
			var allocs, bytes uint64
			for r := 0; r < runs; r++ {
				s, err := openSurface(mapArg, seed)
				if err != nil {
					return err
				}
				res.Entities = s.EntityCount()
				progress := newProgress(cmd.ErrOrStderr(), w)
				for i := 0; i < w; i++ {
					s.Step(nil)
					progress.update(i + 1)
				}
				runtime.GC()
				if prof != "" && r == 0 {
					f, err := os.Create(prof)
					if err != nil {
						return err
					}
					if err := pprof.StartCPUProfile(f); err != nil {
						return err
					}
					defer func() { pprof.StopCPUProfile(); f.Close() }()
				}
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				times := make([]float64, ticks)
				var sum float64
				for i := 0; i < ticks; i++ {
					t0 := time.Now()
					s.Step(nil)
					ms := float64(time.Since(t0).Nanoseconds()) / 1e6
					times[i] = ms
					sum += ms
				}
				runtime.ReadMemStats(&after)
				allocs += after.Mallocs - before.Mallocs
				bytes += after.TotalAlloc - before.TotalAlloc
				res.HeapMiB = float64(after.HeapInuse) / (1 << 20)
				res.RunMeansMs = append(res.RunMeansMs, sum/float64(ticks))
				all = append(all, times...)
				res.FinalHash = fmt.Sprintf("%016x", s.Hash())
				if !asJSON {
					fmt.Fprintf(cmd.ErrOrStderr(), "run %d: %.3f ms/tick\n", r+1, sum/float64(ticks))
				}
			}
			slices.Sort(all)
			var total float64
			for _, v := range all {
				total += v
			}
			res.MeanMs = total / float64(len(all))
			res.MinMs, res.MaxMs = all[0], all[len(all)-1]
			res.P99Ms = all[min(len(all)-1, len(all)*99/100)]
			res.UPS = 1000 / res.MeanMs
			res.AllocsPerTik = float64(allocs) / float64(ticks*runs)
			res.BytesPerTick = float64(bytes) / float64(ticks*runs)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "map %s: %d entities, %d ticks x %d runs (after %d warm-up ticks)\n", mapArg, res.Entities, ticks, runs, w)
			fmt.Fprintf(out, "ms per tick: mean %.3f  min %.3f  max %.3f  p99 %.3f\n", res.MeanMs, res.MinMs, res.MaxMs, res.P99Ms)
			fmt.Fprintf(out, "UPS %.1f   allocations per tick %.2f (%.0f bytes)   heap %.0f MiB   final hash %s\n",
				res.UPS, res.AllocsPerTik, res.BytesPerTick, res.HeapMiB, res.FinalHash)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mapArg, "map", "megabase-10k", "built-in map name or save file")
	f.Uint64Var(&seed, "seed", 1, "map seed (built-in maps only)")
	f.IntVar(&ticks, "ticks", 1000, "ticks to measure per run")
	f.IntVar(&runs, "runs", 1, "number of runs")
	f.IntVar(&w, "warmup", 0, "ticks to run before measuring")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.StringVar(&prof, "cpuprofile", "", "write a CPU profile of the measured ticks of the first run to this file")
	cmd.AddCommand(newBenchClusterCmd(), newBenchClusterNodesCmd())
	return cmd
}
