// Package node is the worker agent: it registers with the controllers, renews its
// lease with heartbeats that carry per-shard stats, watches its assignments and
// reconciles them into running shards (refusing, with the exact reason, those it
// cannot run), fences its primaries when the lease cannot be renewed, and serves
// the node's gRPC APIs (ShardService for players) and metrics.
package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/bridge"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/blobstore"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/rcon"
	"github.com/starlane/starlane/replica"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// Config configures a node agent.
type Config struct {
	Controllers []string
	JoinToken   string
	DataDir     string
	// Bind is the node API listen address; Advertise what others dial (default Bind).
	Bind      string
	Advertise string
	// Name is the node ID; empty keeps the one in DataDir/node-id or makes one.
	Name        string
	Cores       uint32
	MaxSurfaces uint32
	Labels      map[string]string
	TLS         tlsconf.Config
	Version     string

	// CheckpointEvery is the shards' checkpoint period in ticks.
	CheckpointEvery uint64
	// HashEvery is how often players report their hash, in ticks (60).
	HashEvery uint32
	// MaxStateBytes bounds the decompressed state of a save or checkpoint this
	// node loads (sim.DefaultMaxStateBytes when 0): a larger one is refused
	// before it is inflated.
	MaxStateBytes int64
	// BundlesFixed makes the node run only the prototype bundles it holds (the
	// built-in one and those fetched before) instead of fetching a surface's
	// bundle from the controllers.
	BundlesFixed bool
	// PlayerBatchTicks is how many confirmed ticks a player's stream gathers into
	// one message (2); 1 sends every tick on its own. A player who has just acted
	// gets every tick as soon as it is confirmed, so only other players' actions
	// reach it up to PlayerBatchTicks-1 ticks later.
	PlayerBatchTicks uint32
	// ConnectTimeout bounds the first registration (10s).
	ConnectTimeout time.Duration
	// FenceAfter is the fraction of the controller's lease TTL after the last
	// successful heartbeat at which the node stops sequencing its primaries (0.6).
	FenceAfter float64
	// StandbyLostAfter is how long a synced standby's replication stream may be
	// broken or silent before it reports the primary lost, which lets the
	// controller promote without waiting for the primary's lease (1s).
	StandbyLostAfter time.Duration
	// StandbyDropAfter is how long a synced standby may be disconnected or far
	// behind before its primary asks the controller to drop it, so the primary
	// stops waiting for it to confirm ticks (1s; ten times that for a standby
	// still catching up).
	StandbyDropAfter time.Duration
	// HandoffTimeout bounds how long a primary stands frozen in a live move's
	// handoff, waiting for the target to hold its last tick (2s).
	HandoffTimeout time.Duration
	// TamperStandbyAt, if non-zero, makes this node's hot standbys build a chest
	// nobody asked for after that tick (tests and drills of the standby desync
	// check; never in production).
	TamperStandbyAt uint64

	// RCONBind, if set, serves the admin console over Source RCON there
	// (loopback only without TLS); RCONPassword is its password.
	RCONBind     string
	RCONPassword string
	// ConsoleToken is an operator token (role operate) the console's /ban and
	// /unban use; without it they only kick.
	ConsoleToken string

	Logger  *slog.Logger
	Metrics prometheus.Registerer
	Now     func() time.Time
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Node is a running node agent.
type Node struct {
	cfg  Config
	id   string
	log  *slog.Logger
	lock *os.File
	// nlog is the write-ahead log every shard on the node appends its ticks to.
	nlog  *shard.NodeLog
	ln    net.Listener
	creds credentials.TransportCredentials
	// blobs caches the saves this node fetched from the controllers.
	blobs *blobstore.Store
	ctl   *ctlclient.Client
	grpc  *grpc.Server
	shMet *shard.Metrics
	// bundles are the prototype bundles this node holds (bundles.go).
	bundles *bundleSet
	bridges *bridgeSet
	// process names this run of the node: registering with a new one tells the
	// controllers the previous run ended, so its primaries go to synced standbys.
	process string
	// newDataDir: this process created its data dir (no node-id file was
	// there), so it holds no copy of any surface; said at registration.
	newDataDir bool
	// gate admits players (tickets, bans) and holds their sessions.
	gate *gate
	// rcon serves the admin console (console.go) when --rcon-bind is set.
	rcon   *rcon.Server
	rconLn net.Listener

	heartbeatEvery time.Duration
	leaseTTL       time.Duration

	repl        *replica.Server
	replMet     *replica.Metrics
	replConnsMu sync.Mutex
	replConns   map[string]*grpc.ClientConn
	// tamperedOnce: Config.TamperStandbyAt desyncs one standby once.
	tamperedOnce atomic.Bool

	mu     sync.Mutex
	shards map[string]*hosted
	// closing holds surfaces being torn down, so that a new copy of the same
	// surface waits for the store.
	closing map[string]*hosted
	refused map[string]string // surface@epoch -> reason, reported once
	// needSync is set after re-registering, until the assignments are read again.
	needSync bool
	// lastIndex is the Raft index of the newest assignment set applied.
	lastIndex uint64
	// leaseUntil is when the primaries must stop sequencing without a heartbeat.
	leaseUntil time.Time
	// diskFull is set when a copy here failed to write for want of space, and
	// cleared once a probe write in the data dir succeeds (failure.go). The
	// heartbeat reports it as the node's health.
	diskFull bool
	// hk wakes the housekeeping loops (housekeeping.go).
	hk housekeeping
}

// hosted is one surface this node holds a copy of, and what it does for it. Its
// worker (runHosted) applies the surface's assignments in order — start, promote,
// demote, new epoch, stop — so no two of them overlap.
type hosted struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	ops    chan *pb.NodeAssignment // closed to stop
	done   chan struct{}           // closed when torn down

	// Guarded by Node.mu.
	role  pb.ShardRole
	epoch uint64
	asg   *pb.NodeAssignment // the assignment applied last
	sh    *shard.Shard       // nil while starting, or after a failure
	src   *replica.Source    // primary: the standbys' replication source
	fol   *replica.Follower  // standby: following the primary
	err   string
	// notice and noticeAt: what the node did to this copy on its own (a damaged
	// store moved aside), reported in heartbeats for noticeFor.
	notice   string
	noticeAt time.Time
	// handoffEpoch is the epoch a handoff was started for.
	handoffEpoch uint64
	// watch and reporting: the primary's standby bookkeeping (replicaLoop).
	watch       map[string]*standbyWatch
	reporting   bool
	fencedSince time.Time
	// Failure handling (failure.go): failedEpoch is the epoch+1 a failure was
	// handled under; restart makes the next step reopen the copy; retries and
	// startedAt drive the backoff.
	failedEpoch uint64
	restart     bool
	retries     int
	startedAt   time.Time
	// Saves (autosave.go): saving while one is taken; lastAutosave is the tick
	// of the last one in term saveTerm; stoppedEpoch is the epoch whose final
	// save was recorded. startTick and startHash are where this copy's state
	// began when it was opened as primary.
	saving       bool
	saveTerm     uint64
	lastAutosave uint64
	stoppedEpoch uint64
	startTick    uint64
	startHash    string
}

