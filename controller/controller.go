package controller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/blobstore"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Config configures one controller.
type Config struct {
	// ID names this controller in the Raft group; empty reads DataDir/controller-id
	// or creates one there.
	ID      string
	DataDir string
	// BindAddr is the gRPC API listen address; RaftBind the Raft transport's.
	BindAddr string
	RaftBind string
	// APIAdvertise and RaftAdvertise are the addresses peers use; empty = the bind
	// address (which must then be a concrete IP).
	APIAdvertise  string
	RaftAdvertise string
	// Bootstrap starts a new single-voter cluster if DataDir has no Raft state.
	Bootstrap bool
	// RebuildFromPeers lets a controller whose Raft storage is damaged move it
	// aside and rejoin through Join as a new member, copying the state from its
	// peers. Without it such a controller refuses to start.
	RebuildFromPeers bool
	// RebuildToken is the admin operator token a rebuilding controller uses to
	// ask its peers to drop it (RemoveController needs the admin role).
	RebuildToken string
	// Join lists API addresses of existing controllers to join through.
	Join []string
	// JoinToken is the node join token a bootstrapping controller installs; empty
	// generates one.
	JoinToken string
	TLS       tlsconf.Config
	// AdminToken is installed as the first admin operator token when the cluster
	// has never had one (bootstrap); empty installs none, and a cluster without
	// operator tokens admits every call its certificates allow (tests, embedding).
	AdminToken string
	// Catalog names the planets and built-in maps requests may ask for (the
	// simulation's); empty accepts any well-formed name.
	Catalog validate.Catalog
	// Bundles reads uploaded prototype bundles and names the built-in one; nil
	// refuses bundle uploads.
	Bundles BundleFormat

	// HeartbeatInterval is what nodes are told to use; LeaseTTL is how long the
	// leader waits for a heartbeat before marking a node down.
	HeartbeatInterval time.Duration
	LeaseTTL          time.Duration
	// RestoreAfter is how long a surface whose only copy is on a down node waits
	// for it before the leader restores it from its newest autosave
	// (DefaultRestoreAfter when zero).
	RestoreAfter time.Duration
	// ElectionTimeout sets Raft's heartbeat and election timeouts (lease: half).
	ElectionTimeout time.Duration
	// SnapshotThreshold is how many log entries trigger a Raft snapshot.
	SnapshotThreshold uint64

	Logger *slog.Logger
	// RaftLogLevel is hashicorp/raft's own log level ("off", "error", "warn", "info").
	RaftLogLevel string
	Metrics      prometheus.Registerer
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// Transport replaces the TCP Raft transport (tests use raft's in-memory one).
	Transport raft.Transport
	// wrapStore, when set, wraps the Raft log store (tests inject write failures).
	wrapStore func(logStore) logStore
}

// apiStreamWorkers is how many goroutines serve gRPC calls (see NumStreamWorkers
// in start): enough for the benchmark's 64 concurrent writers and then some.
const apiStreamWorkers = 128

