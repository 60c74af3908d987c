// Package player is the lockstep client: it joins a surface on the node that runs
// its primary, loads the checkpoint, simulates every confirmed tick itself, sends
// the player's actions, reports its state hash, and on a desync sends its state,
// waits for the report and resyncs. `starlane play`, `starlane bot` and the tests
// use it.
package player

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// Options configure a client.
type Options struct {
	// Node is the address of a node; the client follows redirects to the primary.
	Node    string
	Surface string
	Name    string
	TLS     tlsconf.Config
	Version string
	// ReconnectFor is how long Run keeps trying to get back in after the stream
	// breaks (30s).
	ReconnectFor time.Duration
	// OnEvent, if set, is told about joins, desyncs, reports and reconnects.
	OnEvent func(Event)
	// Ticket, if set, returns a player ticket for Name (Tickets.Get); a cluster
	// admits players with a ticket only.
	Ticket func(ctx context.Context, name string) (string, error)
	// TamperAt, if non-zero, corrupts the local state after that tick (tests and
	// the desync drill): a chest appears that the surface does not have.
	TamperAt uint64
}

// Event is something a user of the client may want to show.
type Event struct {
	Kind    string // "joined", "resumed", "desync", "report", "reconnect", "redirect"
	Message string
	Report  *pb.DesyncReport
}

// Client is one player's lockstep session with its local simulation.
type Client struct {
	opts   Options
	bundle *sim.Bundle

	addr   string
	conn   *grpc.ClientConn
	stream pb.ShardService_PlayClient
	cancel context.CancelFunc

	// Sim is the local copy of the surface; read it only from Run's callback.
	Sim       *sim.Surface
	player    uint32
	epoch     uint64
	hashEvery uint64
	nodeName  string
	// peers are the surface's other copies, as the last Welcome named them.
	peers []string

	sendMu sync.Mutex

	mu       sync.Mutex
	desyncs  int
	actions  int
	refused  int
	costs    []uint32
	executed uint64
	// simTick is Sim's tick, for Stats from other goroutines than Run's.
	simTick  uint64
	rtt      time.Duration
	tampered bool
	chat     []*pb.ChatMessage // the newest lines, oldest first
}

// maxChatLines is how many chat lines a client keeps.
const maxChatLines = 50

// Chat says text to the surface's players, or with global to every surface's.
func (c *Client) Chat(text string, global bool) error {
	return c.send(&pb.PlayRequest{Msg: &pb.PlayRequest_Chat{Chat: &pb.ChatSend{Text: text, Global: global}}})
}

// ChatLines returns the newest n chat lines as the game shows them
// ("[global] alice: hi").
func (c *Client) ChatLines(n int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.chat[max(0, len(c.chat)-n):] {
		out = append(out, chatLine(m))
	}
	return out
}

func chatLine(m *pb.ChatMessage) string {
	where := m.Surface
	if m.Global {
		where = "global"
	}
	return fmt.Sprintf("[%s] %s: %s", where, m.Player, m.Text)
}

// streamWindow is the client's HTTP/2 receive window, per stream and per connection.
const streamWindow = 4 << 20