// New validates the configuration, locks the data directory, listens on the bind
// address and registers with the controllers. Any failure undoes what was done,
// so nothing is left half-started; the errors are one line a user can act on.
func New(cfg Config) (*Node, error) {
	if err := cfg.TLS.RequireOwnRole(tlsconf.RoleNode); err != nil {
		return nil, err
	}
	if len(cfg.Controllers) == 0 {
		return nil, errors.New("no controller address: pass --controller HOST:PORT")
	}
	if cfg.JoinToken == "" {
		return nil, errors.New("no join token: pass --join-token (get it with `starlane cluster join-token`)")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("no data directory: pass --data-dir DIR")
	}
	if cfg.Bind == "" {
		return nil, errors.New("no listen address: pass --bind HOST:PORT")
	}
	if _, _, err := net.SplitHostPort(cfg.Bind); err != nil {
		return nil, fmt.Errorf("--bind %q is not HOST:PORT", cfg.Bind)
	}
	// The controllers would refuse the registration; say so before starting.
	if err := validate.NodeLabels("--label", cfg.Labels); err != nil {
		return nil, errors.New(status.Convert(err).Message())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.FenceAfter <= 0 || cfg.FenceAfter >= 1 {
		cfg.FenceAfter = 0.6
	}
	if cfg.HashEvery == 0 {
		cfg.HashEvery = 60
	}
	if cfg.PlayerBatchTicks == 0 {
		cfg.PlayerBatchTicks = 2
	}
	if cfg.StandbyLostAfter <= 0 {
		cfg.StandbyLostAfter = time.Second
	}
	if cfg.StandbyDropAfter <= 0 {
		cfg.StandbyDropAfter = time.Second
	}
	if cfg.HandoffTimeout <= 0 {
		cfg.HandoffTimeout = 2 * time.Second
	}
	if cfg.Cores == 0 {
		cfg.Cores = 1
	}
	if err := cfg.TLS.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	n := &Node{cfg: cfg, gate: newGate(cfg.Now), hk: newHousekeeping(), shards: map[string]*hosted{}, closing: map[string]*hosted{}, refused: map[string]string{},
		replConns: map[string]*grpc.ClientConn{}, process: strings.TrimPrefix(ctlclient.NewRequestID(), "req-")}
	ok := false
	defer func() {
		if !ok {
			n.closeResources()
		}
	}()
	lock, err := os.OpenFile(filepath.Join(cfg.DataDir, "node.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("data dir %s is in use by another starlane node; give each node its own --data-dir", cfg.DataDir)
	}
	n.lock = lock
	if n.id, n.newDataDir, err = loadID(cfg.DataDir, cfg.Name); err != nil {
		return nil, err
	}
	n.log = cfg.Logger.With("node", n.id)
	// Ticks a killed node left only in its log go into their stores before any
	// shard opens; one group commit per node tick makes every shard's ticks durable.
	if n.nlog, err = shard.OpenNodeLog(cfg.DataDir, shard.NodeLogOptions{Interval: time.Second / 60, IdleDelay: idleCommitDelay, Logger: n.log}); err != nil {
		return nil, fmt.Errorf("open the node's input log: %w", err)
	}

	ln, srvTLS, err := cfg.TLS.ListenTCP(cfg.Bind, "node API", n.log)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("port %s is already in use (another node or program listens there); pick another --bind", cfg.Bind)
		}
		return nil, err
	}
	n.ln = ln
	if cfg.RCONBind != "" {
		if cfg.RCONPassword == "" {
			ln.Close()
			return nil, errors.New("--rcon-bind needs a password: put one in the file --rcon-password-file names")
		}
		rln, _, err := cfg.TLS.ListenTCP(cfg.RCONBind, "RCON console", n.log)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("--rcon-bind: %w", err)
		}
		n.rconLn = rln
		n.rcon = &rcon.Server{Password: cfg.RCONPassword, Handle: n.Console, Log: n.log.With("listener", "rcon")}
	}
	adv := cfg.Advertise
	if adv == "" {
		host, _, _ := net.SplitHostPort(cfg.Bind)
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("--bind %s listens on every address: pass --advertise HOST:PORT so players and nodes can dial this one", cfg.Bind)
		}
		adv = ln.Addr().String()
	}
	n.cfg.Advertise = adv

	if n.ctl, err = ctlclient.Dial(cfg.Controllers, cfg.TLS); err != nil {
		return nil, err
	}
	if n.creds, err = ctlclient.Credentials(cfg.TLS); err != nil {
		return nil, err
	}
	if n.blobs, err = blobstore.Open(filepath.Join(cfg.DataDir, "blobs")); err != nil {
		return nil, err
	}
	bstore, err := blobstore.Open(filepath.Join(cfg.DataDir, "bundles"))
	if err != nil {
		return nil, err
	}
	n.bundles = newBundleSet(sim.DefaultBundle(), bstore)
	n.shMet = shard.NewMetrics(cfg.Metrics)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout)
	defer cancel()
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(authz.Node.Unary, validate.Checker{}.Unary),
		grpc.ChainStreamInterceptor(authz.Node.Stream),
		grpc.MaxRecvMsgSize(validate.MaxNodeMessageBytes),
		grpc.MaxSendMsgSize(validate.MaxNodeMessageBytes),
	}
	opts = append(opts, ctlclient.ServerKeepalive()...)
	if srvTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(srvTLS)))
	}
	n.grpc = grpc.NewServer(opts...)
	pb.RegisterShardServiceServer(n.grpc, &playAPI{n: n})
	n.bridges = newBridgeSet(bridge.Config{Node: n.id, Codec: sim.BridgeCodec{}, Logger: n.log,
		Metrics: bridge.NewMetrics(cfg.Metrics), Now: cfg.Now})
	pb.RegisterBridgeServiceServer(n.grpc, n.bridges.server)
	n.replMet = replica.NewMetrics(cfg.Metrics)
	n.repl = replica.NewServer(replica.Config{Node: n.id, Logger: n.log, Metrics: n.replMet, Now: cfg.Now, HashEvery: cfg.HashEvery, IdleDelay: idleCommitDelay})
	pb.RegisterReplicationServiceServer(n.grpc, n.repl)
	ok = true
	return n, nil
}

