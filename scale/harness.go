package scale

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Config configures one harness run.
type Config struct {
	// Bin is the starlane binary the processes run.
	Bin string
	// Dir holds the controllers' data dirs and the processes' logs.
	Dir      string
	Nodes    int
	Surfaces int
	Bridges  int
	// Steady is how long the leader's CPU is sampled once everything is placed.
	Steady time.Duration
	// Progress receives one line per phase.
	Progress io.Writer
	// ElectionTimeout is passed to the controllers (their default when zero).
	ElectionTimeout time.Duration
	// CPUProfile, if set, receives a CPU profile of the leader over the steady
	// phase (from its --metrics-bind /debug/pprof).
	CPUProfile string
}

// Report is what `starlane bench cluster --json` prints. Field names are a contract.
type Report struct {
	Controllers int `json:"controllers"`
	Nodes       int `json:"nodes"`
	Surfaces    int `json:"surfaces"`
	Bridges     int `json:"bridges"`
	// CreateSeconds is how long creating the surfaces and bridges took.
	CreateSeconds float64 `json:"create_seconds"`
	// PlacedSeconds is from the catalog's creation until every surface had a
	// primary on an up node and a synced standby.
	PlacedSeconds float64 `json:"placed_seconds"`
	// LeaderCPUPercent is the leader's CPU use in steady state, in percent of
	// one core, over SteadySeconds; LeaderRSSMiB its resident memory then, and
	// LeaderPeakRSSMiB its peak over the whole run.
	LeaderCPUPercent float64 `json:"leader_cpu_percent"`
	SteadySeconds    float64 `json:"steady_seconds"`
	LeaderRSSMiB     float64 `json:"leader_rss_mib"`
	LeaderPeakRSSMiB float64 `json:"leader_peak_rss_mib"`
	// SurfaceListSeconds is the wall time of `starlane surface list --json`.
	SurfaceListSeconds float64 `json:"surface_list_seconds"`
	SurfaceListCount   int     `json:"surface_list_count"`
	// KilledNode had KilledPrimaries primaries; all were on other up nodes
	// RePlacedSeconds after the kill (-1 if not within the wait).
	KilledNode      string  `json:"killed_node"`
	KilledPrimaries int     `json:"killed_primaries"`
	RePlacedSeconds float64 `json:"replaced_seconds"`
	// Lost counts surfaces or bridges missing from the catalog at the end, and
	// Unplaced surfaces without a primary on an up node.
	Lost     int `json:"lost"`
	Unplaced int `json:"unplaced"`
	// LoadAverage is the machine's 1-minute load average at the start and end.
	LoadAverage [2]string `json:"load_average"`
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

func (h *harness) start(name string, args ...string) (*proc, error) {
	lf, err := os.Create(filepath.Join(h.cfg.Dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(h.cfg.Bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: lf}
	return p, h.launch(p)
}

func (h *harness) launch(p *proc) error {
	if err := p.cmd.Start(); err != nil {
		p.log.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	go func() { p.cmd.Wait(); p.log.Close(); close(p.done) }()
	h.procs = append(h.procs, p)
	return nil
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

type harness struct {
	cfg   Config
	procs []*proc
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (h *harness) say(format string, args ...any) {
	if h.cfg.Progress != nil {
		fmt.Fprintf(h.cfg.Progress, "scale: "+format+"\n", args...)
	}
}

// Run starts three controllers and the node fleet, builds the catalog, and
// measures. Every process it started is stopped before it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Nodes < 2 || cfg.Surfaces < 1 || cfg.Bridges < 0 {
		return nil, errors.New("the harness needs at least 2 nodes and 1 surface")
	}
	if cfg.Steady <= 0 {
		cfg.Steady = 20 * time.Second
	}
	h := &harness{cfg: cfg}
	defer func() {
		for i := len(h.procs) - 1; i >= 0; i-- {
			h.procs[i].stop()
		}
	}()
	return h.run(ctx)
}

const adminToken = "slo-scaleharness00000000000000000"

func (h *harness) run(ctx context.Context) (*Report, error) {
	rep := &Report{Controllers: 3, Nodes: h.cfg.Nodes, Surfaces: h.cfg.Surfaces, Bridges: h.cfg.Bridges}
	rep.LoadAverage[0] = loadavg()
	var api, metricsAddrs []string
	var ctls []*proc
	for i := 1; i <= 3; i++ {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		r, err := freeAddr()
		if err != nil {
			return nil, err
		}
		m, err := freeAddr()
		if err != nil {
			return nil, err
		}
		metricsAddrs = append(metricsAddrs, m)
		args := []string{"controller", "--id", fmt.Sprintf("c%d", i), "--data-dir", filepath.Join(h.cfg.Dir, fmt.Sprintf("c%d", i)),
			"--bind", a, "--raft-bind", r, "--metrics-bind", m}
		if h.cfg.ElectionTimeout > 0 {
			args = append(args, "--election-timeout", h.cfg.ElectionTimeout.String())
		}
		if i == 1 {
			args = append(args, "--bootstrap", "--admin-token", adminToken)
		} else {
			args = append(args, "--join", api[0])
		}
		p, err := h.start(fmt.Sprintf("c%d", i), args...)
		if err != nil {
			return nil, err
		}
		api = append(api, a)
		ctls = append(ctls, p)
		if i == 1 {
			time.Sleep(time.Second) // the others join through it
		}
	}
	cl, err := ctlclient.Dial(api, tlsconf.Config{})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	cl.Token = adminToken
	h.say("3 controllers starting at %s", strings.Join(api, ","))
	var leader *proc
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		var st *pb.GetStatusResponse
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			st, err = c.GetStatus(ctx, &pb.GetStatusRequest{})
			return err
		})
		if err != nil || st.LeaderApiAddress == "" {
			return false
		}
		voters := 0
		for _, p := range st.Peers {
			if p.Suffrage == "voter" {
				voters++
			}
		}
		leader = ctls[slices.Index(api, st.LeaderApiAddress)]
		return voters == 3
	}); err != nil {
		return nil, fmt.Errorf("three voting controllers: %w", err)
	}
	h.say("leader is %s (pid %d)", leader.name, leader.cmd.Process.Pid)

	var tok string
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetJoinToken(ctx, &pb.GetJoinTokenRequest{})
		tok = r.GetToken()
		return err
	}); err != nil {
		return nil, err
	}
	fleet := exec.Command(h.cfg.Bin, "bench", "cluster-nodes", "--controller", strings.Join(api, ","),
		"--nodes", strconv.Itoa(h.cfg.Nodes))
	fleet.Env = append(os.Environ(), "STARLANE_JOIN_TOKEN="+tok)
	cmds, err := fleet.StdinPipe()
	if err != nil {
		return nil, err
	}
	lf, err := os.Create(filepath.Join(h.cfg.Dir, "nodes.log"))
	if err != nil {
		return nil, err
	}
	fleet.Stdout, fleet.Stderr = lf, lf
	fp := &proc{name: "nodes", cmd: fleet, done: make(chan struct{}), log: lf}
	if err := h.launch(fp); err != nil {
		return nil, err
	}
	defer cmds.Close()
	h.say("%d simulated nodes starting", h.cfg.Nodes)
	// The nodes register before the catalog exists, so the scheduler spreads
	// the surfaces over all of them as they are created.
	if err := waitUntil(ctx, 2*time.Minute, func() bool {
		p, err := observe(ctx, cl)
		return err == nil && p.up == h.cfg.Nodes
	}); err != nil {
		return rep, fmt.Errorf("registering %d nodes: %w", h.cfg.Nodes, err)
	}
	h.say("%d nodes up", h.cfg.Nodes)
	// The catalog: surfaces with one standby each, and bridges between
	// neighbours (ring order), created by 32 writers at once.
	t0 := time.Now()
	var created atomic.Int64
	if err := parallel(ctx, 32, h.cfg.Surfaces, func(ctx context.Context, i int) error {
		rid := ctlclient.NewRequestID()
		err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: rid, Name: surfaceName(i), Replicas: 2})
			return err
		})
		if n := created.Add(1); n%1000 == 0 {
			h.say("%d surfaces created", n)
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("create surfaces: %w", err)
	}
	created.Store(0)
	if err := parallel(ctx, 32, h.cfg.Bridges, func(ctx context.Context, i int) error {
		from, to := i%h.cfg.Surfaces, (i+1+i/h.cfg.Surfaces)%h.cfg.Surfaces
		b := &pb.Bridge{Id: fmt.Sprintf("b%05d", i), FromSurface: surfaceName(from), FromPort: fmt.Sprintf("out%d", i),
			ToSurface: surfaceName(to), ToPort: fmt.Sprintf("in%d", i)}
		_, err := cl.CreateBridge(ctx, ctlclient.NewRequestID(), b)
		if n := created.Add(1); n%1000 == 0 {
			h.say("%d bridges created", n)
		}
		return err
	}); err != nil {
		return nil, fmt.Errorf("create bridges: %w", err)
	}
	rep.CreateSeconds = time.Since(t0).Seconds()
	h.say("catalog created in %.1fs", rep.CreateSeconds)
	t1 := time.Now()

	var last *placement
	if err := waitUntil(ctx, 5*time.Minute, func() bool {
		p, err := observe(ctx, cl)
		if err != nil {
			return false
		}
		if last == nil || p.placed != last.placed || p.synced != last.synced {
			h.say("%d of %d surfaces placed, %d with a synced standby, %d nodes up", p.placed, h.cfg.Surfaces, p.synced, p.up)
		}
		last = p
		return p.placed == h.cfg.Surfaces && p.synced == h.cfg.Surfaces && p.up == h.cfg.Nodes
	}); err != nil {
		return rep, fmt.Errorf("placing every surface: %w", err)
	}
	rep.PlacedSeconds = time.Since(t1).Seconds()
	h.say("all placed in %.1fs; measuring the leader for %v", rep.PlacedSeconds, h.cfg.Steady)

	pid := leader.cmd.Process.Pid
	cpu0, w0 := procCPU(pid), time.Now()
	profDone := make(chan error, 1)
	if h.cfg.CPUProfile != "" {
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", metricsAddrs[slices.Index(ctls, leader)], int(h.cfg.Steady.Seconds()))
		go func() { profDone <- fetchTo(ctx, url, h.cfg.CPUProfile) }()
	} else {
		profDone <- nil
	}
	sleepCtx(ctx, h.cfg.Steady)
	cpu1, w1 := procCPU(pid), time.Now()
	rep.SteadySeconds = w1.Sub(w0).Seconds()
	rep.LeaderCPUPercent = 100 * (cpu1 - cpu0).Seconds() / rep.SteadySeconds
	rep.LeaderRSSMiB = procStatusMiB(pid, "VmRSS")
	h.say("leader: %.1f%% of a core, %.0f MiB resident", rep.LeaderCPUPercent, rep.LeaderRSSMiB)
	if err := <-profDone; err != nil {
		h.say("no CPU profile: %v", err)
	}

	t2 := time.Now()
	out, err := exec.CommandContext(ctx, h.cfg.Bin, "surface", "list", "--json", "--controller", strings.Join(api, ","), "--token", adminToken).Output()
	rep.SurfaceListSeconds = time.Since(t2).Seconds()
	if err != nil {
		return rep, fmt.Errorf("surface list: %w", err)
	}
	rep.SurfaceListCount = bytes.Count(out, []byte(`"name"`))
	h.say("surface list: %d surfaces in %.2fs", rep.SurfaceListCount, rep.SurfaceListSeconds)

	// Kill the node with the most primaries.
	p, err := observe(ctx, cl)
	if err != nil {
		return rep, err
	}
	victim, most := "", -1
	for _, n := range sortedKeys(p.primaries) {
		if len(p.primaries[n]) > most {
			victim, most = n, len(p.primaries[n])
		}
	}
	rep.KilledNode, rep.KilledPrimaries = victim, most
	fmt.Fprintf(cmds, "kill %s\n", victim)
	t3 := time.Now()
	h.say("killed %s with %d primaries", victim, most)
	rep.RePlacedSeconds = -1
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		p, err := observe(ctx, cl)
		if err != nil {
			return false
		}
		for _, s := range last.primaries[victim] {
			if n := p.primaryOf[s]; n == victim || n == "" || !p.upNodes[n] {
				return false
			}
		}
		return true
	}); err == nil {
		rep.RePlacedSeconds = time.Since(t3).Seconds()
		h.say("all %d re-placed in %.2fs", most, rep.RePlacedSeconds)
	} else {
		h.say("not all of %s's surfaces were re-placed within 60s", victim)
	}

	// Nothing lost: every surface and bridge is still in the catalog, every
	// surface has a primary on an up node.
	p, err = observe(ctx, cl)
	if err != nil {
		return rep, err
	}
	rep.Lost = h.cfg.Surfaces - p.total
	rep.Unplaced = h.cfg.Surfaces - p.placed
	var bridges int
	if err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := ctlclient.ListBridges(ctx, c)
		bridges = len(r.GetBridges())
		return err
	}); err != nil {
		return rep, err
	}
	rep.Lost += h.cfg.Bridges - bridges
	rep.LeaderPeakRSSMiB = procStatusMiB(pid, "VmHWM")
	rep.LoadAverage[1] = loadavg()
	h.say("done: %d lost, %d unplaced", rep.Lost, rep.Unplaced)
	return rep, nil
}

