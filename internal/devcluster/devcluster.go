// Package devcluster runs a whole local Starlane cluster for `starlane dev`:
// controllers and nodes as child processes of the running binary on loopback,
// restarted when they die, and a default world of surfaces and bridges.
package devcluster

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

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/words"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// portFile is what `starlane dev` keeps in DATA_DIR/dev.json so that a second start
// uses the same addresses (a controller's Raft address is part of its state).
// ControllerAPI, ControllerRaft and ControllerMet are the first controller's (a
// one-controller cluster wrote only those); Controllers lists every controller.
type portFile struct {
	Host           string      `json:"host"`
	ControllerAPI  int         `json:"controller_api"`
	ControllerRaft int         `json:"controller_raft"`
	ControllerMet  int         `json:"controller_metrics"`
	Controllers    []ctlPorts  `json:"controllers,omitempty"`
	Nodes          []nodePorts `json:"nodes"`
}

// ctlPorts is one controller of the dev cluster: its process name, data
// directory (under DATA_DIR) and ports.
type ctlPorts struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	API     int    `json:"api"`
	Raft    int    `json:"raft"`
	Metrics int    `json:"metrics"`
}

type nodePorts struct {
	Name    string `json:"name"`
	API     int    `json:"api"`
	Metrics int    `json:"metrics"`
}

// Info is DATA_DIR/cluster.json, written once the dev cluster is ready and
// again whenever a process is restarted.
type Info struct {
	// Controller is the first controller's API address.
	Controller string `json:"controller"`
	// Controllers maps each controller to its API address; ControllerAddrs lists
	// them all for --controller / STARLANE_CONTROLLER.
	Controllers     map[string]string `json:"controllers"`
	ControllerAddrs string            `json:"controller_addrs"`
	// Dashboard is the controller's web dashboard.
	Dashboard string            `json:"dashboard"`
	Nodes     map[string]string `json:"nodes"`
	Surfaces  map[string]string `json:"surfaces"`
	// Standbys maps each surface to the nodes holding its standbys at start.
	Standbys map[string][]string `json:"standbys,omitempty"`
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

// defaultSurfaces is the default world.
var defaultSurfaces = []struct {
	name, planet, mapName string
	seed                  uint64
}{
	{"nauvis", "nauvis", "starter", 1},
	{"vulcanus", "vulcanus", "outpost", 2},
	{"fulgora", "fulgora", "hub", 3},
}

// defaultBridges link the default world: nauvis's surplus plates go to vulcanus, vulcanus's
// coal comes back, and its stone goes to the hub on fulgora.
var defaultBridges = []*pb.Bridge{
	{Id: "nauvis-to-vulcanus", FromSurface: "nauvis", FromPort: "out", ToSurface: "vulcanus", ToPort: "in"},
	{Id: "vulcanus-to-nauvis", FromSurface: "vulcanus", FromPort: "out", ToSurface: "nauvis", ToPort: "in"},
	{Id: "vulcanus-to-hub", FromSurface: "vulcanus", FromPort: "out2", ToSurface: "fulgora", ToPort: "in1"},
}

// DefaultDir is where `starlane dev` keeps its data unless told otherwise:
// under XDG_DATA_HOME, else ~/.local/share, else the temporary directory.
func DefaultDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "starlane", "dev")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "share", "starlane", "dev")
	}
	return filepath.Join(os.TempDir(), "starlane-dev")
}

// Options are what `starlane dev` was asked for.
type Options struct {
	// Dir holds every process's data, the logs and cluster.json.
	Dir string
	// Out gets the progress and the addresses.
	Out io.Writer
	// LogLevel is the child processes' log level.
	LogLevel string
	// CheckpointEvery is how many ticks apart nodes checkpoint each surface.
	CheckpointEvery uint64
	// Small runs one controller and two nodes, with no standbys.
	Small bool
	// Port is the first port (0: random free ports, kept for the next start).
	Port int
	// PortGiven says Port was asked for, not a default: a data dir whose cluster
	// listens elsewhere is then refused instead of started on its own ports.
	PortGiven bool
}

