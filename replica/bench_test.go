package replica

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/starlane/starlane/internal/proctest"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
	_ "github.com/starlane/starlane/sim/megabase" // registers megabase-10k
)

// BenchmarkPrimaryTicks runs a primary shard on a map, alone and with one standby
// following it over loopback gRPC (hot: simulating and comparing hashes; warm:
// storing only), unthrottled (as many ticks per second as it can) and at 60 UPS, and
// reports the primary's ticks per second (ups), its mean and p99 tick time, and how
// far confirmation trailed execution.
//
// It also reports the process's CPU time per tick, standby included: on a machine
// with few cores, whether primary and standby together need more than it has.
//
//	go test ./replica/ -run '^$' -bench 'PrimaryTicks/megabase-10k/(alone|hot|warm)$' -benchtime 3000x
//	go test ./replica/ -run '^$' -bench 'PrimaryTicks/megabase-10k/60ups' -benchtime 600x
func BenchmarkPrimaryTicks(b *testing.B) {
	maps := []string{"starter", "megabase-10k"}
	for _, m := range maps {
		base, err := sim.NewMap(sim.DefaultBundle(), m, 1, "nauvis")
		if err != nil {
			b.Fatal(err)
		}
		for _, ups := range []int{0, 60} {
			for _, mode := range []string{"alone", "hot", "warm"} {
				name := fmt.Sprintf("%s/%s", m, mode)
				if ups != 0 {
					name = fmt.Sprintf("%s/%dups/%s", m, ups, mode)
				}
				b.Run(name, func(b *testing.B) { benchPrimary(b, base, mode, ups) })
			}
		}
	}
}

func benchPrimary(b *testing.B, base *sim.Surface, mode string, ups int) {
	if ups == 0 {
		ups = 1_000_000
	}
	bundle := sim.DefaultBundle()
	cfg := func(dir string) shard.Config {
		return shard.Config{Name: "nauvis", Dir: dir, Epoch: 7, UPS: ups, MaxLag: time.Hour, CheckpointEvery: 1800, HashEvery: 60,
			New: func() (shard.Simulation, error) {
				var buf bytesBuffer
				if err := base.Save(&buf); err != nil {
					return nil, err
				}
				return sim.Load(bundle, &buf)
			},
			Load: func(r io.Reader) (shard.Simulation, error) { return sim.Load(bundle, r) },
		}
	}
	p, err := shard.Open(cfg(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Stop()
	var standbys []string
	if mode != "alone" {
		standbys = []string{"n2"}
	}
	p.SetStandbys(standbys)
	server := NewServer(Config{Node: "n1"})
	src := server.Add("nauvis", p, standbys)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterReplicationServiceServer(srv, server)
	go srv.Serve(ln)
	defer srv.Stop()
	if mode != "alone" {
		sb, err := shard.OpenStandby(cfg(b.TempDir()), mode == "hot")
		if err != nil {
			b.Fatal(err)
		}
		defer sb.Stop()
		conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		f := NewFollower(FollowerConfig{Config: Config{Node: "n2"}, Surface: "nauvis", Shard: sb,
			Dial: func(string) (pb.ReplicationServiceClient, error) { return pb.NewReplicationServiceClient(conn), nil }})
		defer f.Stop()
		f.Update("n1", ln.Addr().String(), 7)
	}
	p.Start()
	// Warm up: confirmation runs and the standby has caught up from its starting
	// checkpoint (a standby that cannot keep up with an unthrottled primary is
	// reported, and measured anyway).
	caughtUp := func() bool {
		st := src.Stats()
		return len(standbys) == 0 || len(st) == 1 && st[0].Connected && st[0].AckedTick+120 >= p.Executed()
	}
	for deadline := time.Now().Add(30 * time.Second); p.Confirmed() < 60 || !caughtUp(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			if p.Confirmed() < 60 {
				b.Fatalf("confirmed only %d ticks in 30s", p.Confirmed())
			}
			b.Logf("the standby has not caught up in 30s (%+v at tick %d); measuring anyway", src.Stats(), p.Executed())
			break
		}
	}
	from, fromConfirmed := p.Executed(), p.Confirmed()
	cpu0 := proctest.CPUTime()
	b.ResetTimer()
	start := time.Now()
	var trail uint64
	for p.Executed() < from+uint64(b.N) {
		trail = max(trail, p.Executed()-p.Confirmed())
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	ticks := p.Executed() - from
	b.ReportMetric(float64((proctest.CPUTime()-cpu0).Microseconds())/float64(ticks), "process-cpu-us/tick")
	recs, err := p.ReadExecuted(context.Background(), from+1, int(ticks))
	if err == nil && len(recs) > 0 {
		costs := make([]time.Duration, len(recs))
		var sum time.Duration
		for i, r := range recs {
			costs[i] = r.Cost
			sum += r.Cost
		}
		slices.Sort(costs)
		b.ReportMetric(float64(sum.Microseconds())/float64(len(costs)), "mean-tick-us")
		b.ReportMetric(float64(costs[len(costs)*99/100].Microseconds()), "p99-tick-us")
	}
	b.ReportMetric(float64(ticks)/el.Seconds(), "ups")
	b.ReportMetric(float64(trail), "max-unconfirmed-ticks")
	b.ReportMetric(float64(p.Confirmed()-fromConfirmed)/el.Seconds(), "confirmed/s")
}

type bytesBuffer struct {
	b   []byte
	off int
}

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *bytesBuffer) Read(p []byte) (int, error) {
	if w.off >= len(w.b) {
		return 0, io.EOF
	}
	n := copy(p, w.b[w.off:])
	w.off += n
	return n, nil
}