// Controller is one running controller.
type Controller struct {
	cfg    Config
	id     string
	log    *slog.Logger
	now    func() time.Time
	fsm    *FSM
	raft   *raft.Raft
	rounds *rounds
	// raftStopped is closed once Raft is shut down: a future it never answered
	// is not waited for after that (rounds.settle).
	raftStopped  chan struct{}
	raftStopOnce sync.Once
	trans        raft.Transport
	store        logStore
	// space wraps store for Raft and remembers a write that found the disk full.
	space *spaceWatch
	// llog is what Raft writes its log through: the leader's writes run beside
	// replication, and the FSM applies only what is durable here (leaderlog.go).
	llog *leaderLog
	lock *os.File // held while the store is open (lockDataDir)
	// blobs holds the content of uploaded saves (and bundles), by sha256.
	blobs *blobstore.Store
	// blobKick wakes syncBlobs at once (a damaged copy was set aside).
	blobKick chan struct{}
	// health is the leader's view of its followers (peerhealth.go).
	peerHealth peerHealth
	apiLn      net.Listener
	apiAdv     string
	grpc       *grpc.Server
	health     *health.Server
	fwd        *forwarder
	met        *metrics

	leaderReady atomic.Bool
	leaderMu    sync.Mutex
	leaderStop  context.CancelFunc
	leaderDone  chan struct{}
	live        *liveState
	lost        lostReports
	stats       statsCache
	denied      deniedAudit

	// failed carries the StorageError once the FSM halted (see watchHalt).
	failed     chan error
	failedOnce sync.Once
	halted     atomic.Pointer[StorageError]

	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New opens the data directory, starts Raft and the gRPC server. It returns once
// both listen; joining (with Config.Join) continues in the background.
func New(cfg Config) (*Controller, error) {
	if err := cfg.TLS.RequireOwnRole(tlsconf.RoleController); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Second
	}
	if cfg.LeaseTTL <= cfg.HeartbeatInterval {
		return nil, fmt.Errorf("lease TTL %v must be longer than the heartbeat interval %v", cfg.LeaseTTL, cfg.HeartbeatInterval)
	}
	if cfg.ElectionTimeout <= 0 {
		cfg.ElectionTimeout = 500 * time.Millisecond
	}
	if cfg.DataDir == "" {
		return nil, errors.New("controller needs --data-dir")
	}
	if cfg.Bootstrap && len(cfg.Join) > 0 {
		return nil, errors.New("use either --bootstrap or --join, not both")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	id, err := loadID(cfg.DataDir, cfg.ID)
	if err != nil {
		return nil, err
	}
	c := &Controller{cfg: cfg, id: id, log: cfg.Logger.With("controller", id), now: cfg.Now, live: newLiveState(), failed: make(chan error, 1), blobKick: make(chan struct{}, 1), raftStopped: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.fsm = NewFSM(c.log)
	if err := c.start(); err != nil {
		c.closeAll()
		return nil, err
	}
	return c, nil
}

func loadID(dir, want string) (string, error) {
	file := filepath.Join(dir, "controller-id")
	b, err := os.ReadFile(file)
	switch {
	case err == nil:
		have := strings.TrimSpace(string(b))
		if want != "" && want != have {
			return "", fmt.Errorf("data dir %s belongs to controller %q, not %q; use another --data-dir or drop --id", dir, have, want)
		}
		return have, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read controller id: %w", err)
	}
	if want == "" {
		want = "c-" + randomHex(4)
	}
	if !nameRE.MatchString(want) {
		return "", fmt.Errorf("controller id %q: use 1-63 lowercase letters, digits, '.', '_' or '-'", want)
	}
	if err := os.WriteFile(file, []byte(want+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write controller id: %w", err)
	}
	return want, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func (c *Controller) start() error {
	cfg := c.cfg
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.LevelFromString(orDefault(cfg.RaftLogLevel, "warn")), Output: os.Stderr})
	if strings.EqualFold(cfg.RaftLogLevel, "off") {
		hl = hclog.NewNullLogger()
	}

	// API listener first: its address goes into the controller record.
	ln, srvTLS, err := cfg.TLS.ListenTCP(cfg.BindAddr, "gRPC API", c.log)
	if err != nil {
		return err
	}
	c.apiLn = ln
	c.apiAdv = orDefault(cfg.APIAdvertise, ln.Addr().String())

	if cfg.Transport != nil {
		c.trans = cfg.Transport
	} else {
		rl, err := cfg.TLS.Listen(cfg.RaftBind, "Raft", c.log, tlsconf.RoleController)
		if err != nil {
			return err
		}
		adv := rl.Addr()
		if cfg.RaftAdvertise != "" {
			if err := checkAdvertise(cfg.RaftAdvertise); err != nil {
				rl.Close()
				return fmt.Errorf("--raft-advertise: %w", err)
			}
			adv = advertisedAddr(cfg.RaftAdvertise)
		}
		c.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: &streamLayer{Listener: rl, adv: adv, tls: cfg.TLS}, MaxPool: 4, Timeout: 10 * time.Second, Logger: hl,
		})
	}

	store, err := c.openStore(hl)
	if err != nil {
		return err
	}
	c.store = store
	c.space = &spaceWatch{logStore: store, now: c.now}
	if cfg.wrapStore != nil {
		c.space.logStore = cfg.wrapStore(store)
	}
	if c.blobs, err = blobstore.Open(filepath.Join(cfg.DataDir, "blobs")); err != nil {
		return err
	}
	if err := c.storeBuiltinBundle(); err != nil {
		return fmt.Errorf("store the built-in bundle: %w", err)
	}
	// The leader's log writes run beside replication (leaderlog.go).
	var rp atomic.Pointer[raft.Raft]
	c.llog, err = newLeaderLog(c.space, leadsCluster(&rp), func(err error) {
		c.log.Warn("the leader's Raft log write failed; handing leadership to another controller", "err", err)
		if r := rp.Load(); r != nil {
			if err := r.LeadershipTransfer().Error(); err != nil {
				c.log.Warn("leadership transfer after a failed log write", "err", err)
			}
		}
	})
	if err != nil {
		return fmt.Errorf("read the Raft log: %w", err)
	}
	logs, err := raft.NewLogCache(1024, c.llog)
	if err != nil {
		return err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, hl)
	if err != nil {
		return fmt.Errorf("open snapshot store: %w", err)
	}

	notify := make(chan bool, 16)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.id)
	rc.HeartbeatTimeout = cfg.ElectionTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.ElectionTimeout / 2
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512
	rc.NotifyCh = notify
	rc.Logger = hl
	rc.SnapshotThreshold = 65536 // a snapshot encodes the whole catalog; do it rarely under write storms
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	existing, err := raft.HasExistingState(logs, c.space, snaps)
	if err != nil {
		return fmt.Errorf("inspect raft state: %w", err)
	}
	r, err := raft.NewRaft(rc, gatedFSM{BatchingFSM: c.fsm, log: c.llog}, logs, c.space, snaps, &commitCap{Transport: c.trans, durable: c.llog.Durable})
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	rp.Store(r)
	c.raft = r
	c.rounds = &rounds{r: r, max: maxRounds, stopped: c.raftStopped}
	switch {
	case cfg.Bootstrap && !existing:
		c.log.Info("bootstrapping a new cluster", "raft", c.trans.LocalAddr())
		f := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: c.trans.LocalAddr(), Suffrage: raft.Voter}}})
		if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap: %w", err)
		}
	case cfg.Bootstrap:
		c.log.Info("data dir already holds cluster state; --bootstrap ignored")
	case !existing && len(cfg.Join) == 0:
		return errors.New("empty data dir: start the first controller with --bootstrap and the others with --join ADDR")
	}

	c.met = newMetrics(cfg.Metrics, c)
	c.fwd = newForwarder(c)
	c.health = health.NewServer()
	c.setHealth(false)
	opts := []grpc.ServerOption{
		// Who may call what is decided first, before metrics or forwarding: a
		// refused call never reaches the leader. A halted controller (damaged
		// log) refuses everything before that. Operator tokens are checked
		// after forwarding: a follower sends the caller's token on, and the
		// leader, whose state is newest, checks it.
		grpc.ChainUnaryInterceptor(c.refuseUnary, requestHashUnary, authz.Controller.Unary, validate.Checker{Catalog: cfg.Catalog}.Unary, c.met.unary, c.fwd.unary, c.tokens().Unary),
		grpc.ChainStreamInterceptor(c.refuseStream, authz.Controller.Stream, c.tokens().Stream),
		grpc.MaxRecvMsgSize(validate.MaxRequestBytes),
		grpc.MaxSendMsgSize(validate.MaxResponseBytes),
		// Static windows: no BDP pings per request (see ctlclient.StreamWindow).
		grpc.StaticStreamWindowSize(ctlclient.StreamWindow),
		grpc.StaticConnWindowSize(ctlclient.ConnWindow),
		// Calls run on long-lived workers instead of a new goroutine each: a
		// write waits milliseconds in Raft deep in its handler, and every fresh
		// goroutine grew (copied) its stack on the way there. Beyond this many
		// calls at once (or with long streams holding workers) gRPC falls back
		// to a goroutine per call.
		grpc.NumStreamWorkers(apiStreamWorkers),
	}
	opts = append(opts, ctlclient.ServerKeepalive()...)
	if srvTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(srvTLS)))
	}
	c.grpc = grpc.NewServer(opts...)
	pb.RegisterClusterServiceServer(c.grpc, &clusterAPI{c: c})
	pb.RegisterNodeServiceServer(c.grpc, &nodeAPI{c: c})
	pb.RegisterAccessServiceServer(c.grpc, &accessAPI{c: c})
	pb.RegisterSaveServiceServer(c.grpc, &saveAPI{c: c})
	pb.RegisterBlobServiceServer(c.grpc, &blobAPI{c: c})
	pb.RegisterBundleServiceServer(c.grpc, &bundleAPI{c: c})
	pb.RegisterStatsServiceServer(c.grpc, &statsAPI{c: c})
	healthpb.RegisterHealthServer(c.grpc, c.health)
	reflection.Register(c.grpc)

	c.goRun(func() {
		if err := c.grpc.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			c.log.Error("gRPC server stopped", "err", err)
		}
	})
	c.goRun(func() { c.watchLeadership(notify) })
	c.goRun(c.watchHealth)
	c.goRun(c.watchHalt)
	c.goRun(c.writeJoinTokenFile)
	c.goRun(c.syncBlobs)
	c.goRun(c.watchPeerHealth)
	if len(cfg.Join) > 0 {
		c.goRun(c.joinLoop)
	}
	c.log.Info("controller started", "api", c.apiAdv, "raft", c.trans.LocalAddr(), "data_dir", cfg.DataDir)
	return nil
}

