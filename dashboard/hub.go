package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// The hub is the one live feed of a dashboard, shared by every open page. Two
// streams feed it and nothing is polled: Watch on the controller's FSM brings each
// event the moment it is applied, and WatchStats on the leader brings the catalog
// with the nodes' heartbeat stats (tick, UPS, lag, bridge rates, which never enter
// Raft) each time a heartbeat or a commit changes them. The controllers' own Raft
// roles and terms are asked of each controller when an event arrives and every few
// seconds (a term can change without a commit reaching this member). Pages receive
// the result over server-sent events.

// historyPoints is how many UPS samples a sparkline shows (5 minutes at 1 s).
const historyPoints = 300

// eventsKept is how many recent events a newly opened page receives.
const eventsKept = 200

type message struct {
	name string // SSE event name: "state" or "event"
	data []byte
}

type hub struct {
	s *Server

	mu        sync.Mutex
	live      *pb.LiveStats // the latest from WatchStats
	statsErr  string        // why there are no live stats now
	ctrls     []Controller
	snap      *Snapshot
	events    []Event
	history   map[string][]float64
	sampledMS int64
	subs      map[chan message]struct{}

	refresh    chan struct{}
	pageOpened chan struct{} // a page opened while none was: follow the stats faster
}

func newHub(s *Server) *hub {
	return &hub{s: s, history: map[string][]float64{}, subs: map[chan message]struct{}{}, refresh: make(chan struct{}, 1),
		pageOpened: make(chan struct{}, 1)}
}

func (h *hub) run(ctx context.Context) {
	go h.watch(ctx)
	go h.stats(ctx)
	t := time.NewTicker(controllersEvery)
	defer t.Stop()
	gap := time.NewTimer(0)
	defer gap.Stop()
	for {
		ctrls := h.s.controllers(ctx)
		h.mu.Lock()
		h.ctrls = ctrls
		h.publishLocked()
		watched := len(h.subs) > 0
		h.mu.Unlock()
		// A write storm applies events faster than anyone can read them: the
		// rounds they prompt are spaced, and the pokes in between coalesce.
		if watched {
			gap.Reset(refreshGap)
		} else {
			gap.Reset(unwatchedRefreshGap)
		}
		select {
		case <-ctx.Done():
			return
		case <-gap.C:
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.refresh:
		}
	}
}

// controllersEvery is how often the controllers are asked for their Raft state
// when no event prompts it.
const controllersEvery = 5 * time.Second

// refreshGap is the least time between two rounds of asking the controllers and
// publishing the state while a page is open; unwatchedRefreshGap while none is
// (the state is then only kept, for the next page, not encoded).
const (
	refreshGap          = 250 * time.Millisecond
	unwatchedRefreshGap = time.Second
)

// poke asks for a fresh read soon (the FSM changed).
func (h *hub) poke() {
	select {
	case h.refresh <- struct{}{}:
	default:
	}
}