// Run starts the cluster and keeps it running until SIGINT or SIGTERM, then
// stops every process cleanly.
func Run(o Options) error {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	d := &cluster{dir: dir, out: o.Out, logLevel: o.LogLevel, checkpointEvery: o.CheckpointEvery, shape: haShape}
	if o.Small {
		d.shape = smallShape
	}
	d.portGiven = o.PortGiven
	return d.run(o.Port)
}

type cluster struct {
	dir             string
	out             io.Writer
	logLevel        string
	checkpointEvery uint64
	shape           shape
	exe             string
	ports           portFile
	token           string
	tokenFile       string // the first controller's join-token file, which nodes read the token from
	portGiven       bool   // --port was given (Options.PortGiven)
	portsKept       bool   // the ports are the data dir's, from an earlier start
	adminToken      string
	adminTokenFrom  string // where adminToken came from, for messages

	mu       sync.Mutex
	procs    map[string]*proc
	stopping bool
	info     Info
}

type proc struct {
	name string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	// quickExits counts exits in a row within quickExit of starting.
	quickExits int
	// started is when the process was last started, up whether it runs now,
	// and gaveUp that it is not restarted any more (all under cluster.mu).
	started time.Time
	up      bool
	gaveUp  bool
}

// procTrouble says why the process name does not run steadily, or "" when it
// does: it was given up, it exited and waits to be restarted, or it is up again
// for less than quickExit after exiting right after its start.
func (d *cluster) procTrouble(name string, now time.Time) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.procs[name]
	switch {
	case p == nil:
		return ""
	case p.gaveUp:
		return fmt.Sprintf("%s was given up: it exited %s right after starting (see %s)", name, words.Plural(p.quickExits, "time"), filepath.Join(d.dir, "logs", name+".log"))
	case p.quickExits > 0 && (!p.up || now.Sub(p.started) < quickExit):
		return fmt.Sprintf("%s is restarting: it exited %s right after starting", name, words.Plural(p.quickExits, "time"))
	case !p.up:
		return name + " exited and is restarting"
	}
	return ""
}

// runningSummary is the line that says what runs: only the processes that do,
// and what is wrong with the others.
func (d *cluster) runningSummary(ctls, nodes []string, now time.Time) string {
	var troubles []string
	count := func(names []string) int {
		ok := 0
		for _, n := range names {
			if t := d.procTrouble(n, now); t != "" {
				troubles = append(troubles, t)
			} else {
				ok++
			}
		}
		return ok
	}
	okCtls, okNodes := count(ctls), count(nodes)
	if len(troubles) == 0 {
		return fmt.Sprintf("starlane dev is running (%s, %s)", words.Plural(len(ctls), "controller"), words.Plural(len(nodes), "node"))
	}
	return fmt.Sprintf("starlane dev is running %d of %s and %d of %s; %s",
		okCtls, words.Plural(len(ctls), "controller"), okNodes, words.Plural(len(nodes), "node"), strings.Join(troubles, "; "))
}

// A process that exits within quickExit of starting, maxQuickExits times in a
// row, is not started again: it is refusing to start (a damaged store, a port in
// use), and restarting it forever would only hide the reason. Restarts after a
// quick exit back off (1 s, 2 s, 4 s).
const (
	quickExit     = 10 * time.Second
	maxQuickExits = 3
)

// checkDataDir refuses a directory that holds other things and no dev cluster:
// dev writes a dozen directories and files into its data dir (--data-dir ~
// would litter the home directory).
func checkDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		return nil // new or empty: dev creates it
	}
	for _, e := range entries {
		if e.Name() == "dev.json" || e.Name() == "dev.lock" || e.Name() == "logs" || e.Name() == "cluster.json" {
			return nil // a dev cluster's, perhaps one that stopped while starting
		}
	}
	some := entries[0].Name()
	if len(entries) > 1 {
		some += ", …"
	}
	return fmt.Errorf("%s holds other files (%s) and no `starlane dev` cluster; pass a new or empty --data-dir (dev writes its controllers, nodes and logs there)",
		dir, some)
}

