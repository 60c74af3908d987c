package dashboard

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// The hub is the one live feed of a dashboard, shared by every open page: a Watch
// stream on the controller's FSM brings each event the moment it is applied (and
// triggers a fresh read of the tables), and one round of reads per stats interval
// brings the nodes' heartbeat stats (tick, UPS, lag, bridge rates), which live only
// in the leader's memory. Pages receive both over server-sent events; no page polls.

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

	mu      sync.Mutex
	snap    *Snapshot
	events  []Event
	history map[string][]float64
	subs    map[chan message]struct{}

	refresh chan struct{}
}

func newHub(s *Server) *hub {
	return &hub{s: s, snap: &Snapshot{}, history: map[string][]float64{}, subs: map[chan message]struct{}{}, refresh: make(chan struct{}, 1)}
}

func (h *hub) run(ctx context.Context) {
	go h.watch(ctx)
	t := time.NewTicker(h.s.cfg.StatsInterval)
	defer t.Stop()
	for {
		h.update(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.refresh:
		}
	}
}

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

// update reads the tables once and sends the new snapshot to every page.
func (h *hub) update(ctx context.Context) {
	snap := h.s.read(ctx)
	h.mu.Lock()
	for i := range snap.Surfaces {
		sf := &snap.Surfaces[i]
		hist := append(h.history[sf.Name], sf.UPS)
		if len(hist) > historyPoints {
			hist = hist[len(hist)-historyPoints:]
		}
		h.history[sf.Name] = hist
		sf.History = hist
	}
	h.snap = snap
	data, _ := json.Marshal(snap)
	h.broadcastLocked(message{"state", data})
	h.mu.Unlock()
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
	ev := h.events
	if len(ev) > eventsKept {
		ev = ev[len(ev)-eventsKept:]
	}
	return h.snap, append([]Event(nil), ev...), ch
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
	return h.snap, append([]Event(nil), ev...)
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

// read builds a snapshot: the controllers each answer for themselves; nodes, surfaces
// and bridges come from linearizable reads with the leader's live stats.
func (s *Server) read(ctx context.Context) *Snapshot {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	snap := &Snapshot{UnixMS: time.Now().UnixMilli(), Served: s.cfg.ControllerID}
	var nodes *pb.ListNodesResponse
	var surfaces *pb.ListSurfacesResponse
	var bridges *pb.ListBridgesResponse
	var peers *pb.ListControllersResponse
	err := s.cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		var err error
		if peers, err = c.ListControllers(ctx, &pb.ListControllersRequest{}); err != nil {
			return err
		}
		if nodes, err = c.ListNodes(ctx, &pb.ListNodesRequest{}); err != nil {
			return err
		}
		if surfaces, err = c.ListSurfaces(ctx, &pb.ListSurfacesRequest{}); err != nil {
			return err
		}
		bridges, err = c.ListBridges(ctx, &pb.ListBridgesRequest{})
		return err
	})
	if err != nil {
		snap.Error = "cannot read the cluster: " + errText(err)
		// Keep showing what the controllers say about themselves.
		if peers == nil {
			snap.Controllers = []Controller{s.status(ctx, &pb.ControllerPeer{Id: s.cfg.ControllerID, ApiAddress: s.cfg.SelfAddr})}
		}
	}
	if peers != nil {
		var wg sync.WaitGroup
		snap.Controllers = make([]Controller, len(peers.Peers))
		for i, p := range peers.Peers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				snap.Controllers[i] = s.status(ctx, p)
			}()
		}
		wg.Wait()
		for _, c := range snap.Controllers {
			if c.State == "leader" {
				snap.Leader = c.ID
			}
		}
	}
	if nodes != nil && surfaces != nil && bridges != nil {
		snap.Index = max(nodes.Index, surfaces.Index, bridges.Index)
		snap.Nodes = buildNodes(nodes.Nodes, surfaces.Surfaces, snap.UnixMS, s.cfg.HeartbeatInterval.Milliseconds())
		for _, sf := range surfaces.Surfaces {
			snap.Surfaces = append(snap.Surfaces, buildSurface(sf))
		}
		for _, b := range bridges.Bridges {
			snap.Bridges = append(snap.Bridges, buildBridge(b))
		}
	}
	return snap
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
		c.Error = errText(err)
		return c
	}
	c.State, c.Term, c.Applied = r.State, r.Term, r.AppliedIndex
	c.Leader = r.State == "leader"
	return c
}