// watch follows the controller's event log, resuming from the last index seen.
func (h *hub) watch(ctx context.Context) {
	var from uint64
	for ctx.Err() == nil {
		err := h.watchOnce(ctx, &from)
		if ctx.Err() != nil {
			return
		}
		h.s.log.Debug("dashboard: event watch ended; resuming", "from", from, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (h *hub) watchOnce(ctx context.Context, from *uint64) error {
	st, err := pb.NewClusterServiceClient(h.s.self).Watch(ctx, &pb.WatchRequest{FromIndex: *from})
	if err != nil {
		return err
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return err
		}
		*from = m.Index
		switch p := m.Payload.(type) {
		case *pb.WatchResponse_Event:
			h.addEvent(eventOf(p.Event))
			h.poke()
		case *pb.WatchResponse_FullState:
			h.poke()
		}
	}
}

func (h *hub) addEvent(e Event) {
	data, _ := json.Marshal(e)
	h.mu.Lock()
	h.events = append(h.events, e)
	if len(h.events) > 2*eventsKept {
		h.events = append([]Event(nil), h.events[len(h.events)-eventsKept:]...)
	}
	h.broadcastLocked(message{"event", data})
	h.mu.Unlock()
}

// stats follows WatchStats, on the leader wherever it is.
func (h *hub) stats(ctx context.Context) {
	addr := h.s.cfg.SelfAddr
	for ctx.Err() == nil {
		leader, err := h.statsOnce(ctx, addr)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errPageOpened) {
			continue // the same controller, at the pages' rate
		}
		if leader != "" && leader != addr {
			addr = leader // the stream's trailer named the leader: go there at once
			continue
		}
		addr = h.s.cfg.SelfAddr
		h.mu.Lock()
		h.statsErr = "no live stats: " + errText(err)
		h.publishLocked()
		h.mu.Unlock()
		h.poke() // the leader may have changed: ask the controllers
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// errPageOpened ends a stats stream followed at the slow rate when a page opens.
var errPageOpened = errors.New("a page opened")

// statsOnce reads one WatchStats stream from the controller at addr until it ends;
// it returns the leader's address when the controller named it. With no page open
// it asks for the stats once a second, the UPS history's resolution, instead of at
// the pages' rate (each update is the whole catalog, encoded by the leader for
// each controller's dashboard), and starts again faster when a page opens.
func (h *hub) statsOnce(ctx context.Context, addr string) (string, error) {
	cc, err := h.s.conn(addr)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	every := h.s.cfg.StatsInterval
	h.mu.Lock()
	watched := len(h.subs) > 0
	h.mu.Unlock()
	if !watched && every < time.Second {
		every = time.Second
		select {
		case <-h.pageOpened: // a page opened and closed since: stale
		default:
		}
		go func() {
			select {
			case <-ctx.Done():
			case <-h.pageOpened:
				cancel(errPageOpened)
			}
		}()
	}
	st, err := pb.NewStatsServiceClient(cc).WatchStats(ctx, &pb.WatchStatsRequest{MinIntervalMs: uint32(every.Milliseconds())})
	if err != nil {
		if errors.Is(context.Cause(ctx), errPageOpened) {
			return "", errPageOpened
		}
		return "", err
	}
	for {
		m, err := st.Recv()
		if err != nil {
			if errors.Is(context.Cause(ctx), errPageOpened) {
				return "", errPageOpened
			}
			if l := st.Trailer().Get(leaderTrailer); len(l) > 0 {
				return l[0], err
			}
			return "", err
		}
		h.mu.Lock()
		h.live, h.statsErr = m, ""
		h.sampleLocked(m)
		h.publishLocked()
		h.mu.Unlock()
	}
}

// leaderTrailer is the trailer a follower names the leader in (controller/forward.go).
const leaderTrailer = "starlane-leader"

// sampleLocked adds a point to each surface's UPS history, at most one a second.
func (h *hub) sampleLocked(m *pb.LiveStats) {
	if m.UnixMs-h.sampledMS < 1000 {
		return
	}
	h.sampledMS = m.UnixMs
	for _, sf := range m.Surfaces {
		hist := append(h.history[sf.Name], float64(sf.GetStats().GetUpsMilli())/1000)
		if len(hist) > historyPoints {
			hist = hist[len(hist)-historyPoints:]
		}
		h.history[sf.Name] = hist
	}
}

// publishLocked marks the snapshot stale and, while a page is open, builds it
// from the latest stats and controller states and sends it to every page. With no
// page open nothing is encoded: the snapshot is built when one asks for it
// (snapshotLocked). Building and encoding it is O(catalog), and the leader's
// dashboard publishes on every applied event: a write storm spent most of the
// leader's CPU here for no viewer.
func (h *hub) publishLocked() {
	h.snap = nil
	if len(h.subs) == 0 {
		return
	}
	data, _ := json.Marshal(h.snapshotLocked())
	h.broadcastLocked(message{"state", data})
}

// snapshotLocked returns the current snapshot, building it if it is stale.
func (h *hub) snapshotLocked() *Snapshot {
	if h.snap != nil {
		return h.snap
	}
	snap := &Snapshot{UnixMS: time.Now().UnixMilli(), Served: h.s.cfg.ControllerID, Controllers: h.ctrls, Error: h.statsErr}
	for _, c := range h.ctrls {
		if c.State == "leader" {
			snap.Leader = c.ID
		}
	}
	if m := h.live; m != nil {
		snap.Index = m.Index
		snap.Nodes = buildNodes(m.Nodes, m.Surfaces, m.UnixMs, h.s.cfg.HeartbeatInterval.Milliseconds())
		for _, sf := range m.Surfaces {
			s := buildSurface(sf)
			s.History = h.history[sf.Name]
			snap.Surfaces = append(snap.Surfaces, s)
		}
		for _, b := range m.Bridges {
			snap.Bridges = append(snap.Bridges, buildBridge(b))
		}
	}
	h.snap = snap
	return snap
}

func (h *hub) broadcastLocked(m message) {
	for ch := range h.subs {
		select {
		case ch <- m:
		default: // a page that cannot keep up misses a message; the next state covers it
		}
	}
}

// subscribe returns the current snapshot, the recent events and a channel of what follows.
func (h *hub) subscribe() (*Snapshot, []Event, chan message) {
	ch := make(chan message, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[ch] = struct{}{}
	if len(h.subs) == 1 {
		select {
		case h.pageOpened <- struct{}{}:
		default:
		}
	}
	ev := h.events
	if len(ev) > eventsKept {
		ev = ev[len(ev)-eventsKept:]
	}
	h.poke() // the controllers' states may be a second old: ask again
	return h.snapshotLocked(), append([]Event(nil), ev...), ch
}

func (h *hub) unsubscribe(ch chan message) {
	h.mu.Lock()
	delete(h.subs, ch)
	h.mu.Unlock()
}

// current returns the latest snapshot and recent events.
func (h *hub) current() (*Snapshot, []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := h.events
	if len(ev) > eventsKept {
		ev = ev[len(ev)-eventsKept:]
	}
	return h.snapshotLocked(), append([]Event(nil), ev...)
}

// conn returns a cached connection to a controller's API address.
func (s *Server) conn(addr string) (*grpc.ClientConn, error) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if cc := s.conns[addr]; cc != nil {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, s.dialOpts...)
	if err != nil {
		return nil, err
	}
	s.conns[addr] = cc
	return cc, nil
}

// controllers asks every member of the Raft group for its own state.
func (s *Server) controllers(ctx context.Context) []Controller {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var peers *pb.ListControllersResponse
	err := s.cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		peers, err = c.ListControllers(ctx, &pb.ListControllersRequest{})
		return err
	})
	if err != nil {
		// Still show what this controller says about itself.
		c := s.status(ctx, &pb.ControllerPeer{Id: s.cfg.ControllerID, ApiAddress: s.cfg.SelfAddr})
		if c.Error == "" {
			c.Error = "members unknown: " + errText(err)
		}
		return []Controller{c}
	}
	out := make([]Controller, len(peers.Peers))
	var wg sync.WaitGroup
	for i, p := range peers.Peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = s.status(ctx, p)
		}()
	}
	wg.Wait()
	return out
}

// status asks one controller for its own Raft state.
func (s *Server) status(ctx context.Context, p *pb.ControllerPeer) Controller {
	c := Controller{ID: p.Id, API: p.ApiAddress, Raft: p.RaftAddress, Suffrage: p.Suffrage, Leader: p.Leader, State: "unreachable"}
	if p.ApiAddress == "" {
		c.Error = "no API address registered"
		return c
	}
	cc, err := s.conn(p.ApiAddress)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r, err := pb.NewClusterServiceClient(cc).GetStatus(ctx, &pb.GetStatusRequest{})
	if err != nil {
		c.Error = "not answering: " + ctlclient.Describe(err)
		return c
	}
	c.State, c.Term, c.Applied = r.State, r.Term, r.AppliedIndex
	c.Leader = r.State == "leader"
	return c
}