func (d *cluster) run(basePort int) error {
	var err error
	if d.exe, err = os.Executable(); err != nil {
		return fmt.Errorf("find the starlane binary: %w", err)
	}
	if err := checkDataDir(d.dir); err != nil {
		return err
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
	d.procs = map[string]*proc{}
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

// loadPorts reads DATA_DIR/dev.json, or picks the ports of a new cluster, and
// adds the controllers and nodes a larger shape needs (a one-controller data dir
// grows into the three-controller cluster: the new controllers join the first).
func (d *cluster) loadPorts(base int) error {
	file := filepath.Join(d.dir, "dev.json")
	p := portFile{Host: "127.0.0.1"}
	existed := false
	if b, err := os.ReadFile(file); err == nil {
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("%s is corrupt (%v); delete it to pick new ports", file, err)
		}
		existed = true
		d.portsKept = true
		if len(p.Controllers) == 0 && p.ControllerAPI != 0 {
			p.Controllers = []ctlPorts{{Name: "controller", Dir: "controller", API: p.ControllerAPI, Raft: p.ControllerRaft, Metrics: p.ControllerMet}}
		}
		if len(p.Controllers) > 0 && d.portGiven && base != 0 && base != p.Controllers[0].API {
			// A cluster's addresses are in its Raft configuration and its nodes'
			// registrations: it cannot move to other ports.
			return fmt.Errorf("the cluster in %s listens from port %d (controller %s's API); --port %d cannot move it: drop --port to start it there, or pass a new --data-dir",
				d.dir, p.Controllers[0].API, p.Controllers[0].Name, base)
		}
		if base != 0 && len(p.Controllers) > 0 {
			base = p.Controllers[0].API
		}
	}
	if len(p.Controllers) > d.shape.controllers || len(p.Nodes) > d.shape.nodes {
		return fmt.Errorf("%s holds a cluster of %d controllers and %d nodes, larger than the %s shape; run `starlane dev` without --small, or pass another --data-dir",
			d.dir, len(p.Controllers), len(p.Nodes), d.shape.name)
	}
	used := map[int]bool{}
	for _, c := range p.Controllers {
		used[c.API], used[c.Raft], used[c.Metrics] = true, true, true
	}
	for _, n := range p.Nodes {
		used[n.API], used[n.Metrics] = true, true
	}
	pick := func(offset int) (int, error) {
		if base != 0 {
			return base + offset, nil
		}
		for {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			port := ln.Addr().(*net.TCPAddr).Port
			ln.Close()
			if !used[port] {
				used[port] = true
				return port, nil
			}
		}
	}
	changed := !existed
	if existed && len(p.Controllers) < d.shape.controllers {
		// The surfaces get their standbys once the new nodes are up (start);
		// the file says so until then, even across an interrupted start.
		if err := os.WriteFile(filepath.Join(d.dir, growFile), []byte("raise every surface's replicas to the full cluster's\n"), 0o600); err != nil {
			return err
		}
	}
	for i := len(p.Controllers); i < d.shape.controllers; i++ {
		c := ctlPorts{Name: fmt.Sprintf("c%d", i+1)}
		if d.shape.controllers == 1 {
			c.Name = "controller"
		}
		c.Dir = c.Name
		var err error
		for j, ptr := range []*int{&c.API, &c.Raft, &c.Metrics} {
			if *ptr, err = pick(3*i + j); err != nil {
				return err
			}
		}
		p.Controllers = append(p.Controllers, c)
		changed = true
	}
	for i := len(p.Nodes); i < d.shape.nodes; i++ {
		n := nodePorts{Name: fmt.Sprintf("n%d", i+1)}
		var err error
		if n.API, err = pick(10 * (i + 1)); err != nil {
			return err
		}
		if n.Metrics, err = pick(10*(i+1) + 2); err != nil {
			return err
		}
		p.Nodes = append(p.Nodes, n)
		changed = true
	}
	c1 := p.Controllers[0]
	p.ControllerAPI, p.ControllerRaft, p.ControllerMet = c1.API, c1.Raft, c1.Metrics
	d.ports = p
	if !changed {
		return nil
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return os.WriteFile(file, append(b, '\n'), 0o600)
}

func (d *cluster) addr(port int) string { return net.JoinHostPort(d.ports.Host, strconv.Itoa(port)) }

// ctlAddrs is every controller's API address, comma-separated (for --controller).
func (d *cluster) ctlAddrs() string {
	var a []string
	for _, c := range d.ports.Controllers {
		a = append(a, d.addr(c.API))
	}
	return strings.Join(a, ",")
}

func (d *cluster) checkPortsFree() error {
	var all []int
	for _, c := range d.ports.Controllers {
		all = append(all, c.API, c.Raft, c.Metrics)
	}
	for _, n := range d.ports.Nodes {
		all = append(all, n.API, n.Metrics)
	}
	for _, p := range all {
		ln, err := net.Listen("tcp", d.addr(p))
		if err != nil {
			if d.portsKept {
				return fmt.Errorf("port %d, which the cluster in %s listens on, is already in use: is another `starlane dev` running on it? stop it, or start a new cluster with --data-dir NEW (and --port BASE, or 0 for free ports)", p, d.dir)
			}
			return fmt.Errorf("port %d is already in use: is another `starlane dev` running? pass --port BASE (or 0 for free ports)", p)
		}
		ln.Close()
	}
	return nil
}

// loadAdminToken picks the first admin token: STARLANE_TOKEN if set (so the
// shell that started dev can use it as is), else the one an earlier start kept
// in DATA_DIR/admin-token, else a new one. The controller child installs it at
// bootstrap (it reads STARLANE_TOKEN).
func (d *cluster) loadAdminToken() error {
	file := filepath.Join(d.dir, "admin-token")
	tok := os.Getenv("STARLANE_TOKEN")
	d.adminTokenFrom = "STARLANE_TOKEN"
	if tok == "" {
		if b, err := os.ReadFile(file); err == nil {
			tok = strings.TrimSpace(string(b))
			d.adminTokenFrom = file
		}
	}
	if tok == "" {
		tok = controller.NewSecret(authz.TokenPrefix)
		d.adminTokenFrom = "made at the first start"
	}
	d.adminToken = tok
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the admin token: %w", err)
	}
	return os.Setenv("STARLANE_TOKEN", tok)
}

// growFile, in DATA_DIR, marks a --small cluster growing into the full one
// until its surfaces have their standbys.
const growFile = "growing"

// shape is how many processes `starlane dev` runs and how many copies each
// surface has.
type shape struct {
	name                         string
	controllers, nodes, replicas int
}

var (
	// haShape survives the loss of any one process: three voters keep a quorum
	// without one, and every surface's standby on another node takes over.
	haShape    = shape{name: "default", controllers: 3, nodes: 3, replicas: 2}
	smallShape = shape{name: "--small", controllers: 1, nodes: 2, replicas: 1}
)

func (d *cluster) say(format string, a ...any) { fmt.Fprintf(d.out, format+"\n", a...) }

func (d *cluster) start(ctx context.Context) error {
	if err := d.loadAdminToken(); err != nil {
		return err
	}
	ctls := d.ports.Controllers
	first := ctls[0]
	if len(ctls) == 1 {
		d.say("starting the controller on %s…", d.addr(first.API))
	} else {
		d.say("starting controller %s on %s…", first.Name, d.addr(first.API))
	}
	if err := d.spawnController(first, "--bootstrap"); err != nil {
		return err
	}
	tokFile := filepath.Join(d.dir, first.Dir, "join-token")
	d.tokenFile = tokFile
	if err := d.waitFor(ctx, 30*time.Second, "controller "+first.Name+" to install its join token", func() string {
		b, err := os.ReadFile(tokFile)
		d.token = strings.TrimSpace(string(b))
		if err == nil && d.token != "" {
			return ""
		}
		return "not yet"
	}); err != nil {
		return err
	}
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(d.ctlAddrs()), tlsconf.Config{})
	if err != nil {
		return err
	}
	defer cl.Close()
	cl.Token = d.adminToken
	if len(ctls) > 1 {
		var names []string
		for _, c := range ctls[1:] {
			names = append(names, c.Name)
			if err := d.spawnController(c, "--join", d.addr(first.API)); err != nil {
				return err
			}
		}
		d.say("starting controllers %s; they join %s…", strings.Join(names, ", "), first.Name)
		if err := d.waitFor(ctx, 60*time.Second, fmt.Sprintf("%d controllers to vote", len(ctls)), func() string {
			voters, leader := d.voters(ctx, cl)
			if voters >= len(ctls) && leader != "" {
				return ""
			}
			return fmt.Sprintf("%d of %d voting, leader %q", voters, len(ctls), leader)
		}); err != nil {
			return err
		}
	}
	if err := d.checkAdminToken(ctx, cl); err != nil {
		return err
	}
	var nodeNames []string
	for _, n := range d.ports.Nodes {
		nodeNames = append(nodeNames, n.Name)
		if err := d.spawn(n.Name, "node", "--controller", d.ctlAddrs(), "--join-token-file", d.tokenFile, "--data-dir", filepath.Join(d.dir, n.Name),
			"--bind", d.addr(n.API), "--name", n.Name, "--metrics-bind", d.addr(n.Metrics), "--log-level", d.logLevel,
			"--checkpoint-every", strconv.FormatUint(d.checkpointEvery, 10)); err != nil {
			return err
		}
	}
	d.say("starting nodes %s…", strings.Join(nodeNames, ", "))
	// Players register themselves on a dev cluster: `starlane play --name X` just works.
	if err := d.allowSelfRegistration(ctx, cl); err != nil {
		return err
	}
	if err := d.waitFor(ctx, 60*time.Second, "every node to register", func() string {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var r *pb.ListNodesResponse
		if err := cl.Cluster(qctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = ctlclient.ListNodes(ctx, c)
			return err
		}); err != nil {
			return "asking the controllers: " + ctlclient.PlainError(err).Error()
		}
		var up []string
		for _, n := range r.Nodes {
			if n.Status == pb.NodeStatus_NODE_STATUS_UP {
				up = append(up, n.Id)
			}
		}
		if len(up) >= len(d.ports.Nodes) {
			return ""
		}
		sort.Strings(up)
		return fmt.Sprintf("%d of %d up (%s)", len(up), len(d.ports.Nodes), strings.Join(up, " "))
	}); err != nil {
		return err
	}
	existing := 0
	lctx, lcancel := context.WithTimeout(ctx, 30*time.Second)
	_ = cl.Cluster(lctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := ctlclient.ListSurfaces(ctx, c)
		existing = len(r.GetSurfaces())
		return err
	})
	lcancel()
	if existing > 0 {
		d.say("resuming the world in %s: %d surfaces…", d.dir, existing)
	} else {
		d.say("creating the world: %d surfaces with %d cop%s each, %d bridges…", len(defaultSurfaces), d.shape.replicas, map[bool]string{true: "y", false: "ies"}[d.shape.replicas == 1], len(defaultBridges))
	}
	bundle := sim.DefaultBundle().Hash()
	for _, s := range defaultSurfaces {
		req := &pb.CreateSurfaceRequest{RequestId: "dev-create-" + s.name, Name: s.name, Planet: s.planet, Map: s.mapName, Seed: s.seed, BundleHash: bundle, Replicas: uint32(d.shape.replicas)}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.Cluster(cctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, req)
			return err
		})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create surface %s: %w", s.name, ctlclient.PlainError(err))
		}
	}
	for _, b := range defaultBridges {
		req := &pb.CreateBridgeRequest{RequestId: "dev-bridge-" + b.Id, Bridge: b}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := cl.Cluster(cctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateBridge(ctx, req)
			return err
		})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("create bridge %s: %w", b.Id, ctlclient.PlainError(err))
		}
	}
	_, err = os.Stat(filepath.Join(d.dir, growFile))
	growing := err == nil
	var surfaces []*pb.Surface
	what := "every surface to tick on a node"
	if d.shape.replicas > 1 {
		what = "every surface to tick with a standby in step"
	}
	if err := d.waitFor(ctx, 120*time.Second, what, func() string {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		var r *pb.ListSurfacesResponse
		err := cl.Cluster(qctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			var err error
			r, err = ctlclient.ListSurfaces(ctx, c)
			return err
		})
		if err != nil {
			return "asking the controllers: " + ctlclient.PlainError(err).Error()
		}
		var notes []string
		ready := 0
		for _, sf := range r.Surfaces {
			a := sf.GetAssignment()
			if growing && sf.Replicas < uint32(d.shape.replicas) {
				// A surface made by the smaller dev cluster this one grew from
				// (later starts leave an operator's replica count alone).
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				cl.Cluster(rctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
					_, err := c.SetSurfaceReplicas(ctx, &pb.SetSurfaceReplicasRequest{RequestId: fmt.Sprintf("dev-replicas-%s-%d", sf.Name, d.shape.replicas), Name: sf.Name, Replicas: uint32(d.shape.replicas)})
					return err
				})
				cancel()
			}
			switch {
			case a.GetPrimary() == "":
				notes = append(notes, sf.Name+" not placed")
			case sf.GetStats().GetTick() == 0:
				notes = append(notes, sf.Name+" loading on "+a.GetPrimary())
			case len(a.GetSynced()) < min(int(sf.Replicas), d.shape.replicas)-1:
				notes = append(notes, fmt.Sprintf("%s tick %d on %s, standby catching up", sf.Name, sf.GetStats().GetTick(), a.GetPrimary()))
			default:
				ready++
			}
		}
		surfaces = r.Surfaces
		if ready >= len(defaultSurfaces) {
			return ""
		}
		if len(notes) == 0 {
			return "creating"
		}
		return strings.Join(notes, "; ")
	}); err != nil {
		return err
	}

	if growing {
		os.Remove(filepath.Join(d.dir, growFile))
	}
	d.mu.Lock()
	d.info = Info{Controller: d.addr(first.API), Controllers: map[string]string{}, ControllerAddrs: d.ctlAddrs(),
		Dashboard: "http://" + d.addr(first.Metrics) + "/", Nodes: map[string]string{}, Surfaces: map[string]string{}, Standbys: map[string][]string{},
		JoinToken: d.token, Token: d.adminToken, Bridges: map[string]string{},
		DataDir: d.dir, Metrics: map[string]string{}, Logs: filepath.Join(d.dir, "logs")}
	for _, c := range ctls {
		d.info.Controllers[c.Name] = d.addr(c.API)
		d.info.Metrics[c.Name] = "http://" + d.addr(c.Metrics) + "/metrics"
	}
	for _, n := range d.ports.Nodes {
		d.info.Nodes[n.Name] = d.addr(n.API)
		d.info.Metrics[n.Name] = "http://" + d.addr(n.Metrics) + "/metrics"
	}
	stopped := map[string]bool{}
	for _, sf := range surfaces {
		d.info.Surfaces[sf.Name] = sf.GetAssignment().GetPrimary()
		stopped[sf.Name] = sf.Stopped
		if st := sf.GetAssignment().GetStandbys(); len(st) > 0 {
			d.info.Standbys[sf.Name] = st
		}
	}
	// Every bridge of the world, not only the ones dev made: a resumed world
	// has the operator's too.
	bridges := defaultBridges
	bctx, bcancel := context.WithTimeout(ctx, 30*time.Second)
	_ = cl.Cluster(bctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := ctlclient.ListBridges(ctx, c)
		if err == nil {
			bridges = r.Bridges
		}
		return err
	})
	bcancel()
	for _, b := range bridges {
		d.info.Bridges[b.Id] = b.FromSurface + ":" + b.FromPort + " -> " + b.ToSurface + ":" + b.ToPort
	}
	d.mu.Unlock()
	if err := d.writeClusterJSON(); err != nil {
		return err
	}
	w := d.out
	var ctlNames []string
	for _, c := range ctls {
		ctlNames = append(ctlNames, c.Name)
	}
	fmt.Fprintf(w, "%s; data in %s\n", d.runningSummary(ctlNames, nodeNames, time.Now()), d.dir)
	fmt.Fprintf(w, "  dashboard    %s   (log in with the admin token below)\n", d.info.Dashboard)
	for _, c := range ctls {
		fmt.Fprintf(w, "  %-12s %s   metrics %s\n", map[bool]string{true: "controller", false: "controller " + c.Name}[c.Name == "controller"], d.addr(c.API), d.info.Metrics[c.Name])
	}
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
		if stopped[n] {
			fmt.Fprintf(w, "  surface %-9s stopped (starlane surface start %s)\n", n, n)
			continue
		}
		if st := d.info.Standbys[n]; len(st) > 0 {
			fmt.Fprintf(w, "  surface %-9s on %s, standby on %s\n", n, d.info.Surfaces[n], strings.Join(st, ", "))
		} else {
			fmt.Fprintf(w, "  surface %-9s on %s\n", n, d.info.Surfaces[n])
		}
	}
	for _, b := range bridges {
		fmt.Fprintf(w, "  bridge  %-19s %s\n", b.Id, d.info.Bridges[b.Id])
	}
	fmt.Fprintf(w, "  cluster.json %s, logs in %s\n", filepath.Join(d.dir, "cluster.json"), d.info.Logs)
	fmt.Fprintf(w, "Try:\n  export STARLANE_CONTROLLER=%s STARLANE_TOKEN=%s\n  starlane surface list\n  starlane bridge list\n  starlane play --surface nauvis\n  starlane bot --surface nauvis --count 5 --ticks 3600\n",
		d.ctlAddrs(), d.adminToken)
	return nil
}