// Dial joins the surface and loads its state.
func Dial(ctx context.Context, o Options) (*Client, error) {
	if o.Node == "" || o.Surface == "" || o.Name == "" {
		return nil, errors.New("a client needs a node address, a surface and a player name")
	}
	if o.ReconnectFor <= 0 {
		o.ReconnectFor = 30 * time.Second
	}
	c := &Client{opts: o, bundle: sim.DefaultBundle(), addr: o.Node}
	if err := c.join(ctx, 0); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Player returns the player's ID on the surface; Epoch the surface epoch.
func (c *Client) Player() uint32 { return c.player }
func (c *Client) Epoch() uint64  { return c.epoch }

// NodeName returns the node serving the session; Addr its address.
func (c *Client) NodeName() string { return c.nodeName }
func (c *Client) Addr() string     { return c.addr }

func (c *Client) event(kind, format string, args ...any) {
	if c.opts.OnEvent != nil {
		c.opts.OnEvent(Event{Kind: kind, Message: fmt.Sprintf(format, args...)})
	}
}

// join opens a session; with resume > 0 it asks to continue from its own state.
func (c *Client) join(ctx context.Context, resume uint64) error {
	for hop := 0; ; hop++ {
		if c.conn == nil {
			creds, err := ctlclient.Credentials(c.opts.TLS)
			if err != nil {
				return err
			}
			if c.conn, err = grpc.NewClient(c.addr, grpc.WithTransportCredentials(creds),
				grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(validate.MaxNodeMessageBytes)),
				// Static flow-control windows: with gRPC's dynamic ones (BDP
				// estimation) the client answers almost every tick message with a
				// WINDOW_UPDATE and a PING, which the node has to read and ack,
				// for every player, 60 times a second. 4 MiB is plenty for a
				// checkpoint download and for a lockstep stream of a few hundred
				// bytes a tick.
				grpc.WithStaticStreamWindowSize(streamWindow), grpc.WithStaticConnWindowSize(streamWindow)); err != nil {
				return fmt.Errorf("node address %q: %w", c.addr, err)
			}
		}
		var tk string
		if c.opts.Ticket != nil {
			var err error
			if tk, err = c.opts.Ticket(ctx, c.opts.Name); err != nil {
				return err
			}
		}
		sctx, cancel := context.WithCancel(context.Background())
		stream, err := pb.NewShardServiceClient(c.conn).Play(sctx)
		if err == nil {
			err = stream.Send(&pb.PlayRequest{Epoch: 0, Msg: &pb.PlayRequest_Hello{Hello: &pb.Hello{
				Surface: c.opts.Surface, PlayerName: c.opts.Name, ResumeTick: resume, BundleHash: c.bundle.Hash(), BundleName: c.bundle.Name, ClientVersion: c.opts.Version,
				Ticket: tk}}})
		}
		var first *pb.PlayResponse
		if err == nil {
			first, err = recvCtx(ctx, stream)
		}
		if err != nil {
			cancel()
			return err
		}
		if r := first.GetRedirect(); r != nil {
			cancel()
			if r.Address == "" {
				return status.Errorf(codes.Unavailable, "%s", r.Reason)
			}
			if hop >= 3 {
				return fmt.Errorf("redirected too often (last: %s)", r.Reason)
			}
			c.event("redirect", "%s; following to %s", r.Reason, r.Address)
			c.conn.Close()
			c.conn, c.addr = nil, r.Address
			continue
		}
		w := first.GetWelcome()
		if w == nil {
			cancel()
			return fmt.Errorf("node answered Hello with %T, not Welcome", first.Msg)
		}
		if !w.Resumed {
			var buf bytes.Buffer
			for {
				m, err := recvCtx(ctx, stream)
				if err != nil {
					cancel()
					return fmt.Errorf("receive checkpoint: %w", err)
				}
				ch := m.GetCheckpoint()
				if ch == nil {
					cancel()
					return fmt.Errorf("expected checkpoint data, got %T", m.Msg)
				}
				buf.Write(ch.Data)
				if ch.Last {
					break
				}
			}
			s, err := sim.Load(c.bundle, &buf)
			if err != nil {
				cancel()
				return fmt.Errorf("load the surface's checkpoint: %w", err)
			}
			if s.Tick() != w.StartTick || s.Hash() != w.StartHash {
				cancel()
				return fmt.Errorf("checkpoint loads as tick %d hash %016x, the node said tick %d hash %016x", s.Tick(), s.Hash(), w.StartTick, w.StartHash)
			}
			c.Sim = s
			c.mu.Lock()
			c.simTick = s.Tick()
			c.mu.Unlock()
		}
		c.stream, c.cancel = stream, cancel
		c.player, c.epoch, c.hashEvery, c.nodeName = w.PlayerId, first.Epoch, uint64(max(w.HashEvery, 1)), w.Node
		if len(w.Peers) > 0 {
			c.peers = w.Peers
		}
		if w.Resumed {
			c.event("resumed", "resumed %s at tick %d on node %s", c.opts.Surface, w.StartTick, w.Node)
		} else {
			c.event("joined", "joined %s as player %d at tick %d on node %s (%d byte checkpoint)", c.opts.Surface, w.PlayerId, w.StartTick, w.Node, w.CheckpointBytes)
		}
		return nil
	}
}

func recvCtx(ctx context.Context, s pb.ShardService_PlayClient) (*pb.PlayResponse, error) {
	type res struct {
		m   *pb.PlayResponse
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := s.Recv(); ch <- res{m, err} }()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) send(m *pb.PlayRequest) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	m.Epoch = c.epoch
	return c.stream.Send(m)
}

// Act sends an encoded action for the next tick. Call it from Run's callback.
func (c *Client) Act(a sim.Action) error {
	c.mu.Lock()
	c.actions++
	c.mu.Unlock()
	return c.send(&pb.PlayRequest{Msg: &pb.PlayRequest_Action{Action: &pb.PlayerAction{TargetTick: c.Sim.Tick() + 1, Data: sim.EncodeAction(a)}}})
}

// Ping measures the round trip to the node; the answer arrives in Run.
func (c *Client) Ping() error {
	return c.send(&pb.PlayRequest{Msg: &pb.PlayRequest_Ping{Ping: &pb.Ping{ClientUnixNano: time.Now().UnixNano()}}})
}

