package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// devPorts is what `starlane dev` keeps in DATA_DIR/dev.json so that a second start
// uses the same addresses (the controller's Raft address is part of its state).
type devPorts struct {
	Host           string `json:"host"`
	ControllerAPI  int    `json:"controller_api"`
	ControllerRaft int    `json:"controller_raft"`
	ControllerMet  int    `json:"controller_metrics"`
	Nodes          []struct {
		Name    string `json:"name"`
		API     int    `json:"api"`
		Metrics int    `json:"metrics"`
	} `json:"nodes"`
}

// clusterJSON is DATA_DIR/cluster.json, written once the dev cluster is ready and
// again whenever a process is restarted.
type clusterJSON struct {
	Controller string `json:"controller"`
	// Dashboard is the controller's web dashboard.
	Dashboard string            `json:"dashboard"`
	Nodes     map[string]string `json:"nodes"`
	Surfaces  map[string]string `json:"surfaces"`
	// Bridges maps each bridge to "FROM:PORT -> TO:PORT".
	Bridges   map[string]string `json:"bridges"`
	JoinToken string            `json:"join_token"`
	// Token is the first admin operator token (for --token / STARLANE_TOKEN).
	Token   string            `json:"token"`
	DataDir string            `json:"data_dir"`
	Metrics map[string]string `json:"metrics"`
	PIDs    map[string]int    `json:"pids"`
	Logs    string            `json:"logs"`
}

// devSurfaces is the default world.
var devSurfaces = []struct {
	name, planet, mapName string
	seed                  uint64
}{
	{"nauvis", "nauvis", "starter", 1},
	{"vulcanus", "vulcanus", "outpost", 2},
	{"fulgora", "fulgora", "hub", 3},
}

// devBridges link the default world: nauvis's surplus plates go to vulcanus, vulcanus's
// coal comes back, and its stone goes to the hub on fulgora.
var devBridges = []*pb.Bridge{
	{Id: "nauvis-to-vulcanus", FromSurface: "nauvis", FromPort: "out", ToSurface: "vulcanus", ToPort: "in"},
	{Id: "vulcanus-to-nauvis", FromSurface: "vulcanus", FromPort: "out", ToSurface: "nauvis", ToPort: "in"},
	{Id: "vulcanus-to-hub", FromSurface: "vulcanus", FromPort: "out2", ToSurface: "fulgora", ToPort: "in1"},
}

func defaultDevDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "starlane", "dev")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "starlane", "dev")
	}
	return filepath.Join(os.TempDir(), "starlane-dev")
}

