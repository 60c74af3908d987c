package controller

import (
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// statsAPI serves StatsService: the leader's live view, pushed as heartbeats and
// commits change it, so that dashboards follow node stats without polling.
type statsAPI struct {
	pb.UnimplementedStatsServiceServer
	c *Controller
}

// Bounds of WatchStats' pacing.
const (
	defaultStatsInterval = 500 * time.Millisecond
	minStatsInterval     = 100 * time.Millisecond
	// statsIdle is the longest gap between two messages when nothing changes, so
	// that heartbeat ages (and a node going stale) still show.
	statsIdle = 2 * time.Second
)

// changedCh returns a channel closed at the next heartbeat.
func (l *liveState) changedCh() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed == nil {
		l.changed = make(chan struct{})
	}
	return l.changed
}

// touchLocked wakes the watchers of changedCh; l.mu is held.
func (l *liveState) touchLocked() {
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
}

func (a *statsAPI) WatchStats(req *pb.WatchStatsRequest, ss pb.StatsService_WatchStatsServer) error {
	c := a.c
	gap := defaultStatsInterval
	if req.MinIntervalMs > 0 {
		gap = max(minStatsInterval, time.Duration(req.MinIntervalMs)*time.Millisecond)
	}
	idle := time.NewTimer(statsIdle)
	defer idle.Stop()
	for {
		if !c.IsLeader() {
			return c.notLeaderStream(ss)
		}
		liveCh, fsmCh := c.live.changedCh(), c.fsm.Changed()
		if err := ss.Send(c.sharedLiveStats()); err != nil {
			return err
		}
		sent := time.Now()
		idle.Reset(statsIdle)
		select {
		case <-ss.Context().Done():
			return status.FromContextError(ss.Context().Err()).Err()
		case <-c.ctx.Done():
			return status.Error(codes.Unavailable, "controller shutting down; watch again")
		case <-liveCh:
		case <-fsmCh:
		case <-idle.C:
		}
		// Pace: changes that come sooner are sent together after the gap.
		if wait := gap - time.Since(sent); wait > 0 {
			select {
			case <-ss.Context().Done():
				return status.FromContextError(ss.Context().Err()).Err()
			case <-c.ctx.Done():
				return status.Error(codes.Unavailable, "controller shutting down; watch again")
			case <-time.After(wait):
			}
		}
	}
}

// statsShareWindow is how old a LiveStats one stream built may be when another
// stream sends it too: every dashboard (one per controller with --metrics-bind)
// follows WatchStats on the leader, they wake on the same heartbeats, and each
// built the whole catalog on its own — with thousands of surfaces and bridges,
// most of a steady leader's CPU.
const statsShareWindow = minStatsInterval

// statsCache holds the last LiveStats built, shared read-only by the streams
// (sending a message only reads it).
type statsCache struct {
	mu  sync.Mutex
	at  time.Time
	msg *pb.LiveStats
}

// sharedLiveStats returns the LiveStats another stream built within
// statsShareWindow, or builds a new one.
func (c *Controller) sharedLiveStats() *pb.LiveStats {
	c.stats.mu.Lock()
	defer c.stats.mu.Unlock()
	if c.stats.msg != nil && time.Since(c.stats.at) < statsShareWindow {
		return c.stats.msg
	}
	c.stats.msg, c.stats.at = c.liveStats(), time.Now()
	return c.stats.msg
}

// liveStats builds one LiveStats from the applied state and the leases, like
// ListNodes, ListSurfaces and ListBridges together (without their quorum round: a
// stream of the leader's own view).
func (c *Controller) liveStats() *pb.LiveStats {
	live := c.live.snapshot()
	out := &pb.LiveStats{UnixMs: c.now().UnixMilli(), LeaderId: c.id}
	c.fsm.read(func(s *state) {
		out.Index = s.index
		for _, id := range sortedKeys(s.nodes) {
			out.Nodes = append(out.Nodes, c.liveNode(s.nodes[id], live))
		}
		shards := shardsBySurface(live)
		for _, name := range sortedKeys(s.surfaces) {
			out.Surfaces = append(out.Surfaces, c.liveSurface(s.surfaces[name], shards))
		}
		ends := bridgeEndsByID(live, c.live.lastSenders())
		for _, id := range sortedKeys(s.bridges) {
			out.Bridges = append(out.Bridges, liveBridge(s, s.bridges[id], ends))
		}
	})
	return out
}