// Refused returns how many actions the node answered it will never run.
func (c *Client) Refused() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

// ServerTick returns the primary's newest executed tick last heard of.
func (c *Client) ServerTick() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.executed
}

// Stats is what a client measured.
type Stats struct {
	Desyncs, Actions int
	// Refused counts actions the node answered it will never run (its queue
	// was full, or the surface was frozen to move to another node or to stop).
	Refused int
	Tick    uint64
	// ServerTick is the primary's newest executed tick last heard of.
	ServerTick uint64
	RTT        time.Duration
	// TickCosts are the primary's tick times (us) of every tick received.
	TickCosts []uint32
}

// Stats returns a copy of the client's measurements.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Stats{Desyncs: c.desyncs, Actions: c.actions, Refused: c.refused, ServerTick: c.executed, RTT: c.rtt, TickCosts: append([]uint32(nil), c.costs...)}
	st.Tick = c.simTick
	return st
}

// endWords says why a session ended in words: a node's own reason as it gave it,
// and a broken connection as one, not gRPC's "rpc error: code = … desc = …".
func endWords(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	switch st.Code() {
	case codes.Unavailable:
		return "the node's connection broke: " + st.Message()
	case codes.DeadlineExceeded:
		return "the node stopped answering"
	case codes.Canceled:
		return "the stream was closed"
	}
	return st.Message()
}

// Run applies confirmed ticks as they arrive and calls onTick after each, until ctx
// ends. A broken stream is rejoined (resuming from the local state when the node
// still has the log after it); a desync is reported and resynced.
func (c *Client) Run(ctx context.Context, onTick func(tick uint64)) error {
	for {
		err := c.runStream(ctx, onTick)
		if ctx.Err() != nil {
			return nil
		}
		if st, ok := status.FromError(err); ok && st.Code() == codes.PermissionDenied {
			// Kicked or banned by an admin, or taken off the whitelist: joining
			// again at once would only be refused (or let in by a node that has not
			// heard of the ban yet), so the session ends here, in the node's words.
			return &RefusedJoin{Reason: st.Message()}
		}
		var rs *resync
		var mv *moved
		resume := c.Sim.Tick()
		if errors.As(err, &rs) {
			resume = 0
		} else if code := status.Code(err); code == codes.FailedPrecondition || code == codes.OutOfRange {
			resume = 0 // the stream's epoch or history is gone: start from a checkpoint
		}
		c.event("reconnect", "session ended (%s); joining again", endWords(err))
		if errors.As(err, &mv) && mv.addr == "" {
			c.nextNode()
		}
		deadline := time.Now().Add(c.opts.ReconnectFor)
		for attempt := 0; ; attempt++ {
			if c.cancel != nil {
				c.cancel()
			}
			jerr := c.join(ctx, resume)
			if jerr == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			if st, ok := status.FromError(jerr); ok && (st.Code() == codes.PermissionDenied || st.Code() == codes.Unauthenticated) {
				return &RefusedJoin{Reason: st.Message()}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("could not rejoin %s within %v: %w", c.opts.Surface, c.opts.ReconnectFor, jerr)
			}
			if status.Code(jerr) != codes.AlreadyExists {
				// The node is gone, restarting, fenced or no longer has the surface:
				// try the surface's other copies (one of them takes over) and the
				// node we were first given, in turn. Our old session on a node that
				// is still there just has not ended yet (AlreadyExists): retry it.
				c.nextNode()
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(min(time.Duration(attempt+1)*50*time.Millisecond, 250*time.Millisecond)):
			}
		}
	}
}

// RefusedJoin ends Run when the node closed the session for the player (kicked,
// banned, off the whitelist) or refuses to let it in again.
type RefusedJoin struct{ Reason string }

func (e *RefusedJoin) Error() string { return e.Reason }

// moved ends a stream whose node stopped running the surface's primary (a live
// move or a failover): the client follows to addr at once, resuming from its own
// state; an empty addr means try the other copies.
type moved struct {
	addr, reason string
}

func (m *moved) Error() string {
	if m.addr == "" {
		return m.reason
	}
	return fmt.Sprintf("%s; following to %s", m.reason, m.addr)
}

// nextNode moves on to the next node that may run the surface: the copies the
// last Welcome named, then the node the client was first given.
func (c *Client) nextNode() {
	cands := []string{}
	for _, a := range append(append([]string{c.addr}, c.peers...), c.opts.Node) {
		if a != "" && !slices.Contains(cands, a) {
			cands = append(cands, a)
		}
	}
	i := slices.Index(cands, c.addr)
	next := cands[(i+1)%len(cands)]
	if next != c.addr && c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	c.addr = next
}

// resync ends a stream after a desync report: the client must load a checkpoint.
type resync struct{ tick uint64 }