// spawnController starts one controller of the dev cluster with extra flags
// (--bootstrap for the first, --join for the others; both are ignored once its
// data directory has state).
func (d *cluster) spawnController(c ctlPorts, extra ...string) error {
	args := []string{"controller", "--data-dir", filepath.Join(d.dir, c.Dir), "--bind", d.addr(c.API),
		"--raft-bind", d.addr(c.Raft), "--metrics-bind", d.addr(c.Metrics), "--log-level", d.logLevel}
	if c.Name != "controller" {
		args = append(args, "--id", c.Name)
	}
	return d.spawn(c.Name, append(args, extra...)...)
}

// voters asks the controllers how many of them vote and who leads.
func (d *cluster) voters(ctx context.Context, cl *ctlclient.Client) (int, string) {
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var r *pb.GetStatusResponse
	if err := cl.Cluster(qctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		r, err = c.GetStatus(ctx, &pb.GetStatusRequest{})
		return err
	}); err != nil {
		return 0, ""
	}
	n := 0
	for _, p := range r.Peers {
		if p.Suffrage == "voter" {
			n++
		}
	}
	return n, r.LeaderId
}

// allowSelfRegistration turns self-registration on once, when the dev cluster is
// new (DATA_DIR/player-settings-set records it): later starts keep what the
// operator set since (self-registration, the whitelist; players, admins and bans
// live in the controllers' state and are kept anyway).
// checkAdminToken asks the controllers whether the admin token dev works with is
// still theirs: an operator may have revoked it (or it expired) since an earlier
// start, and every later step would wait on refusals.
func (d *cluster) checkAdminToken(ctx context.Context, cl *ctlclient.Client) error {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	err := cl.Cluster(cctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.ListNodes(ctx, &pb.ListNodesRequest{})
		return err
	})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.Unauthenticated, codes.PermissionDenied:
		return fmt.Errorf("the controllers refuse the admin token dev uses (%s): %s; start dev with STARLANE_TOKEN set to an admin token of this cluster (dev keeps it in %s from then on)",
			d.adminTokenFrom, status.Convert(err).Message(), filepath.Join(d.dir, "admin-token"))
	}
	return fmt.Errorf("asking the controllers: %w", ctlclient.PlainError(err))
}

