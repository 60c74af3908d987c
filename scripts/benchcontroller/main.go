// Command benchcontroller measures a three-member Starlane controller cluster and
// a three-member etcd cluster side by side on loopback: sequential and concurrent
// small-write throughput and latency, and the time from killing the leader with
// SIGKILL to the next acknowledged write. It is run by scripts/bench-controller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func main() {
	var (
		starlane = flag.String("starlane", "bin/starlane", "starlane binary")
		etcdBin  = flag.String("etcd", "etcd", "etcd binary")
		runs     = flag.Int("runs", 5, "runs per system")
		dur      = flag.Duration("duration", 5*time.Second, "length of each throughput phase")
		clients  = flag.Int("clients", 64, "concurrent clients")
		static   = flag.Bool("static-windows", false, "give the benchmark's client connections static HTTP/2 flow-control windows (no BDP pings), as ctlclient has, for both systems")
		only     = flag.String("only", "", "run only this system (starlane or etcd)")
		metrics  = flag.Bool("metrics", false, "start the controllers with --metrics-bind (addresses printed) to profile them")
		profDir  = flag.String("profile", "", "write CPU profiles of the Starlane leader and a follower for each phase of each run to this directory (implies -metrics)")
		traceDur = flag.Duration("trace", 0, "with -profile, also write 'go tool trace' execution traces of this length of the leader and a follower in each phase")
	)
	flag.Parse()
	if *static {
		dialOpts = append(dialOpts, grpc.WithStaticStreamWindowSize(1<<20), grpc.WithStaticConnWindowSize(4<<20))
	}
	if *profDir != "" {
		*metrics = true
		if err := os.MkdirAll(*profDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	systems := []system{&starlaneSys{bin: *starlane, metrics: *metrics}, &etcdSys{bin: *etcdBin}}
	results := map[string][]result{}
	for r := 0; r < *runs; r++ {
		for _, s := range systems {
			if *only != "" && s.name() != *only {
				continue
			}
			res, err := runOnce(s, *dur, *clients, profiler{dir: *profDir, run: r + 1, trace: *traceDur})
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s run %d: %v\n", s.name(), r+1, err)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "%s run %d: seq %.0f w/s p50 %.2f ms | conc %.0f w/s p50 %.2f ms p99 %.2f ms, CPU/write members %d µs client %d µs | peak RSS %d MiB | failover %.2f s | load %s\n",
				s.name(), r+1, res.seqRate, ms(res.seqP50), res.concRate, ms(res.concP50), ms(res.concP99),
				res.concSrvCPU.Microseconds(), res.concCliCPU.Microseconds(), res.peakRSS, res.failover.Seconds(), loadavg())
			results[s.name()] = append(results[s.name()], res)
		}
	}
	fmt.Printf("| system | sequential writes/s | sequential p50 | sequential p99 | %d-client writes/s | %d-client p50 | %d-client p99 | %d-client CPU per write (members + client) | peak member RSS | leader kill -> next write (median; all runs) |\n", *clients, *clients, *clients, *clients)
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range systems {
		rs := results[s.name()]
		if len(rs) == 0 {
			continue
		}
		med := func(f func(result) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			sort.Float64s(v)
			return v[len(v)/2]
		}
		var fo []string
		for _, r := range rs {
			fo = append(fo, fmt.Sprintf("%.2f", r.failover.Seconds()))
		}
		fmt.Printf("| %s | %.0f | %.2f ms | %.2f ms | %.0f | %.2f ms | %.2f ms | %.0f + %.0f µs | %.0f MiB | %.2f s (%s) |\n", s.name(),
			med(func(r result) float64 { return r.seqRate }), med(func(r result) float64 { return ms(r.seqP50) }), med(func(r result) float64 { return ms(r.seqP99) }),
			med(func(r result) float64 { return r.concRate }), med(func(r result) float64 { return ms(r.concP50) }), med(func(r result) float64 { return ms(r.concP99) }),
			med(func(r result) float64 { return float64(r.concSrvCPU.Microseconds()) }), med(func(r result) float64 { return float64(r.concCliCPU.Microseconds()) }),
			med(func(r result) float64 { return float64(r.peakRSS) }),
			med(func(r result) float64 { return r.failover.Seconds() }), strings.Join(fo, ", "))
	}
}

