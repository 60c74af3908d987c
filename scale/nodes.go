// Package scale measures the controller at cluster scale: it starts real
// controller processes and one process that plays many worker nodes over the
// real node protocol (register, heartbeat, watch assignments, replica updates,
// primary-lost reports). The simulated nodes' shards are stubs that only report
// ticks, so what is measured is the controller — its Raft log, scheduler, leases
// and bridge routing — not the simulation.
package scale

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// FleetConfig configures the process that plays many nodes.
type FleetConfig struct {
	Client    *ctlclient.Client
	JoinToken string
	// Nodes is how many nodes to play, named Prefix + a number.
	Nodes  int
	Prefix string
	// Cores is each node's advertised core count.
	Cores uint32
	// LostAfter is how long a standby waits after its primary's node died
	// before it reports the primary lost (a real standby notices the end of the
	// replication stream after --standby-lost-after).
	LostAfter time.Duration
	Logger    *slog.Logger
}

// Fleet is a set of simulated nodes in one process.
type Fleet struct {
	cfg   FleetConfig
	start time.Time

	mu    sync.Mutex
	nodes map[string]*simNode
	dead  map[string]time.Time // killed nodes, when
}

type simNode struct {
	f      *Fleet
	id     string
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	asg    map[string]*pb.NodeAssignment // by surface
	synced map[string]uint64             // surface -> epoch whose standbys were reported synced
	lost   map[string]uint64             // surface -> epoch reported lost
	beat   time.Duration
	busy   atomic.Bool // a pass of replicaWork is running
}

// NewFleet makes the nodes; Run starts them.
func NewFleet(cfg FleetConfig) *Fleet {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = time.Second
	}
	if cfg.Cores == 0 {
		cfg.Cores = 8
	}
	return &Fleet{cfg: cfg, nodes: map[string]*simNode{}, dead: map[string]time.Time{}}
}

// NodeName is the name of simulated node i.
func NodeName(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }

// Run registers every node and keeps them heartbeating until ctx ends. Commands
// read from cmds, one per line: "kill NAME" stops a node at once (no more
// heartbeats, streams or reports), as a crashed process would.
func (f *Fleet) Run(ctx context.Context, cmds io.Reader) error {
	f.start = time.Now()
	var wg sync.WaitGroup
	for i := 0; i < f.cfg.Nodes; i++ {
		nctx, cancel := context.WithCancel(ctx)
		n := &simNode{f: f, id: NodeName(f.cfg.Prefix, i), ctx: nctx, cancel: cancel,
			asg: map[string]*pb.NodeAssignment{}, synced: map[string]uint64{}, lost: map[string]uint64{}}
		f.mu.Lock()
		f.nodes[n.id] = n
		f.mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); n.run() }()
	}
	if cmds != nil {
		go func() {
			sc := bufio.NewScanner(cmds)
			for sc.Scan() {
				fields := strings.Fields(sc.Text())
				if len(fields) == 2 && fields[0] == "kill" {
					f.Kill(fields[1])
				}
			}
		}()
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// Kill stops node id as a crash would.
func (f *Fleet) Kill(id string) {
	f.mu.Lock()
	n := f.nodes[id]
	if n != nil {
		f.dead[id] = time.Now()
	}
	f.mu.Unlock()
	if n != nil {
		n.cancel()
		f.cfg.Logger.Info("killed simulated node", "node", id)
	}
}

func (f *Fleet) deadSince(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.dead[id]
	return t, ok
}

// tick is the stub shards' current tick: every surface runs at 60 UPS from the
// fleet's start.
func (f *Fleet) tick() uint64 { return uint64(time.Since(f.start).Milliseconds() * 60 / 1000) }

func (n *simNode) run() {
	for n.ctx.Err() == nil {
		if err := n.register(); err != nil {
			n.f.cfg.Logger.Warn("register", "node", n.id, "err", err)
			sleep(n.ctx, time.Second)
			continue
		}
		go n.watch()
		n.heartbeatLoop() // returns when the node must register again
	}
}

func (n *simNode) register() error {
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	rid := ctlclient.NewRequestID()
	return n.f.cfg.Client.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
		r, err := c.Register(ctx, &pb.RegisterRequest{RequestId: rid, JoinToken: n.f.cfg.JoinToken, Node: &pb.Node{
			Id: n.id, Address: "127.0.0.1:1", Version: "scale-sim", Capacity: &pb.NodeCapacity{Cores: n.f.cfg.Cores}}})
		if err != nil {
			return err
		}
		n.mu.Lock()
		n.beat = time.Duration(r.HeartbeatIntervalMs) * time.Millisecond
		n.mu.Unlock()
		return nil
	})
}