func (d *cluster) allowSelfRegistration(ctx context.Context, cl *ctlclient.Client) error {
	marker := filepath.Join(d.dir, "player-settings-set")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := cl.Do(cctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		ac := pb.NewAccessServiceClient(cc)
		cur, err := ac.GetAccessSettings(ctx, &pb.GetAccessSettingsRequest{})
		if err != nil {
			return err
		}
		_, err = ac.SetAccessSettings(ctx, &pb.SetAccessSettingsRequest{RequestId: "dev-self-register",
			Settings: &pb.AccessSettings{SelfRegister: true, Whitelist: cur.GetSettings().GetWhitelist()}})
		return err
	})
	if err != nil {
		return fmt.Errorf("allow players to register: %w", ctlclient.PlainError(err))
	}
	return os.WriteFile(marker, []byte("self-registration was turned on at the first start; later starts leave the player settings alone\n"), 0o600)
}

// waitFor polls check until it returns "" (done) and meanwhile prints what it
// waits for, with check's note on the state so far, whenever the note changes and
// at least every two seconds, so that a start is never silent for long.
func (d *cluster) waitFor(ctx context.Context, limit time.Duration, what string, check func() string) error {
	start := time.Now()
	var lastNote string
	var lastSaid time.Time
	for {
		note := check()
		if note == "" {
			return nil
		}
		if time.Since(start) > limit {
			return fmt.Errorf("timed out after %v waiting for %s (%s); see the logs in %s", limit, what, note, filepath.Join(d.dir, "logs"))
		}
		if time.Since(start) >= time.Second && (note != lastNote || time.Since(lastSaid) >= 2*time.Second) {
			d.say("  waiting for %s: %s (%ds)", what, note, int(time.Since(start).Seconds()))
			lastNote, lastSaid = note, time.Now()
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted while starting")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *cluster) writeClusterJSON() error {
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
func (d *cluster) spawn(name string, args ...string) error {
	p := &proc{name: name, args: args}
	d.mu.Lock()
	d.procs[name] = p
	d.mu.Unlock()
	return d.launch(p)
}

func (d *cluster) launch(p *proc) error {
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
	started := time.Now()
	d.mu.Lock()
	p.cmd, p.done = cmd, done
	p.started, p.up = started, true
	d.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(done)
		d.mu.Lock()
		stopping := d.stopping
		p.up = false
		if time.Since(started) < quickExit {
			p.quickExits++
		} else {
			p.quickExits = 0
		}
		quickExits := p.quickExits
		p.gaveUp = quickExits >= maxQuickExits && !stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		if quickExits >= maxQuickExits {
			fmt.Fprintf(d.out, "%s exited %d times right after starting (%v); not restarting it: starlane dev runs on without it. Its last words (%s):\n%s\n",
				p.name, quickExits, err, filepath.Join(d.dir, "logs", p.name+".log"), lastLines(filepath.Join(d.dir, "logs", p.name+".log"), 3))
			return
		}
		delay := time.Second << max(quickExits-1, 0)
		fmt.Fprintf(d.out, "%s exited (%v); restarting it in %v\n", p.name, err, delay)
		time.Sleep(delay)
		d.mu.Lock()
		stopping = d.stopping
		d.mu.Unlock()
		if stopping {
			return
		}
		if err := d.launch(p); err != nil {
			d.mu.Lock()
			p.gaveUp = true
			d.mu.Unlock()
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
// controllers, killing whatever has not exited after 15 seconds.
func (d *cluster) shutdown() {
	d.mu.Lock()
	d.stopping = true
	procs := d.procs
	d.mu.Unlock()
	stop := func(names func(string) bool) {
		var wait []*proc
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
	isCtl := map[string]bool{}
	for _, c := range d.ports.Controllers {
		isCtl[c.Name] = true
	}
	stop(func(n string) bool { return !isCtl[n] })
	stop(func(n string) bool { return isCtl[n] })
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