// loadID returns the node's ID from dir/node-id, writing want (or a new ID)
// there on first start, and whether it did: the data dir is new.
func loadID(dir, want string) (string, bool, error) {
	file := filepath.Join(dir, "node-id")
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		have := strings.TrimSpace(string(b))
		if want != "" && want != have {
			return "", false, fmt.Errorf("data dir %s belongs to node %q, not %q; use another --data-dir or drop --name", dir, have, want)
		}
		return have, false, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("read node id: %w", err)
	}
	if want == "" {
		b := make([]byte, 3)
		rand.Read(b)
		want = "n-" + hex.EncodeToString(b)
	}
	if !nameRE.MatchString(want) {
		return "", false, fmt.Errorf("--name %q: use 1-63 lowercase letters, digits, '.', '_' or '-'", want)
	}
	if err := os.WriteFile(file, []byte(want+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("write node id: %w", err)
	}
	return want, true, nil
}

// ID returns the node's ID; Addr the address it advertises.
func (n *Node) ID() string   { return n.id }
func (n *Node) Addr() string { return n.cfg.Advertise }

// RCONAddr returns the RCON console's listen address ("" when off).
func (n *Node) RCONAddr() string {
	if n.rconLn == nil {
		return ""
	}
	return n.rconLn.Addr().String()
}