// loadavg is the 1-minute load average, for the record.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

type result struct {
	seqRate, concRate float64
	seqP50, seqP99    time.Duration
	concP50, concP99  time.Duration
	// CPU time per write in the 64-client phase, summed over the three members,
	// and of this benchmark process (the client).
	concSrvCPU, concCliCPU time.Duration
	// peakRSS is the largest peak resident set of a member after the
	// throughput phases, in MiB.
	peakRSS  int
	failover time.Duration
}

// system is one cluster under test.
type system interface {
	name() string
	// start launches three members in dir and returns their client addresses.
	start(dir string) ([]string, error)
	// leader returns the index of the current leader.
	leader(ctx context.Context, conns []*grpc.ClientConn) (int, error)
	// write performs one small write with a unique key.
	write(ctx context.Context, cc *grpc.ClientConn, key string) error
	kill(i int)
	stop()
	// cpu is the CPU time the members have used so far.
	cpu() time.Duration
	// peakRSS is the largest peak resident set size of a member, in MiB.
	peakRSS() int
}

// profiler fetches CPU profiles from the members' /debug/pprof/profile while a
// phase runs; a system without profile endpoints is skipped.
type profiler struct {
	dir   string
	run   int
	trace time.Duration
}

// start profiles the leader and one follower for d and returns a function that
// waits for the profiles to be written.
func (p profiler) start(s system, leader int, phase string, d time.Duration) func() {
	ps, ok := s.(interface{ profileURL(i int) string })
	if p.dir == "" || !ok || d < 2*time.Second {
		return func() {}
	}
	var wg sync.WaitGroup
	for _, i := range []int{leader, (leader + 1) % 3} {
		role := "leader"
		if i != leader {
			role = "follower"
		}
		url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", ps.profileURL(i), int((d-time.Second)/time.Second))
		file := filepath.Join(p.dir, fmt.Sprintf("%s-run%d-%s-%s.pprof", s.name(), p.run, phase, role))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fetch(url, file); err != nil {
				fmt.Fprintf(os.Stderr, "profile %s: %v\n", file, err)
			}
		}()
	}
	if p.trace > 0 {
		// Traced in the middle of the phase, after the CPU profile started: the
		// leader and the same follower, at the same time.
		for _, i := range []int{leader, (leader + 1) % 3} {
			role := "leader"
			if i != leader {
				role = "follower"
			}
			url := fmt.Sprintf("%s/debug/pprof/trace?seconds=%g", ps.profileURL(i), p.trace.Seconds())
			file := filepath.Join(p.dir, fmt.Sprintf("%s-run%d-%s-%s.trace", s.name(), p.run, phase, role))
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Second)
				if err := fetch(url, file); err != nil {
					fmt.Fprintf(os.Stderr, "trace %s: %v\n", file, err)
				}
			}()
		}
	}
	return wg.Wait
}