// openStore opens the Raft log and stable store (raft-wal), migrating a raft.db
// of an earlier version first. It checks the files (structure, then every log
// entry); a damaged store is a *StorageError, or, with RebuildFromPeers, is moved
// aside and replaced by an empty one after the peers dropped this member.
func (c *Controller) openStore(hl hclog.Logger) (logStore, error) {
	lock, err := lockDataDir(c.cfg.DataDir)
	if err != nil {
		return nil, err
	}
	c.lock = lock
	dir := filepath.Join(c.cfg.DataDir, walDirName)
	open := func() (logStore, error) {
		if _, err := os.Stat(filepath.Join(c.cfg.DataDir, boltLogName)); err == nil {
			if err := c.migrateBoltLog(hl); err != nil {
				return nil, err
			}
		}
		w, err := c.openWAL(dir, hl)
		if err != nil {
			return nil, err
		}
		if err := c.verifyLog(w, dir); err != nil {
			w.Close()
			return nil, err
		}
		return w, nil
	}
	store, err := open()
	var se *StorageError
	if !errors.As(err, &se) || !c.cfg.RebuildFromPeers {
		return store, err
	}
	if len(c.cfg.Join) == 0 {
		return nil, fmt.Errorf("%w\n--rebuild-from-peers needs --join with the API address of a running controller", err)
	}
	c.log.Error("Raft storage damaged; rebuilding from peers (--rebuild-from-peers)", "err", se.Err, "file", se.File)
	if err := c.leaveThroughPeers(); err != nil {
		return nil, err
	}
	if err := c.quarantine(); err != nil {
		return nil, err
	}
	return open()
}