func (r *resync) Error() string { return fmt.Sprintf("resync after the desync at tick %d", r.tick) }

func (c *Client) runStream(ctx context.Context, onTick func(uint64)) error {
	defer c.cancel()
	msgs := make(chan *pb.PlayResponse, 64)
	errc := make(chan error, 1)
	// The reader keeps its own stream: after a reconnect c.stream is the next one, which
	// this goroutine, still draining the old stream, must not read.
	st := c.stream
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				errc <- err
				close(msgs)
				return
			}
			select {
			case msgs <- m:
			case <-done:
				return
			}
		}
	}()
	for {
		var m *pb.PlayResponse
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m = <-msgs:
		}
		if m == nil {
			err := <-errc
			if err == io.EOF {
				err = errors.New("the node ended the session")
			}
			return err
		}
		if m.Epoch > c.epoch {
			c.epoch = m.Epoch
		}
		switch msg := m.Msg.(type) {
		case *pb.PlayResponse_Ticks:
			c.mu.Lock()
			c.executed = msg.Ticks.ExecutedTick
			c.mu.Unlock()
			for _, t := range msg.Ticks.Ticks {
				if want := c.Sim.Tick() + 1; t.Tick != want {
					return fmt.Errorf("the node sent tick %d, the local state is at %d", t.Tick, want-1)
				}
				in := make([]sim.Input, len(t.Inputs))
				for i, x := range t.Inputs {
					in[i] = sim.Input{Player: x.Player, Data: x.Data}
				}
				c.Sim.Step(in)
				c.mu.Lock()
				c.simTick = t.Tick
				c.costs = append(c.costs, t.CostUs)
				c.mu.Unlock()
				if c.opts.TamperAt != 0 && t.Tick == c.opts.TamperAt && !c.tampered {
					c.tampered = true
					c.Sim.Build(sim.BuildSpec{Name: "wooden-chest", X: 900, Y: 900})
				}
				if t.Tick%c.hashEvery == 0 {
					if err := c.send(&pb.PlayRequest{Msg: &pb.PlayRequest_HashReport{HashReport: &pb.HashReport{Tick: t.Tick, Hash: c.Sim.Hash()}}}); err != nil {
						return err
					}
				}
				if onTick != nil {
					onTick(t.Tick)
				}
			}
		case *pb.PlayResponse_Desync:
			c.mu.Lock()
			c.desyncs++
			c.mu.Unlock()
			d := msg.Desync
			c.event("desync", "desync at tick %d: the surface's hash is %016x, ours %016x; sending our state for the report", d.Tick, d.ServerHash, d.ClientHash)
			var buf bytes.Buffer
			if err := c.Sim.Save(&buf); err != nil {
				return err
			}
			data := buf.Bytes()
			for off := 0; ; off += 1 << 20 {
				end := min(off+1<<20, len(data))
				if err := c.send(&pb.PlayRequest{Msg: &pb.PlayRequest_DesyncState{DesyncState: &pb.DesyncState{DesyncTick: d.Tick, Data: data[off:end], Last: end == len(data)}}}); err != nil {
					return err
				}
				if end == len(data) {
					break
				}
			}
		case *pb.PlayResponse_DesyncReport:
			r := msg.DesyncReport
			if c.opts.OnEvent != nil {
				c.opts.OnEvent(Event{Kind: "report", Report: r, Message: fmt.Sprintf("desync report %s: %d entities differ", r.Path, r.DifferingEntities)})
			}
			return &resync{tick: r.Tick}
		case *pb.PlayResponse_Redirect:
			r := msg.Redirect
			c.event("redirect", "%s", r.Reason)
			if r.Address != "" && r.Address != c.addr {
				if c.conn != nil {
					c.conn.Close()
					c.conn = nil
				}
				c.addr = r.Address
			}
			return &moved{addr: r.Address, reason: r.Reason}
		case *pb.PlayResponse_Chat:
			c.mu.Lock()
			c.chat = append(c.chat, msg.Chat)
			if len(c.chat) > maxChatLines {
				c.chat = c.chat[len(c.chat)-maxChatLines:]
			}
			c.mu.Unlock()
			c.event("chat", "%s", chatLine(msg.Chat))
		case *pb.PlayResponse_Refused:
			c.mu.Lock()
			c.refused++
			c.mu.Unlock()
			c.event("refused", "an action was not applied: %s", msg.Refused.Reason)
		case *pb.PlayResponse_Pong:
			c.mu.Lock()
			c.rtt = time.Since(time.Unix(0, msg.Pong.ClientUnixNano))
			c.executed = msg.Pong.ExecutedTick
			c.mu.Unlock()
		}
	}
}

// Close ends the session.
func (c *Client) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.conn != nil {
		c.conn.Close()
	}
}