func newDevCmd() *cobra.Command {
	var (
		dir      string
		port     int
		logLevel string
		ckpt     uint64
	)
	cmd := &cobra.Command{
		Use:   "dev [--data-dir D]",
		Short: "Run a whole local cluster: a controller, two nodes and a default world",
		Long: `Start a single-voter controller and two worker nodes as child processes on
loopback, and create the default world: nauvis running the starter factory,
vulcanus a mining outpost and fulgora a storage hub, each on a node the scheduler
picks.
The addresses, the join token and the data directory are printed, and written to
DATA_DIR/cluster.json once everything ticks. A node or controller that dies is
restarted. Ctrl-C stops everything cleanly; running it again with the same data
directory resumes where it stopped.`,
		Example: `  starlane dev
  starlane dev --data-dir /tmp/sl --port 0     # random free ports`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if port < 0 || port > 65000 {
				return fmt.Errorf("--port %d: give a base port up to 65000, or 0 for random free ports", port)
			}
			if _, err := newLogger(logLevel); err != nil {
				return err
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			d := &devCluster{dir: abs, out: cmd.OutOrStdout(), logLevel: logLevel, checkpointEvery: ckpt}
			return d.run(port)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "data-dir", defaultDevDir(), "directory for every process's data, the logs and cluster.json")
	f.IntVar(&port, "port", 7400, "first port: controller API PORT, Raft PORT+1, nodes PORT+10 and PORT+20 (0: random free ports, kept for the next start)")
	f.StringVar(&logLevel, "log-level", "info", "log level of the child processes (their logs go to DATA_DIR/logs)")
	f.Uint64Var(&ckpt, "checkpoint-every", 1800, "nodes checkpoint each surface every this many ticks")
	return cmd
}

type devCluster struct {
	dir             string
	out             io.Writer
	logLevel        string
	checkpointEvery uint64
	exe             string
	ports           devPorts
	token           string
	adminToken      string

	mu       sync.Mutex
	procs    map[string]*devProc
	stopping bool
	info     clusterJSON
}

type devProc struct {
	name string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	// quickExits counts exits in a row within quickExit of starting.
	quickExits int
}

// A process that exits within quickExit of starting, maxQuickExits times in a
// row, is not started again: it is refusing to start (a damaged store, a port in
// use), and restarting it forever would only hide the reason. Restarts after a
// quick exit back off (1 s, 2 s, 4 s).
const (
	quickExit     = 10 * time.Second
	maxQuickExits = 3
)

func (d *devCluster) run(basePort int) error {
	var err error
	if d.exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find the starlane binary: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "logs"), 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(d.dir, "dev.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another `starlane dev` is using %s; stop it or pass another --data-dir", d.dir)
	}
	if err := d.loadPorts(basePort); err != nil {
		return err
	}
	if err := d.checkPortsFree(); err != nil {
		return err
	}
	// A cluster.json left by an earlier run must not be mistaken for this one.
	if err := os.Remove(filepath.Join(d.dir, "cluster.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d.procs = map[string]*devProc{}
	err = d.start(ctx)
	if err == nil {
		fmt.Fprintln(d.out, "Ctrl-C stops everything; `starlane dev` with the same --data-dir resumes.")
		<-ctx.Done()
		fmt.Fprintln(d.out, "stopping…")
	}
	d.shutdown()
	if err == nil {
		fmt.Fprintln(d.out, "stopped; data kept in", d.dir)
	}
	return err
}

func (d *devCluster) loadPorts(base int) error {
	file := filepath.Join(d.dir, "dev.json")
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &d.ports); err != nil {
			return fmt.Errorf("%s is corrupt (%v); delete it to pick new ports", file, err)
		}
		return nil
	}
	pick := func(offset int) (int, error) {
		if base != 0 {
			return base + offset, nil
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	p := devPorts{Host: "127.0.0.1"}
	var err error
	ports := []*int{&p.ControllerAPI, &p.ControllerRaft, &p.ControllerMet}
	offsets := []int{0, 1, 2}
	p.Nodes = make([]struct {
		Name    string `json:"name"`
		API     int    `json:"api"`
		Metrics int    `json:"metrics"`
	}, 2)
	for i := range p.Nodes {
		p.Nodes[i].Name = fmt.Sprintf("n%d", i+1)
		ports = append(ports, &p.Nodes[i].API, &p.Nodes[i].Metrics)
		offsets = append(offsets, 10*(i+1), 10*(i+1)+2)
	}
	for i, ptr := range ports {
		if *ptr, err = pick(offsets[i]); err != nil {
			return err
		}
	}
	d.ports = p
	b, _ := json.MarshalIndent(p, "", "  ")
	return os.WriteFile(file, append(b, '\n'), 0o600)
}

func (d *devCluster) addr(port int) string { return net.JoinHostPort(d.ports.Host, strconv.Itoa(port)) }

func (d *devCluster) checkPortsFree() error {
	all := []int{d.ports.ControllerAPI, d.ports.ControllerRaft, d.ports.ControllerMet}
	for _, n := range d.ports.Nodes {
		all = append(all, n.API, n.Metrics)
	}
	for _, p := range all {
		ln, err := net.Listen("tcp", d.addr(p))
		if err != nil {
			return fmt.Errorf("port %d is already in use: is another `starlane dev` running? pass --port BASE (or 0) with a new --data-dir", p)
		}
		ln.Close()
	}
	return nil
}

// loadAdminToken picks the first admin token: STARLANE_TOKEN if set (so the
// shell that started dev can use it as is), else the one an earlier start kept
// in DATA_DIR/admin-token, else a new one. The controller child installs it at
// bootstrap (it reads STARLANE_TOKEN).
func (d *devCluster) loadAdminToken() error {
	file := filepath.Join(d.dir, "admin-token")
	tok := os.Getenv("STARLANE_TOKEN")
	if tok == "" {
		if b, err := os.ReadFile(file); err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	if tok == "" {
		tok = controller.NewSecret(authz.TokenPrefix)
	}
	d.adminToken = tok
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the admin token: %w", err)
	}
	return os.Setenv("STARLANE_TOKEN", tok)
}

func (d *devCluster) start(ctx context.Context) error {
	if err := d.loadAdminToken(); err != nil {
		return err
	}
	ctlAddr := d.addr(d.ports.ControllerAPI)
	if err := d.spawn("controller", "controller", "--data-dir", filepath.Join(d.dir, "controller"), "--bind", ctlAddr,
		"--raft-bind", d.addr(d.ports.ControllerRaft), "--bootstrap", "--metrics-bind", d.addr(d.ports.ControllerMet),
		"--log-level", d.logLevel); err != nil {
		return err
	}
	tokFile := filepath.Join(d.dir, "controller", "join-token")
	if err := d.waitFor(ctx, 30*time.Second, "the controller to install its join token", func() bool {
		b, err := os.ReadFile(tokFile)
		d.token = strings.TrimSpace(string(b))
		return err == nil && d.token != ""
	}); err != nil {
		return err
	}
	for _, n := range d.ports.Nodes {
		if err := d.spawn(n.Name, "node", "--controller", ctlAddr, "--join-token", d.token, "--data-dir", filepath.Join(d.dir, n.Name),
			"--bind", d.addr(n.API), "--name", n.Name, "--metrics-bind", d.addr(n.Metrics), "--log-level", d.logLevel,
			"--checkpoint-every", strconv.FormatUint(d.checkpointEvery, 10)); err != nil {
			return err
		}
	}
	cl, err := ctlclient.Dial([]string{ctlAddr}, tlsconf.Config{})
	if err != nil {
		return err
	}
	defer cl.Close()
	cl.Token = d.adminToken
	// Players register themselves on a dev cluster: `starlane play --name X` just works.
	if err := d.allowSelfRegistration(ctx, cl); err != nil {
		return err
	}
	bundle := sim.DefaultBundle().Hash()
	for _, s := range devSurfaces {
		req := &pb.CreateSurfaceRequest{RequestId: "dev-create-" + s.name, Name: s.name, Planet: s.planet, Map: s.mapName, Seed: s.seed, BundleHash: bundle, Replicas: 1}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.Cluster(cctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, req)
			return err
		})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create surface %s: %w", s.name, apiErr(err))
		}
	}
	for _, b := range devBridges {
		req := &pb.CreateBridgeRequest{RequestId: "dev-bridge-" + b.Id, Bridge: b}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.Cluster(cctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateBridge(ctx, req)
			return err
		})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create bridge %s: %w", b.Id, apiErr(err))
		}
	}
	var surfaces []*pb.Surface
	if err := d.waitFor(ctx, 90*time.Second, "every surface to tick on a node", func() bool {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var r *pb.ListSurfacesResponse
		err := cl.Cluster(qctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = ctlclient.ListSurfaces(ctx, c)
			return err
		})
		if err != nil {
			return false
		}
		ready := 0
		for _, sf := range r.Surfaces {
			if sf.GetAssignment().GetPrimary() != "" && sf.GetStats().GetTick() > 0 {
				ready++
			}
		}
		surfaces = r.Surfaces
		return ready >= len(devSurfaces)
	}); err != nil {
		return err
	}

	d.mu.Lock()
	d.info = clusterJSON{Controller: ctlAddr, Dashboard: "http://" + d.addr(d.ports.ControllerMet) + "/", Nodes: map[string]string{}, Surfaces: map[string]string{}, JoinToken: d.token, Token: d.adminToken,
		Bridges: map[string]string{},
		DataDir: d.dir, Metrics: map[string]string{"controller": "http://" + d.addr(d.ports.ControllerMet) + "/metrics"},
		Logs: filepath.Join(d.dir, "logs")}
	for _, n := range d.ports.Nodes {
		d.info.Nodes[n.Name] = d.addr(n.API)
		d.info.Metrics[n.Name] = "http://" + d.addr(n.Metrics) + "/metrics"
	}
	for _, sf := range surfaces {
		d.info.Surfaces[sf.Name] = sf.GetAssignment().GetPrimary()
	}
	for _, b := range devBridges {
		d.info.Bridges[b.Id] = b.FromSurface + ":" + b.FromPort + " -> " + b.ToSurface + ":" + b.ToPort
	}
	d.mu.Unlock()
	if err := d.writeClusterJSON(); err != nil {
		return err
	}
	w := d.out
	fmt.Fprintf(w, "starlane dev is running; data in %s\n", d.dir)
	fmt.Fprintf(w, "  dashboard    %s\n", d.info.Dashboard)
	fmt.Fprintf(w, "  controller   %s   metrics %s\n", ctlAddr, d.info.Metrics["controller"])
	for _, n := range d.ports.Nodes {
		fmt.Fprintf(w, "  node %-7s %s   metrics %s\n", n.Name, d.info.Nodes[n.Name], d.info.Metrics[n.Name])
	}
	fmt.Fprintf(w, "  join token   %s\n", d.token)
	fmt.Fprintf(w, "  admin token  %s   (export STARLANE_TOKEN=%s)\n", d.adminToken, d.adminToken)
	names := make([]string, 0, len(d.info.Surfaces))
	for n := range d.info.Surfaces {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  surface %-9s on %s\n", n, d.info.Surfaces[n])
	}
	for _, b := range devBridges {
		fmt.Fprintf(w, "  bridge  %-19s %s\n", b.Id, d.info.Bridges[b.Id])
	}
	fmt.Fprintf(w, "  cluster.json %s, logs in %s\n", filepath.Join(d.dir, "cluster.json"), d.info.Logs)
	fmt.Fprintf(w, "Try:\n  starlane surface list --controller %s\n  starlane bridge list --controller %s\n  starlane play --node %s --surface nauvis\n  starlane bot --node %s --surface nauvis --count 5 --ticks 3600\n",
		ctlAddr, ctlAddr, d.info.Nodes[d.info.Surfaces["nauvis"]], d.info.Nodes[d.ports.Nodes[0].Name])
	return nil
}