// boltOptions are the bbolt options of the Raft log and stable store. The
// freelist is rebuilt on open instead of written on every commit: fewer pages per
// fsync on the write path (etcd's backend does the same). Page size, initial mmap
// size and the freelist type stay at bbolt's defaults: BenchmarkBoltStoreLogs
// measured no gain from changing them (a commit's cost is its two fdatasyncs).
func boltOptions() *bbolt.Options {
	return &bbolt.Options{Timeout: time.Second, NoFreelistSync: true, FreelistType: bbolt.FreelistMapType}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (c *Controller) goRun(fn func()) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
}

// tokens is the operator-token check of this controller's API.
func (c *Controller) tokens() authz.Tokens {
	return authz.Tokens{Store: bootstrapStore{FSM: c.fsm, pending: c.cfg.AdminToken}, Now: c.now, Denied: c.auditDenied}
}

// deniedAudit bounds the audit entries of refused calls: at most
// deniedPerWindow per token in deniedWindow, the others counted into the next
// one recorded (a token holder cannot fill the Raft log by calling what it may
// not).
type deniedAudit struct {
	mu     sync.Mutex
	tokens map[string]*deniedWindowOf // by token ID
}

// deniedWindowOf is one token's current window of refusals.
type deniedWindowOf struct {
	start      time.Time
	recorded   int
	suppressed uint64 // refusals not recorded since the last one that was
}

const (
	deniedWindow    = 10 * time.Second
	deniedPerWindow = 5
)