func fetchTo(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func surfaceName(i int) string { return fmt.Sprintf("s%04d", i) }

type placement struct {
	total, placed, synced, up int
	upNodes                   map[string]bool
	primaryOf                 map[string]string
	primaries                 map[string][]string // node -> surfaces
}

func observe(ctx context.Context, cl *ctlclient.Client) (*placement, error) {
	var sfs []*pb.Surface
	var nodes []*pb.Node
	err := cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := ctlclient.ListSurfaces(ctx, c)
		if err != nil {
			return err
		}
		n, err := ctlclient.ListNodes(ctx, c)
		if err != nil {
			return err
		}
		sfs, nodes = r.Surfaces, n.Nodes
		return nil
	})
	if err != nil {
		return nil, err
	}
	p := &placement{total: len(sfs), upNodes: map[string]bool{}, primaryOf: map[string]string{}, primaries: map[string][]string{}}
	for _, n := range nodes {
		if n.Status == pb.NodeStatus_NODE_STATUS_UP {
			p.upNodes[n.Id] = true
			p.up++
		}
	}
	for _, s := range sfs {
		a := s.GetAssignment()
		p.primaryOf[s.Name] = a.GetPrimary()
		if a.GetPrimary() != "" && p.upNodes[a.GetPrimary()] {
			p.placed++
			p.primaries[a.GetPrimary()] = append(p.primaries[a.GetPrimary()], s.Name)
			if len(a.GetSynced()) > 0 {
				p.synced++
			}
		}
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				// A few tries: on a machine this busy a leader election can
				// outlast one call's deadline; retrying with a fresh request
				// ID is safe (a duplicate name or ID is refused, see below).
				var err error
				for try := 0; try < 3 && ctx.Err() == nil; try++ {
					cctx, cancel := context.WithTimeout(ctx, time.Minute)
					err = fn(cctx, i)
					cancel()
					if err == nil || status.Code(err) == codes.AlreadyExists {
						err = nil
						break
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func waitUntil(ctx context.Context, d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for {
		if ok() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		if err := sleepCtx(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// procCPU is a process's user plus system CPU time (Linux /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / 100 // USER_HZ
}

func procStatusMiB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field+":") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