func (d *devCluster) allowSelfRegistration(ctx context.Context, cl *ctlclient.Client) error {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := cl.Do(cctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := pb.NewAccessServiceClient(cc).SetAccessSettings(ctx, &pb.SetAccessSettingsRequest{RequestId: "dev-self-register",
			Settings: &pb.AccessSettings{SelfRegister: true}})
		return err
	})
	if err != nil {
		return fmt.Errorf("allow players to register: %w", apiErr(err))
	}
	return nil
}

func (d *devCluster) waitFor(ctx context.Context, limit time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s; see the logs in %s", limit, what, filepath.Join(d.dir, "logs"))
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted while starting")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func (d *devCluster) writeClusterJSON() error {
	d.mu.Lock()
	d.info.PIDs = map[string]int{}
	for name, p := range d.procs {
		if p.cmd != nil && p.cmd.Process != nil {
			d.info.PIDs[name] = p.cmd.Process.Pid
		}
	}
	b, _ := json.MarshalIndent(d.info, "", "  ")
	d.mu.Unlock()
	file := filepath.Join(d.dir, "cluster.json")
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// spawn starts a child process and supervises it: if it exits while the cluster
// is not stopping, it is started again a second later.
func (d *devCluster) spawn(name string, args ...string) error {
	p := &devProc{name: name, args: args}
	d.mu.Lock()
	d.procs[name] = p
	d.mu.Unlock()
	return d.launch(p)
}

func (d *devCluster) launch(p *devProc) error {
	logf, err := os.OpenFile(filepath.Join(d.dir, "logs", p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(d.exe, p.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group: the terminal's Ctrl-C reaches only dev, which stops the
	// children in order; Pdeathsig stops them if dev itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	d.mu.Lock()
	p.cmd, p.done = cmd, done
	d.mu.Unlock()
	started := time.Now()
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(done)
		d.mu.Lock()
		stopping := d.stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		if time.Since(started) < quickExit {
			p.quickExits++
		} else {
			p.quickExits = 0
		}
		if p.quickExits >= maxQuickExits {
			fmt.Fprintf(d.out, "%s exited %d times right after starting (%v); not restarting it. Its last words (%s):\n%s\n",
				p.name, p.quickExits, err, filepath.Join(d.dir, "logs", p.name+".log"), lastLines(filepath.Join(d.dir, "logs", p.name+".log"), 3))
			return
		}
		delay := time.Second << max(p.quickExits-1, 0)
		fmt.Fprintf(d.out, "%s exited (%v); restarting it in %v\n", p.name, err, delay)
		time.Sleep(delay)
		d.mu.Lock()
		stopping = d.stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		if err := d.launch(p); err != nil {
			fmt.Fprintf(d.out, "restart %s: %v\n", p.name, err)
			return
		}
		if d.info.Controller != "" {
			d.writeClusterJSON()
		}
	}()
	return nil
}

// shutdown stops the nodes first (each flushes its shards' logs), then the
// controller, killing whatever has not exited after 15 seconds.
func (d *devCluster) shutdown() {
	d.mu.Lock()
	d.stopping = true
	procs := d.procs
	d.mu.Unlock()
	stop := func(names func(string) bool) {
		var wait []*devProc
		d.mu.Lock()
		for name, p := range procs {
			if names(name) && p.cmd != nil {
				p.cmd.Process.Signal(syscall.SIGTERM)
				wait = append(wait, p)
			}
		}
		d.mu.Unlock()
		for _, p := range wait {
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
			}
		}
	}
	stop(func(n string) bool { return n != "controller" })
	stop(func(n string) bool { return n == "controller" })
}

// lastLines returns the last n non-empty lines of a file, indented.
func lastLines(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "  (" + err.Error() + ")"
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, "  "+l)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