func fetch(url, file string) error {
	resp, err := http.Get(url)
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

func runOnce(s system, dur time.Duration, clients int, prof profiler) (result, error) {
	var res result
	dir, err := os.MkdirTemp("", "bench-controller-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	addrs, err := s.start(dir)
	defer s.stop()
	if err != nil {
		return res, err
	}
	var conns []*grpc.ClientConn
	for _, a := range addrs {
		cc, err := grpc.NewClient(a, dialOpts...)
		if err != nil {
			return res, err
		}
		defer cc.Close()
		conns = append(conns, cc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var l int
	for {
		if l, err = s.leader(ctx, conns); err == nil {
			if err = s.write(ctx, conns[l], "warm-0"); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("cluster never became ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Extra connections to the leader for the concurrent phase, as etcd's own
	// benchmark tool spreads clients over several connections.
	lconns := []*grpc.ClientConn{conns[l]}
	for i := 0; i < 7; i++ {
		cc, err := grpc.NewClient(addrs[l], dialOpts...)
		if err != nil {
			return res, err
		}
		defer cc.Close()
		lconns = append(lconns, cc)
	}
	var keyN atomic.Int64
	key := func() string { return fmt.Sprintf("k%09d", keyN.Add(1)) }
	for i := 0; i < 200; i++ {
		if err := s.write(ctx, conns[l], key()); err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
	}
	wait := prof.start(s, l, "seq", dur)
	res.seqRate, res.seqP50, res.seqP99, _, _, err = load(s, lconns[:1], 1, dur, key)
	wait()
	if err != nil {
		return res, fmt.Errorf("sequential: %w", err)
	}
	wait = prof.start(s, l, "conc", dur)
	res.concRate, res.concP50, res.concP99, res.concSrvCPU, res.concCliCPU, err = load(s, lconns, clients, dur, key)
	wait()
	if err != nil {
		return res, fmt.Errorf("concurrent: %w", err)
	}
	res.peakRSS = s.peakRSS()
	res.failover, err = failover(s, conns, l, key)
	return res, err
}

// load runs n writers for d and returns writes/s, latency percentiles and the CPU
// time per write of the members and of the client.
func load(s system, conns []*grpc.ClientConn, n int, d time.Duration, key func() string) (rate float64, p50, p99, srvCPU, cliCPU time.Duration, err error) {
	srv0, cli0 := s.cpu(), selfCPU()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lats []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(cc *grpc.ClientConn) {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				err := s.write(context.Background(), cc, key())
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}(conns[i%len(conns)])
	}
	wg.Wait()
	el := time.Since(start)
	srv1, cli1 := s.cpu(), selfCPU()
	if firstErr != nil {
		return 0, 0, 0, 0, 0, firstErr
	}
	slices.Sort(lats)
	w := time.Duration(len(lats))
	return float64(len(lats)) / el.Seconds(), lats[len(lats)/2], lats[len(lats)*99/100], (srv1 - srv0) / w, (cli1 - cli0) / w, nil
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// failover keeps one writer going over all members (moving on after an error or
// a 1 s attempt timeout), SIGKILLs the leader and returns the time to the next
// acknowledged write.
func failover(s system, conns []*grpc.ClientConn, leader int, key func() string) (time.Duration, error) {
	var killed atomic.Int64
	got := make(chan time.Time, 1)
	stop := make(chan struct{})
	go func() {
		cur := leader
		for {
			select {
			case <-stop:
				return
			default:
			}
			began := time.Now().UnixNano()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			err := s.write(ctx, conns[cur], key())
			cancel()
			if err != nil {
				cur = (cur + 1) % len(conns)
				if cur == leader {
					time.Sleep(20 * time.Millisecond)
				}
				continue
			}
			// Count only a write sent after the kill: one already in flight may
			// have been answered by the old leader just before it died.
			if k := killed.Load(); k != 0 && began > k {
				select {
				case got <- time.Now():
				default:
				}
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	at := time.Now()
	killed.Store(at.UnixNano())
	s.kill(leader)
	select {
	case t := <-got:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var alive []*grpc.ClientConn
		for i, cc := range conns {
			if i != leader {
				alive = append(alive, cc)
			}
		}
		if _, err := s.leader(ctx, alive); err != nil {
			return 0, fmt.Errorf("after the kill no surviving member is leader: %w", err)
		}
		return t.Sub(at), nil
	case <-time.After(30 * time.Second):
		close(stop)
		return 0, errors.New("no write succeeded within 30 s of the leader kill")
	}
}

func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

type procs struct{ cmds []*exec.Cmd }

func (p *procs) launch(dir, name, bin string, args ...string) error {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return err
	}
	defer f.Close()
	c := exec.Command(bin, args...)
	c.Stdout, c.Stderr = f, f
	if err := c.Start(); err != nil {
		return err
	}
	p.cmds = append(p.cmds, c)
	return nil
}

// cpu sums user+system CPU time of the running members (from /proc, in clock
// ticks of 10 ms).
func (p *procs) cpu() time.Duration {
	var sum time.Duration
	for _, c := range p.cmds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.Pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name; utime and stime are the
		// 14th and 15th fields of the whole line.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		var ut, st int64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		sum += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return sum
}

func (p *procs) peakRSS() int {
	most := 0
	for _, c := range p.cmds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Process.Pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
				var kb int
				fmt.Sscan(f[1], &kb)
				most = max(most, kb/1024)
			}
		}
	}
	return most
}

func (p *procs) kill(i int) {
	p.cmds[i].Process.Signal(syscall.SIGKILL)
	p.cmds[i].Wait()
}

func (p *procs) stop() {
	for _, c := range p.cmds {
		if c.ProcessState == nil {
			c.Process.Signal(syscall.SIGKILL)
			c.Wait()
		}
	}
	p.cmds = nil
}

// starlaneSys runs `starlane controller` with default timeouts.
type starlaneSys struct {
	bin     string
	metrics bool
	procs
	addrs       []string
	metricAddrs []string
}

func (s *starlaneSys) profileURL(i int) string { return "http://" + s.metricAddrs[i] }

func (s *starlaneSys) name() string { return "starlane" }

func (s *starlaneSys) start(dir string) ([]string, error) {
	ports, err := freePorts(9)
	if err != nil {
		return nil, err
	}
	s.addrs = []string{ports[0], ports[2], ports[4]}
	s.metricAddrs = ports[6:9]
	for i := 0; i < 3; i++ {
		args := []string{"controller", "--id", fmt.Sprintf("c%d", i+1), "--data-dir", filepath.Join(dir, fmt.Sprintf("c%d", i+1)),
			"--bind", ports[2*i], "--raft-bind", ports[2*i+1], "--log-level", "warn"}
		if s.metrics {
			args = append(args, "--metrics-bind", ports[6+i])
			fmt.Fprintf(os.Stderr, "c%d: api %s metrics http://%s/metrics\n", i+1, ports[2*i], ports[6+i])
		}
		if i == 0 {
			args = append(args, "--bootstrap", "--admin-token", benchToken)
		} else {
			args = append(args, "--join", ports[0])
		}
		if err := s.launch(dir, fmt.Sprintf("c%d", i+1), s.bin, args...); err != nil {
			return nil, err
		}
		if i == 0 {
			time.Sleep(1500 * time.Millisecond) // let it win its first election
		}
	}
	// Wait until all three are voters.
	cc, err := grpc.NewClient(ports[0], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		st, err := pb.NewClusterServiceClient(cc).GetStatus(withToken(context.Background()), &pb.GetStatusRequest{})
		if err != nil {
			continue
		}
		v := 0
		for _, p := range st.Peers {
			if p.Suffrage == "voter" {
				v++
			}
		}
		if v == 3 {
			return s.addrs, nil
		}
	}
	return nil, errors.New("starlane controllers did not form a 3-voter cluster")
}

func (s *starlaneSys) leader(ctx context.Context, conns []*grpc.ClientConn) (int, error) {
	for _, cc := range conns {
		st, err := pb.NewClusterServiceClient(cc).GetStatus(withToken(ctx), &pb.GetStatusRequest{})
		if err != nil {
			continue
		}
		for i, a := range s.addrs {
			if a == st.LeaderApiAddress {
				return i, nil
			}
		}
	}
	return 0, errors.New("no leader")
}

var reqN atomic.Int64

// Field numbers of CreateSurfaceRequest, from its descriptor.
var (
	createFields  = (&pb.CreateSurfaceRequest{}).ProtoReflect().Descriptor().Fields()
	fieldReqID    = createFields.ByName("request_id").Number()
	fieldSurfName = createFields.ByName("name").Number()
)

// write creates a surface named key with a fresh request ID, as ctlclient does.
// Like etcd's Put below, the request is encoded by hand and the reply is not
// decoded, so the client spends the same (small) CPU per write on both systems:
// the client shares the machine's two cores with the members.
// benchToken is the admin operator token the first controller installs: every
// Starlane call carries it, as every ctlclient call does.
const benchToken = "slo-benchcontroller00000000000000"

func withToken(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+benchToken)
}

func (s *starlaneSys) write(ctx context.Context, cc *grpc.ClientConn, key string) error {
	b := protowire.AppendTag(nil, fieldReqID, protowire.BytesType)
	b = protowire.AppendString(b, fmt.Sprintf("bench-%d-%d", os.Getpid(), reqN.Add(1)))
	b = protowire.AppendTag(b, fieldSurfName, protowire.BytesType)
	b = protowire.AppendString(b, key)
	return cc.Invoke(withToken(ctx), pb.ClusterService_CreateSurface_FullMethodName, &raw{b}, &raw{}, grpc.ForceCodec(rawCodec{}))
}

// etcdSys runs etcd with default timeouts (heartbeat 100 ms, election 1000 ms).
type etcdSys struct {
	bin string
	procs
}

func (e *etcdSys) name() string { return "etcd" }

func (e *etcdSys) start(dir string) ([]string, error) {
	ports, err := freePorts(6)
	if err != nil {
		return nil, err
	}
	var cluster []string
	for i := 0; i < 3; i++ {
		cluster = append(cluster, fmt.Sprintf("e%d=http://%s", i+1, ports[2*i+1]))
	}
	var addrs []string
	for i := 0; i < 3; i++ {
		client, peer := ports[2*i], ports[2*i+1]
		addrs = append(addrs, client)
		err := e.launch(dir, fmt.Sprintf("e%d", i+1), e.bin,
			"--name", fmt.Sprintf("e%d", i+1), "--data-dir", filepath.Join(dir, fmt.Sprintf("e%d", i+1)),
			"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
			"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
			"--initial-cluster", strings.Join(cluster, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "bench", "--logger", "zap", "--log-level", "error")
		if err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// raw is a pre-encoded protobuf message; etcd is called without its client
// library, with hand-encoded PutRequest and StatusRequest messages.
type raw struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*raw).b, nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	v.(*raw).b = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

func (e *etcdSys) write(ctx context.Context, cc *grpc.ClientConn, key string) error {
	// etcdserverpb.PutRequest{key: 1, value: 2}
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte(key))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("small-value-0123456789abcdef"))
	return cc.Invoke(ctx, "/etcdserverpb.KV/Put", &raw{b}, &raw{}, grpc.ForceCodec(rawCodec{}))
}

func (e *etcdSys) leader(ctx context.Context, conns []*grpc.ClientConn) (int, error) {
	for i, cc := range conns {
		var out raw
		if err := cc.Invoke(ctx, "/etcdserverpb.Maintenance/Status", &raw{}, &out, grpc.ForceCodec(rawCodec{})); err != nil {
			continue
		}
		// StatusResponse{header: 1 {member_id: 2}, leader: 4}
		var member, leader uint64
		walk(out.b, func(num protowire.Number, v uint64, sub []byte) {
			switch num {
			case 1:
				walk(sub, func(n protowire.Number, v uint64, _ []byte) {
					if n == 2 {
						member = v
					}
				})
			case 4:
				leader = v
			}
		})
		if leader != 0 && leader == member {
			return i, nil
		}
	}
	return 0, errors.New("no leader")
}

func walk(b []byte, fn func(protowire.Number, uint64, []byte)) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return
			}
			fn(num, v, nil)
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return
			}
			fn(num, 0, v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return
			}
			b = b[n:]
		}
	}
}

// dialOpts are the benchmark client's connection options, the same for both
// systems.
var dialOpts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