// auditDenied records a call refused to a known token for want of a role in the
// audit log, in the background. Writes and leader reads reach the token check on
// the leader (a follower forwards them first), so the leader records them; a
// refusal of a call a follower answers itself is only logged there.
func (c *Controller) auditDenied(who authz.Caller, err error) {
	if !c.IsLeader() {
		c.log.Info("call refused for want of a role", "who", who.Name, "method", who.Method)
		return
	}
	now := c.now()
	d := &c.denied
	d.mu.Lock()
	if d.tokens == nil {
		d.tokens = map[string]*deniedWindowOf{}
	}
	w := d.tokens[who.TokenID]
	if w == nil {
		w = &deniedWindowOf{}
		d.tokens[who.TokenID] = w
	}
	if now.Sub(w.start) >= deniedWindow {
		w.start, w.recorded = now, 0
	}
	if w.recorded >= deniedPerWindow {
		w.suppressed++
		d.mu.Unlock()
		return
	}
	w.recorded++
	suppressed := w.suppressed
	w.suppressed = 0
	d.mu.Unlock()
	cmd := &pb.Command{ // propose adds the request ID and the time
		Actor: &pb.Actor{Name: who.Name, TokenId: who.TokenID, Role: who.Role.String(), Method: who.Method, What: "refused"},
		Op:    &pb.Command_AuditDenied{AuditDenied: &pb.AuditDeniedCmd{Message: status.Convert(err).Message(), Suppressed: suppressed}}}
	c.goRun(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if _, err := c.propose(ctx, cmd); err != nil && status.Code(err) != codes.PermissionDenied {
			c.log.Warn("could not record a refused call in the audit log", "who", who.Name, "method", who.Method, "err", err)
		}
	})
}

// bootstrapStore enforces tokens from the first moment on a controller started
// with an admin token to install: until the leader has committed it, that
// token is the only one, so no caller can slip in a token of its own first.
type bootstrapStore struct {
	*FSM
	pending string
}

func (b bootstrapStore) TokensEnforced() bool {
	return b.pending != "" || b.FSM.TokensEnforced()
}

func (b bootstrapStore) LookupToken(hash string) (authz.TokenRecord, bool) {
	if r, ok := b.FSM.LookupToken(hash); ok {
		return r, true
	}
	if b.pending != "" && hash == authz.HashToken(b.pending) && !b.FSM.bootstrapInstalled() {
		return authz.TokenRecord{ID: authz.TokenID(hash), Name: "bootstrap-admin", Role: authz.OpAdmin}, true
	}
	return authz.TokenRecord{}, false
}

// Authorize checks an operator token for a full gRPC method name, as the API
// does: other front ends of this controller (the web dashboard) call it for
// the actions they offer.
func (c *Controller) Authorize(token, method string) (authz.Caller, error) {
	return c.tokens().Check(token, method)
}

// InternalReadToken returns a read token for this process's own front ends (the
// web dashboard), valid on every controller of the cluster; "" until the first
// leader set the cluster up.
func (c *Controller) InternalReadToken() string { return c.fsm.InternalReadToken() }

// ID returns the controller's Raft server ID.
func (c *Controller) ID() string { return c.id }

// APIAddr returns the address the gRPC API is reachable at.
func (c *Controller) APIAddr() string { return c.apiAdv }

// RaftAddr returns the Raft transport address.
func (c *Controller) RaftAddr() string { return string(c.trans.LocalAddr()) }

// Raft exposes the Raft node (tests and metrics).
func (c *Controller) Raft() *raft.Raft { return c.raft }

// leaderSilence reports how long this follower has not heard from the leader,
// and whether that is longer than a leader that is alive stays silent: it sends
// heartbeats ten times per election timeout, and silent means half of one
// without any (the follower itself calls an election after a whole one).
func (c *Controller) leaderSilence() (time.Duration, bool) {
	if c.raft.State() != raft.Follower {
		return 0, false
	}
	last := c.raft.LastContact()
	if last.IsZero() {
		return 0, false
	}
	quiet := time.Since(last)
	return quiet, quiet > c.cfg.ElectionTimeout/2
}

// IsLeader reports whether this controller is the leader and ready to serve.
func (c *Controller) IsLeader() bool {
	return c.raft.State() == raft.Leader && c.leaderReady.Load()
}

