package controller

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
)

// tcluster is an in-process cluster of controllers for tests. With inmem set, Raft
// runs over raft's in-memory transport (so tests can partition it); otherwise over
// the real TCP stream layer on loopback.
type tcluster struct {
	t     testing.TB
	inmem bool
	mu    sync.Mutex
	cfgs  []Config
	ctls  []*Controller // nil while stopped
	trans []*raft.InmemTransport
	// cut[i][j] means i cannot reach j.
	cut map[[2]int]bool
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("STARLANE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func baseConfig(t testing.TB, i int) Config {
	lvl := "off"
	if os.Getenv("STARLANE_TEST_LOG") != "" {
		lvl = "info"
	}
	return Config{
		ID: fmt.Sprintf("c%d", i+1), DataDir: filepath.Join(t.TempDir(), fmt.Sprintf("c%d", i+1)),
		BindAddr: "127.0.0.1:0", RaftBind: "127.0.0.1:0",
		ElectionTimeout: 300 * time.Millisecond, HeartbeatInterval: 100 * time.Millisecond, LeaseTTL: 600 * time.Millisecond,
		Logger: testLogger(t), RaftLogLevel: lvl,
	}
}

// newCluster starts n controllers: the first bootstraps, the others join, and it
// waits until all are voters.
func newCluster(t testing.TB, n int, inmem bool, mod func(i int, c *Config)) *tcluster {
	t.Helper()
	tc := &tcluster{t: t, inmem: inmem, cut: map[[2]int]bool{}}
	tc.cfgs = make([]Config, n)
	tc.ctls = make([]*Controller, n)
	tc.trans = make([]*raft.InmemTransport, n)
	for i := 0; i < n; i++ {
		cfg := baseConfig(t, i)
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Join = []string{tc.cfgs[0].BindAddr}
		}
		if mod != nil {
			mod(i, &cfg)
		}
		tc.cfgs[i] = cfg
		tc.start(i)
		if i == 0 {
			tc.waitLeader(10 * time.Second)
		}
	}
	t.Cleanup(tc.stopAll)
	tc.waitVoters(n, 20*time.Second)
	return tc
}

// start (re)starts controller i on its data dir and addresses.
func (tc *tcluster) start(i int) {
	tc.t.Helper()
	cfg := tc.cfgs[i]
	if tc.inmem {
		addr := raft.ServerAddress(fmt.Sprintf("inmem-c%d", i+1))
		_, tr := raft.NewInmemTransport(addr)
		tc.mu.Lock()
		tc.trans[i] = tr
		tc.mu.Unlock()
		cfg.Transport = tr
		tc.reconnect()
	}
	c, err := New(cfg)
	if err != nil {
		tc.t.Fatalf("start controller %d: %v", i, err)
	}
	// Keep the addresses for restarts.
	tc.cfgs[i].BindAddr = c.APIAddr()
	if !tc.inmem {
		tc.cfgs[i].RaftBind = c.RaftAddr()
	}
	tc.cfgs[i].Bootstrap, tc.cfgs[i].Join = false, nil
	if i > 0 && len(cfg.Join) > 0 {
		tc.cfgs[i].Join = cfg.Join
	}
	tc.mu.Lock()
	tc.ctls[i] = c
	tc.mu.Unlock()
}

// reconnect wires every running in-memory transport to every other one except
// across cuts.
func (tc *tcluster) reconnect() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for i, a := range tc.trans {
		if a == nil {
			continue
		}
		a.DisconnectAll()
		for j, b := range tc.trans {
			if i != j && b != nil && !tc.cut[[2]int{i, j}] {
				a.Connect(b.LocalAddr(), b)
			}
		}
	}
}

// partition cuts controller i off from all others (both directions).
func (tc *tcluster) partition(i int) {
	tc.mu.Lock()
	for j := range tc.trans {
		if j != i {
			tc.cut[[2]int{i, j}], tc.cut[[2]int{j, i}] = true, true
		}
	}
	tc.mu.Unlock()
	tc.reconnect()
}

func (tc *tcluster) heal() {
	tc.mu.Lock()
	tc.cut = map[[2]int]bool{}
	tc.mu.Unlock()
	tc.reconnect()
}

// kill stops controller i abruptly (no leadership transfer, no graceful stop).
func (tc *tcluster) kill(i int) {
	tc.mu.Lock()
	c := tc.ctls[i]
	tc.ctls[i] = nil
	if tc.inmem && tc.trans[i] != nil {
		tc.trans[i].DisconnectAll()
		tc.trans[i] = nil
	}
	tc.mu.Unlock()
	if c != nil {
		c.Shutdown(false)
	}
	tc.reconnect()
}

func (tc *tcluster) stopAll() {
	for i := range tc.ctls {
		tc.kill(i)
	}
}

func (tc *tcluster) get(i int) *Controller {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.ctls[i]
}

// leader returns the index of the ready leader, or -1.
func (tc *tcluster) leader() int {
	for i := range tc.ctls {
		if c := tc.get(i); c != nil && c.IsLeader() {
			return i
		}
	}
	return -1
}

func (tc *tcluster) waitLeader(d time.Duration) int {
	tc.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if l := tc.leader(); l >= 0 {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc.t.Fatalf("no leader within %v", d)
	return -1
}

func (tc *tcluster) waitVoters(n int, d time.Duration) {
	tc.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if l := tc.leader(); l >= 0 {
			f := tc.get(l).Raft().GetConfiguration()
			if f.Error() == nil {
				voters := 0
				for _, s := range f.Configuration().Servers {
					if s.Suffrage == raft.Voter {
						voters++
					}
				}
				if voters == n {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tc.t.Fatalf("cluster did not reach %d voters within %v", n, d)
}

func (tc *tcluster) addrs() []string {
	var out []string
	for _, c := range tc.cfgs {
		out = append(out, c.BindAddr)
	}
	return out
}

// client dials the given controllers (all when none given).
func (tc *tcluster) client(which ...int) *ctlclient.Client {
	tc.t.Helper()
	addrs := tc.addrs()
	if len(which) > 0 {
		addrs = nil
		for _, i := range which {
			addrs = append(addrs, tc.cfgs[i].BindAddr)
		}
	}
	cl, err := ctlclient.Dial(addrs, tlsconf.Config{})
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(func() { cl.Close() })
	return cl
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
