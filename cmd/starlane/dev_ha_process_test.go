package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/devcluster"
	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestDevSurvivesAnyOneKill runs the default `starlane dev` (three controllers,
// three nodes, every surface with a standby) and kills each of its six processes
// in turn with SIGKILL: within 5 s of each kill every surface must be ticking
// again as players see it (an unfenced primary's confirmed tick advancing past
// the one at the kill), and `surface list` through the controllers that are
// left must show it (two live reports made after the kill, ticks advancing;
// within 15 s, as reports come with the 1 s heartbeat). dev restarts the killed
// process; the next kill waits until the cluster is whole again (three voters,
// every surface with a standby in step).
func TestDevSurvivesAnyOneKill(t *testing.T) {
	dir, bin := processTest(t, "starts a dev cluster of six processes")
	data := filepath.Join(dir, "dev")
	dev := proctest.Start(t, "dev", bin, filepath.Join(dir, "dev.log"), "dev", "--data-dir", data, "--port", "0", "--log-level", "warn")
	var info devcluster.Info
	readInfo := func() bool {
		b, err := os.ReadFile(filepath.Join(data, "cluster.json"))
		return err == nil && json.Unmarshal(b, &info) == nil && info.ControllerAddrs != ""
	}
	proctest.Eventually(t, 180*time.Second, "starlane dev to write cluster.json", readInfo)
	if len(info.Controllers) != 3 || len(info.Nodes) != 3 {
		t.Fatalf("dev runs controllers %v and nodes %v, want three of each", info.Controllers, info.Nodes)
	}
	if log := dev.Log(); !strings.Contains(log, "starting controllers c2, c3") || !strings.Contains(log, "admin token  "+info.Token) {
		t.Fatalf("dev's output lacks its progress or the admin token:\n%s", log)
	}
	// The test reads the cluster as an operator would, through any controller,
	// in process (cheaper and quicker than a CLI per poll).
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(info.ControllerAddrs), tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cl.Token = info.Token
	surfaces := func() (map[string]*pb.Surface, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var r *pb.ListSurfacesResponse
		if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = ctlclient.ListSurfaces(ctx, c)
			return err
		}); err != nil {
			return nil, false
		}
		m := map[string]*pb.Surface{}
		for _, s := range r.Surfaces {
			m[s.Name] = s
		}
		return m, len(m) == 3
	}
	voters := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var r *pb.GetStatusResponse
		if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = c.GetStatus(ctx, &pb.GetStatusRequest{})
			return err
		}); err != nil || r.LeaderId == "" {
			return 0
		}
		n := 0
		for _, p := range r.Peers {
			if p.Suffrage == "voter" {
				n++
			}
		}
		return n
	}
	// whole: three voters, every process alive, every surface ticking with a
	// standby in step (so that the next kill, wherever it lands, has a standby).
	whole := func() bool {
		if !readInfo() || len(info.PIDs) != 6 {
			return false
		}
		for _, pid := range info.PIDs {
			if syscall.Kill(pid, 0) != nil {
				return false
			}
		}
		if voters() != 3 {
			return false
		}
		m, ok := surfaces()
		if !ok {
			return false
		}
		for _, s := range m {
			if st := s.GetStats(); st == nil || st.Stale || st.Tick == 0 || len(s.GetAssignment().GetSynced()) == 0 {
				return false
			}
		}
		return true
	}
	var victims []string
	for name := range info.Controllers {
		victims = append(victims, name)
	}
	sort.Strings(victims)
	var nodes []string
	for name := range info.Nodes {
		nodes = append(nodes, name)
	}
	sort.Strings(nodes)
	victims = append(victims, nodes...)
	// The shards' own view: each node answers GetShard for the surfaces whose
	// unfenced primary it runs, with the confirmed tick players receive.
	conns := map[string]*grpc.ClientConn{}
	for name, addr := range info.Nodes {
		cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		conns[name] = cc
	}
	confirmed := func() map[string]uint64 {
		var mu sync.Mutex
		var wg sync.WaitGroup
		out := map[string]uint64{}
		for _, cc := range conns {
			for name := range info.Surfaces {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
					defer cancel()
					r, err := pb.NewShardServiceClient(cc).GetShard(ctx, &pb.GetShardRequest{Surface: name})
					if err != nil || r.Fenced {
						return
					}
					mu.Lock()
					out[name] = max(out[name], r.ConfirmedTick)
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		return out
	}
	for _, victim := range victims {
		proctest.Eventually(t, 120*time.Second, "the dev cluster to be whole before killing "+victim, whole)
		before, ok := surfaces()
		if !ok {
			t.Fatal("surface list failed on a whole cluster")
		}
		atKill := confirmed()
		pid := info.PIDs[victim]
		killed := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %s (pid %d): %v", victim, pid, err)
		}
		// Ticking again, as players see it: an unfenced primary's confirmed tick
		// moves between two polls after the kill, past where it was at the kill.
		first := map[string]uint64{}
		back := map[string]time.Duration{}
		var last map[string]uint64
		for len(back) < len(info.Surfaces) && time.Since(killed) < 5*time.Second {
			last = confirmed()
			for name, c := range last {
				if _, done := back[name]; done {
					continue
				}
				if f, ok := first[name]; !ok {
					first[name] = c
				} else if c > f && c > atKill[name] {
					back[name] = time.Since(killed)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		// And as operators see it: `surface list` through the controllers that
		// are left shows two live reports made after the kill, ticks advancing.
		seen := map[string]uint64{}
		listed := map[string]time.Duration{}
		var lastList map[string]*pb.Surface
		for len(listed) < len(info.Surfaces) && time.Since(killed) < 15*time.Second {
			m, ok := surfaces()
			if !ok {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			lastList = m
			for name, s := range m {
				st := s.GetStats()
				if _, done := listed[name]; done || st == nil || st.Stale || st.ReportedUnixMs <= killed.UnixMilli() || st.Tick <= before[name].GetStats().GetTick() {
					continue
				}
				if prev, ok := seen[name]; ok && st.Tick > prev {
					listed[name] = time.Since(killed)
				} else if !ok {
					seen[name] = st.Tick
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		var report []string
		for _, name := range slices.Sorted(maps.Keys(info.Surfaces)) {
			got := "no report"
			if s := lastList[name]; s.GetStats() != nil {
				got = fmt.Sprintf("listed at tick %d on %s (stale %v)", s.Stats.Tick, s.GetAssignment().GetPrimary(), s.Stats.Stale)
			}
			b := before[name]
			report = append(report, fmt.Sprintf("%s: confirmed tick %d on %s at the kill, %d last seen; ticking again after %v; %s after %v",
				name, atKill[name], b.GetAssignment().GetPrimary(), last[name], back[name].Round(time.Millisecond), got, listed[name].Round(time.Millisecond)))
		}
		ld, _ := os.ReadFile("/proc/loadavg")
		t.Logf("killed %s (pid %d), load average %s:\n  %s", victim, pid, strings.TrimSpace(string(ld)), strings.Join(report, "\n  "))
		if len(back) < len(info.Surfaces) {
			t.Fatalf("after killing %s not every surface was ticking again within 5 s (load average %s):\n  %s", victim, strings.TrimSpace(string(ld)), strings.Join(report, "\n  "))
		}
		if len(listed) < len(info.Surfaces) {
			t.Fatalf("after killing %s, surface list did not show every surface ticking within 15 s (load average %s):\n  %s", victim, strings.TrimSpace(string(ld)), strings.Join(report, "\n  "))
		}
	}
}