// register registers the node and sets the heartbeat timing it is given.
func (n *Node) register(ctx context.Context) error {
	req := &pb.RegisterRequest{RequestId: ctlclient.NewRequestID(), JoinToken: n.cfg.JoinToken, Node: &pb.Node{
		Id: n.id, Address: n.cfg.Advertise, Capacity: &pb.NodeCapacity{Cores: n.cfg.Cores, MaxSurfaces: n.cfg.MaxSurfaces},
		Labels: n.cfg.Labels, Version: n.cfg.Version, BundlesFixed: n.cfg.BundlesFixed, Process: n.process, NewDataDir: n.newDataDir,
	}}
	for _, b := range n.bundles.held() {
		req.Node.Bundles = append(req.Node.Bundles, b.Hash())
		req.Node.BundleNames = append(req.Node.BundleNames, b.Name)
	}
	var res *pb.RegisterResponse
	sent := n.cfg.Now()
	err := n.ctl.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
		var err error
		res, err = c.Register(ctx, req)
		return err
	})
	if err != nil {
		return registerError(n.cfg.Controllers, err)
	}
	n.mu.Lock()
	n.heartbeatEvery = time.Duration(res.HeartbeatIntervalMs) * time.Millisecond
	n.leaseTTL = time.Duration(res.LeaseTtlMs) * time.Millisecond
	n.leaseUntil = sent.Add(time.Duration(float64(n.leaseTTL) * n.cfg.FenceAfter))
	n.mu.Unlock()
	n.log.Info("registered", "address", n.cfg.Advertise, "heartbeat", n.heartbeatEvery, "lease_ttl", n.leaseTTL, "index", res.Index)
	return nil
}