func (n *simNode) watch() {
	for n.ctx.Err() == nil {
		err := n.f.cfg.Client.Node(n.ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			st, err := c.WatchAssignments(ctx, &pb.WatchAssignmentsRequest{NodeId: n.id})
			if err != nil {
				return err
			}
			for {
				up, err := st.Recv()
				if err != nil {
					return err
				}
				m := make(map[string]*pb.NodeAssignment, len(up.Assignments))
				for _, a := range up.Assignments {
					m[a.Surface.GetName()] = a
				}
				n.mu.Lock()
				n.asg = m
				n.mu.Unlock()
			}
		})
		if n.ctx.Err() == nil {
			n.f.cfg.Logger.Debug("watch ended", "node", n.id, "err", err)
			sleep(n.ctx, 200*time.Millisecond)
		}
	}
}

// heartbeatLoop reports every shard's tick each interval, and does what a real
// node's shards would: a primary reports its standbys synced (the stub copies
// are always caught up), a standby whose primary's node died reports it lost.
func (n *simNode) heartbeatLoop() {
	for n.ctx.Err() == nil {
		n.mu.Lock()
		beat := n.beat
		asg := make([]*pb.NodeAssignment, 0, len(n.asg))
		for _, a := range n.asg {
			asg = append(asg, a)
		}
		n.mu.Unlock()
		if beat <= 0 {
			beat = time.Second
		}
		tick := n.f.tick()
		shards := make([]*pb.ShardStats, 0, len(asg))
		for _, a := range asg {
			shards = append(shards, &pb.ShardStats{Surface: a.Surface.GetName(), Epoch: a.Epoch, Role: a.Role,
				Tick: tick, ConfirmedTick: tick, UpsMilli: 60_000, TickCostUs: 20, Following: a.Role == pb.ShardRole_SHARD_ROLE_STANDBY})
		}
		ctx, cancel := context.WithTimeout(n.ctx, 3*beat)
		err := n.f.cfg.Client.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.Heartbeat(ctx, &pb.HeartbeatRequest{NodeId: n.id, Shards: shards})
			return err
		})
		cancel()
		if err != nil && n.ctx.Err() == nil && (strings.Contains(err.Error(), "register") || strings.Contains(err.Error(), "not registered")) {
			return
		}
		// Replica updates and reports go beside the heartbeats, as a real
		// node's shards send them: a slow controller must not delay the
		// heartbeat (and so let the lease run out).
		if n.busy.CompareAndSwap(false, true) {
			go func() {
				defer n.busy.Store(false)
				// Each shard reports on its own, as a node's shards do.
				var wg sync.WaitGroup
				for _, a := range asg {
					wg.Add(1)
					go func() { defer wg.Done(); n.replicaWork(a, tick) }()
				}
				wg.Wait()
			}()
		}
		sleep(n.ctx, beat)
	}
}

func (n *simNode) replicaWork(a *pb.NodeAssignment, tick uint64) {
	sf := a.Surface
	name, as := sf.GetName(), sf.GetAssignment()
	switch a.Role {
	case pb.ShardRole_SHARD_ROLE_PRIMARY:
		var missing []string
		for _, s := range as.GetStandbys() {
			if !slices.Contains(as.GetSynced(), s) {
				missing = append(missing, s)
			}
		}
		n.mu.Lock()
		done := n.synced[name] == a.Epoch
		n.mu.Unlock()
		if len(missing) == 0 || done {
			return
		}
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		defer cancel()
		rid := ctlclient.NewRequestID()
		err := n.f.cfg.Client.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.UpdateReplicas(ctx, &pb.UpdateReplicasRequest{RequestId: rid, NodeId: n.id, Surface: name, Epoch: a.Epoch, Synced: missing})
			return err
		})
		if err == nil {
			n.mu.Lock()
			n.synced[name] = a.Epoch
			n.mu.Unlock()
		}
	case pb.ShardRole_SHARD_ROLE_STANDBY:
		since, dead := n.f.deadSince(as.GetPrimary())
		if !dead || time.Since(since) < n.f.cfg.LostAfter || !slices.Contains(as.GetSynced(), n.id) {
			return
		}
		n.mu.Lock()
		done := n.lost[name] == a.Epoch
		n.mu.Unlock()
		if done {
			return
		}
		ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
		defer cancel()
		err := n.f.cfg.Client.Node(ctx, func(ctx context.Context, c pb.NodeServiceClient) error {
			_, err := c.ReportPrimaryLost(ctx, &pb.ReportPrimaryLostRequest{NodeId: n.id, Surface: name, Epoch: a.Epoch, Tick: tick, Reason: "replication stream ended"})
			return err
		})
		if err == nil {
			n.mu.Lock()
			n.lost[name] = a.Epoch
			n.mu.Unlock()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