// transferLeadership hands leadership to the most up-to-date voter. A transfer can fail
// on a transient error — the transport's pooled connection to a follower that restarted
// breaks on the first TimeoutNow — so it tries a few times before giving up.
func (c *Controller) transferLeadership() error {
	var err error
	for try := 0; try < 3 && c.raft.State() == raft.Leader; try++ {
		if err = c.raft.LeadershipTransfer().Error(); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Shutdown stops the controller. graceful hands leadership to another voter first
// and lets in-flight calls finish.
func (c *Controller) Shutdown(graceful bool) error {
	var err error
	c.stopOnce.Do(func() {
		if graceful && c.raft != nil && c.raft.State() == raft.Leader {
			if ferr := c.transferLeadership(); ferr != nil {
				c.log.Info("no leadership transfer before shutdown", "err", ferr)
			} else {
				c.log.Info("leadership transferred before shutdown")
			}
		}
		c.cancel()
		if c.grpc != nil {
			if graceful {
				done := make(chan struct{})
				go func() { c.grpc.GracefulStop(); close(done) }()
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					c.grpc.Stop()
				}
			} else {
				c.grpc.Stop()
			}
		}
		err = c.closeAll()
		c.wg.Wait()
	})
	return err
}

func (c *Controller) closeAll() error {
	c.cancel()
	var errs []error
	if c.llog != nil {
		c.llog.abandon() // an FSM waiting on a write that cannot be made must not hold up Raft's shutdown
	}
	if c.raft != nil {
		errs = append(errs, c.raft.Shutdown().Error())
		c.raftStopOnce.Do(func() { close(c.raftStopped) })
	}
	if c.llog != nil {
		c.llog.Close()
	}
	if c.grpc == nil && c.apiLn != nil {
		c.apiLn.Close()
	}
	if cl, ok := c.trans.(io.Closer); ok && c.cfg.Transport == nil {
		errs = append(errs, cl.Close())
	}
	if c.store != nil {
		errs = append(errs, c.store.Close())
	}
	if c.lock != nil {
		c.lock.Close()
	}
	if c.fwd != nil {
		c.fwd.close()
	}
	return errors.Join(errs...)
}

// Failed delivers, once, the error that stopped this controller while it ran: a
// committed entry its FSM could not apply. The process should exit with it.
func (c *Controller) Failed() <-chan error { return c.failed }

// watchHalt stops the controller from taking part once its FSM halted: it no
// longer votes or leads (Raft is shut down), answers every API call UNAVAILABLE
// with the reason (clients go to another controller), and reports NOT_SERVING.
func (c *Controller) watchHalt() {
	select {
	case <-c.ctx.Done():
		return
	case <-c.fsm.Halted():
	}
	h := c.fsm.Halt()
	se := &StorageError{ID: c.id, File: filepath.Join(c.cfg.DataDir, walDirName), Index: h.Index, Err: fmt.Errorf("%w: %v", ErrStorage, h.Err)}
	c.halted.Store(se)
	c.setHealth(false)
	c.log.Error("controller stopped: a committed entry cannot be applied", "index", h.Index, "file", se.File, "err", h.Err)
	if err := c.raft.Shutdown().Error(); err != nil {
		c.log.Warn("raft shutdown after halt", "err", err)
	}
	c.failedOnce.Do(func() { c.failed <- se })
}

func (c *Controller) refusal() error {
	if se := c.halted.Load(); se != nil {
		return status.Error(codes.Unavailable, se.Error())
	}
	return nil
}

func (c *Controller) refuseUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := c.refusal(); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (c *Controller) refuseStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := c.refusal(); err != nil {
		return err
	}
	return h(srv, ss)
}

// watchHealth keeps the gRPC health status in line with "a leader is known".
func (c *Controller) watchHealth() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	last := false
	first := true
	for {
		known := c.raft.Leader() != "" && c.halted.Load() == nil
		if known != last || first {
			c.setHealth(known)
			last, first = known, false
		}
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Controller) setHealth(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, svc := range []string{"", pb.ClusterService_ServiceDesc.ServiceName, pb.NodeService_ServiceDesc.ServiceName, pb.AccessService_ServiceDesc.ServiceName} {
		c.health.SetServingStatus(svc, st)
	}
}

// writeJoinTokenFile keeps DATA_DIR/join-token equal to the replicated token.
func (c *Controller) writeJoinTokenFile() {
	written := ""
	for {
		ch := c.fsm.TokenChanged()
		var tok string
		c.fsm.read(func(s *state) { tok = s.joinToken })
		if tok != "" && tok != written {
			file := filepath.Join(c.cfg.DataDir, "join-token")
			if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
				c.log.Error("write join token file", "file", file, "err", err)
			} else {
				written = tok
			}
		}
		select {
		case <-c.ctx.Done():
			return
		case <-ch:
		}
	}
}

// leaderAPIAddr returns the API address of the current leader, if known.
func (c *Controller) leaderAPIAddr() (id, addr string) {
	_, lid := c.raft.LeaderWithID()
	if lid == "" {
		return "", ""
	}
	if string(lid) == c.id {
		return c.id, c.apiAdv
	}
	c.fsm.read(func(s *state) {
		if ci := s.controllers[string(lid)]; ci != nil {
			addr = ci.ApiAddress
		}
	})
	return string(lid), addr
}