func registerError(addrs []string, err error) error {
	where := strings.Join(addrs, ", ")
	if errors.Is(err, ctlclient.ErrTLS) {
		// The controller answered; the handshake failed. Its address is right.
		return fmt.Errorf("cannot register with the controller at %s: %w", where, err)
	}
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.Unauthenticated:
		return fmt.Errorf("the controller at %s rejected the join token: %s", where, st.Message())
	case codes.InvalidArgument, codes.AlreadyExists:
		return fmt.Errorf("the controller at %s refused to register this node: %s", where, st.Message())
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "desc = "); i >= 0 {
		msg = strings.Trim(msg[i+len("desc = "):], `"`)
	}
	return fmt.Errorf("cannot reach the controller at %s: %s; check --controller and that a controller runs there", where, msg)
}

// Run serves the node APIs, heartbeats and reconciles assignments until ctx ends,
// then stops every shard (flushing its log) and the servers.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvErr := make(chan error, 1)
	go func() { srvErr <- n.grpc.Serve(n.ln) }()
	if n.rcon != nil {
		go func() {
			if err := n.rcon.Serve(n.rconLn); err != nil {
				n.log.Error("RCON console stopped", "err", err)
			}
		}()
		n.log.Info("RCON console listening", "addr", n.rconLn.Addr().String())
	}
	var wg sync.WaitGroup
	wg.Add(7)
	go func() { defer wg.Done(); n.autosaveLoop(ctx) }()
	go func() { defer wg.Done(); n.chatLoop(ctx) }()
	go func() { defer wg.Done(); n.replicaLoop(ctx) }()
	go func() { defer wg.Done(); n.failureLoop(ctx) }()
	go func() { defer wg.Done(); n.heartbeatLoop(ctx) }()
	go func() { defer wg.Done(); n.watchLoop(ctx) }()
	go func() { defer wg.Done(); n.bridgeLoop(ctx) }()
	n.log.Info("node running", "api", n.cfg.Advertise, "data_dir", n.cfg.DataDir)
	var err error
	select {
	case <-ctx.Done():
	case err = <-srvErr:
		err = fmt.Errorf("node API server stopped: %w", err)
	}
	cancel()
	wg.Wait()
	n.stopAll()
	stopped := make(chan struct{})
	go func() { n.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(2 * time.Second):
		n.grpc.Stop()
	}
	n.closeResources()
	return err
}

func (n *Node) closeResources() {
	if n.rcon != nil {
		n.rcon.Close()
	} else if n.rconLn != nil {
		n.rconLn.Close()
	}
	if n.ctl != nil {
		n.ctl.Close()
	}
	if n.ln != nil {
		n.ln.Close()
	}
	if n.nlog != nil {
		if err := n.nlog.Close(); err != nil {
			n.log.Warn("close the node's input log", "err", err)
		}
	}
	if n.lock != nil {
		n.lock.Close()
	}
}

// idleCommitDelay is how long the ticks of idle surfaces that no player or
// bridge watches may wait for a group commit: a node of idle surfaces
// fdatasyncs four times a second instead of sixty (each costs its process about
// 0.4 ms of CPU on the development machine).
const idleCommitDelay = 250 * time.Millisecond

// idleBurst is how many ticks' time a surface that no player or bridge watches
// and that has no input waiting may let come due before it runs them back to
// back (shard.Config.IdleBurst): a small surface's tick loop wakes four times a
// second instead of sixty, as often as its idle ticks are committed
// (idleCommitDelay). A surface whose ticks cost more takes shorter bursts (the
// shard keeps a burst's ticks within a couple of milliseconds, six ticks at
// least), so that its burst holds a core no longer than a few of a watched
// surface's ticks.
var idleBurst = time.Second / 4

// stopAll stops every shard, in parallel, and waits for them.
func (n *Node) stopAll() {
	n.mu.Lock()
	hs := make([]*hosted, 0, len(n.shards)+len(n.closing))
	for _, h := range n.shards {
		close(h.ops)
		hs = append(hs, h)
	}
	for _, h := range n.closing {
		hs = append(hs, h)
	}
	n.shards = map[string]*hosted{}
	n.mu.Unlock()
	for _, h := range hs {
		h.cancel()
	}
	for _, h := range hs {
		<-h.done
	}
	n.closeReplConns()
}
