package node

import (
	"context"
	"errors"
	"fmt"
	"github.com/starlane/starlane/bridge"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

const (
	checkpointChunk = 1 << 20
	maxClientState  = 256 << 20
	ticksPerMessage = 64
)

type playAPI struct {
	pb.UnimplementedShardServiceServer
	n     *Node
	feeds feeds
}

// shardError maps shard errors to gRPC statuses.
func shardError(err error) error {
	var ee *shard.EpochError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, shard.ErrAlreadyPlaying):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, shard.ErrClosed):
		return status.Error(codes.Unavailable, "the surface stopped on this node; join again")
	case errors.Is(err, shard.ErrFenced):
		return status.Error(codes.Unavailable, "this node lost its lease on the surface; it may run elsewhere now: try its other copies")
	case errors.Is(err, shard.ErrStandby):
		return status.Error(codes.Unavailable, "this node keeps only a standby copy of the surface; join its primary")
	case errors.Is(err, shard.ErrBusy):
		return status.Error(codes.ResourceExhausted, err.Error())
	case errors.Is(err, shard.ErrTooOld):
		return status.Error(codes.OutOfRange, err.Error()+"; join again for a checkpoint")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func (a *playAPI) GetShard(ctx context.Context, req *pb.GetShardRequest) (*pb.GetShardResponse, error) {
	sh := a.n.primary(req.Surface)
	if sh == nil {
		return nil, status.Errorf(codes.NotFound, "surface %s does not run on node %s", req.Surface, a.n.id)
	}
	st := sh.Stats()
	out := &pb.GetShardResponse{Surface: req.Surface, Epoch: st.Epoch, Tick: st.Tick, ConfirmedTick: st.Confirmed, Hash: st.Hash,
		Players: uint32(st.Players), Fenced: st.Fenced}
	if ts, err := sh.Store().CheckpointTicks(); err == nil && len(ts) > 0 {
		out.CheckpointTick = ts[len(ts)-1]
	}
	for _, q := range req.Ports {
		msg, counts := checkPort(sh, q)
		out.PortErrors, out.PortCounts = append(out.PortErrors, msg), append(out.PortCounts, counts)
	}
	return out, nil
}

// checkPort says what is wrong with a bridge port a new bridge names ("" when
// it exists with the direction asked and, for an export port, takes the items
// asked), and reads what the port has moved so far: a new bridge on it counts
// from there.
func checkPort(sh *shard.Shard, q *pb.PortQuery) (string, *pb.PortCounts) {
	var msg string
	counts := &pb.PortCounts{}
	err := sh.Inspect(func(s shard.Simulation) {
		ps, ok := s.(bridge.Sim)
		if !ok {
			msg = "the simulation has no bridge ports"
			return
		}
		id, export, err := ps.BridgePort(q.Name)
		switch {
		case err != nil:
			msg = err.Error()
		case export != q.Export && q.Export:
			msg = fmt.Sprintf("port %s is a bridge-import, not a bridge-export: items leave a surface through an export port", q.Name)
		case export != q.Export:
			msg = fmt.Sprintf("port %s is a bridge-export, not a bridge-import: items arrive through an import port", q.Name)
		case len(q.Items) > 0:
			if err := ps.CheckItems(q.Items); err != nil {
				msg = err.Error()
			}
		}
		if err == nil {
			counts.Items = bridge.ItemCounts(ps.BridgeCounts(id))
		}
	})
	if err != nil {
		return "", counts
	}
	return msg, counts
}

// Play runs one player session; see shard.proto. A session ends when the player
// leaves or is kicked (a ban, the console's /kick): the session runs in its own
// goroutine so that a kick ends the call while it waits for the player.
func (a *playAPI) Play(ss pb.ShardService_PlayServer) error {
	kick := make(chan error, 1)
	done := make(chan error, 1)
	go func() { done <- a.play(ss, kick) }()
	select {
	case err := <-done:
		return err
	case err := <-kick:
		return err
	}
}

func (a *playAPI) play(ss pb.ShardService_PlayServer, kick chan error) error {
	first, err := ss.Recv()
	if err != nil {
		return err
	}
	hello := first.GetHello()
	if hello == nil {
		return status.Error(codes.InvalidArgument, "the first message of a session must be Hello")
	}
	if err := (validate.Checker{}).Request(hello); err != nil {
		return err
	}
	sh := a.n.primary(hello.Surface)
	if sh == nil {
		return a.redirect(ss, hello.Surface)
	}
	bundle := a.n.surfaceBundle(hello.Surface)
	if hello.BundleHash != "" && hello.BundleHash != bundle.Hash() {
		client := "(" + short(hello.BundleHash) + "…)"
		if hello.BundleName != "" {
			client = "'" + hello.BundleName + "' " + client
		}
		return status.Errorf(codes.FailedPrecondition, "bundle mismatch: surface %s runs bundle %s, your client has %s: play with the surface's bundle",
			hello.Surface, bundleLabel(bundle), client)
	}
	name, admin, err := a.n.gate.admit(hello)
	if err != nil {
		return err
	}
	chat := make(chan *pb.ChatMessage, chatQueue)
	defer a.n.gate.track(name, hello.Surface, admin, kick, chat)()
	j, err := sh.Join(shard.JoinRequest{Name: name, Epoch: first.Epoch, ResumeTick: hello.ResumeTick})
	if err != nil {
		if errors.Is(err, shard.ErrAlreadyPlaying) || errors.As(err, new(*shard.EpochError)) || errors.Is(err, shard.ErrClosed) ||
			errors.Is(err, shard.ErrFenced) || errors.Is(err, shard.ErrStandby) {
			return shardError(err)
		}
		return status.Error(codes.InvalidArgument, err.Error())
	}
	se := j.Session
	defer se.Close()
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()

	w := &pb.Welcome{Surface: hello.Surface, PlayerId: se.Player(), StartTick: j.Start, Resumed: j.Checkpoint == nil,
		Ups: 60, HashEvery: a.n.cfg.HashEvery, Node: a.n.id, BundleHash: bundle.Hash(), Peers: a.n.peers(hello.Surface)}
	if j.Checkpoint != nil {
		w.StartHash, w.CheckpointBytes = j.Checkpoint.Hash, uint64(len(j.Checkpoint.Data))
	} else if h, ok := sh.HashAt(j.Start); ok {
		w.StartHash = h
	}
	if err := ss.Send(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Welcome{Welcome: w}}); err != nil {
		return err
	}
	if cp := j.Checkpoint; cp != nil {
		for off := 0; off < len(cp.Data) || off == 0; off += checkpointChunk {
			end := min(off+checkpointChunk, len(cp.Data))
			msg := &pb.CheckpointChunk{Data: cp.Data[off:end], Last: end == len(cp.Data)}
			if err := ss.Send(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Checkpoint{Checkpoint: msg}}); err != nil {
				return err
			}
			if end == len(cp.Data) {
				break
			}
		}
	}

	// One goroutine sends (gRPC streams allow one sender): ticks as they are
	// confirmed, and replies the receiver queues.
	out := make(chan *pb.PlayResponse, 16)
	sendErr := make(chan error, 1)
	var acted atomic.Uint64
	poke := make(chan struct{}, 1)
	go func() { sendErr <- a.sendLoop(ctx, ss, sh, se, j.Start, out, &acted, poke) }()
	go func() {
		for {
			var msg *pb.PlayResponse
			select {
			case m := <-chat:
				msg = &pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Chat{Chat: m}}
			case r := <-se.Refused():
				msg = refusedMsg(sh, r)
			case <-ctx.Done():
				return
			}
			select {
			case out <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()

	// reply queues a message for the sender. Never a bare send: once the call
	// has ended (a kick ends it while this loop still works), the sender is
	// gone, and a send nobody takes would keep this session — its player,
	// listed and "already connected" — forever.
	reply := func(m *pb.PlayResponse) {
		select {
		case out <- m:
		case <-ctx.Done():
		}
	}
	var state []byte
	var pending *shard.Desync
	cmdSlot := make(chan struct{}, 1)
	talk := chatBucket{tokens: chatBurst, at: time.Now()}
	for {
		m, err := ss.Recv()
		if err != nil {
			cancel()
			if serr := <-sendErr; serr != nil && status.Code(serr) != codes.Canceled {
				return serr
			}
			return nil
		}
		if err := sh.CheckEpoch(m.Epoch); err != nil {
			cancel()
			<-sendErr
			return shardError(err)
		}
		switch msg := m.Msg.(type) {
		case *pb.PlayRequest_Action:
			// The action goes into a tick after the executed one: until that tick is
			// sent back, the sender sends every tick at once.
			acted.Store(max(sh.Executed(), 1))
			if err := se.Act(msg.Action.Data, msg.Action.TargetTick); errors.Is(err, shard.ErrBusy) || errors.Is(err, shard.ErrMoving) {
				// Not taken, and never will be: the client is told, not left waiting.
				why := err.Error()
				if errors.Is(err, shard.ErrBusy) {
					why = "the surface's input queue is full (too many actions at once); send it again"
				}
				reply(refusedMsg(sh, shard.Refusal{Data: msg.Action.Data, Target: msg.Action.TargetTick, Reason: why}))
			} else if err != nil {
				cancel()
				<-sendErr
				return shardError(err)
			}
			select {
			case poke <- struct{}{}:
			default:
			}
		case *pb.PlayRequest_HashReport:
			d, err := se.CheckHash(msg.HashReport.Tick, msg.HashReport.Hash)
			if err == nil && d != nil && pending == nil {
				pending = d
				reply(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Desync{Desync: &pb.Desync{Tick: d.Tick, ServerHash: d.Server, ClientHash: d.ClientHash}}})
			}
		case *pb.PlayRequest_DesyncState:
			if pending == nil || msg.DesyncState.DesyncTick != pending.Tick {
				continue
			}
			state = append(state, msg.DesyncState.Data...)
			if len(state) > maxClientState {
				cancel()
				<-sendErr
				return status.Errorf(codes.ResourceExhausted, "client state over %d bytes", maxClientState)
			}
			if !msg.DesyncState.Last {
				continue
			}
			d, data := *pending, state
			pending, state = nil, nil
			go func() {
				rep, err := se.Report(d, data)
				msg := &pb.DesyncReport{Tick: d.Tick}
				if err != nil {
					msg.Note = "the node could not write a report: " + err.Error()
				} else {
					msg.Path, msg.DifferingEntities, msg.Note = rep.Path, uint32(len(rep.Entities)), rep.Note
					for i, e := range rep.Entities {
						if i == 20 {
							break
						}
						msg.Entities = append(msg.Entities, fmt.Sprintf("#%d %s (server %s, client %s)", e.ID, e.What, e.Server, e.Client))
					}
				}
				reply(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_DesyncReport{DesyncReport: msg}})
			}()
		case *pb.PlayRequest_Ping:
			reply(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Pong{Pong: &pb.Pong{ClientUnixNano: msg.Ping.ClientUnixNano,
				ExecutedTick: sh.Executed(), ConfirmedTick: sh.Confirmed()}}})
		case *pb.PlayRequest_Chat:
			if line, ok := chatCommand(msg.Chat); ok {
				// A command answers its sender only, like the game's console; one
				// runs at a time per session (a /save waits for its checkpoint).
				answer := func(text string) {
					reply(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Chat{Chat: &pb.ChatMessage{Player: "server", Surface: hello.Surface, Text: text}}})
				}
				select {
				case cmdSlot <- struct{}{}:
					go func() {
						defer func() { <-cmdSlot }()
						answer(a.n.playerCommand(ctx, name, line))
					}()
				default:
					answer("your previous command is still running; try again when it answers")
				}
				continue
			}
			if msg.Chat.GetText() != "" && !talk.take(time.Now()) {
				// Every line is a write to the controllers' log: one player must
				// not grow it at will, nor lose lines without being told.
				reply(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Chat{Chat: &pb.ChatMessage{Player: "server", Surface: hello.Surface,
					Text: fmt.Sprintf("your message was not sent: you are sending chat too fast (at most %d lines a second, %d at once); wait a moment", chatPerSecond, chatBurst)}}})
				continue
			}
			if err := a.n.postChat(ctx, name, hello.Surface, msg.Chat); err != nil {
				reply(&pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Chat{Chat: &pb.ChatMessage{Player: "server", Surface: hello.Surface,
					Text: "your message was not sent: " + status.Convert(err).Message()}}})
			}
		case *pb.PlayRequest_Hello:
			cancel()
			<-sendErr
			return status.Error(codes.InvalidArgument, "Hello was already sent on this session")
		}
	}
}

// eagerTicks bounds how long a player's stream sends every tick at once while it
// waits for the player's action to come back in a tick (an action the shard
// dropped, e.g. with its queue full, never does).
const eagerTicks = 60

// sendLoop is the session's only sender: confirmed ticks, and the replies the
// receiver queues on out. It waits for new ticks in the same select as for
// replies, so a player costs one goroutine wake-up per message here (and one in
// gRPC's writer), and sends all the ticks it is behind on, up to
// ticksPerMessage, in one message taken from the shard's feed: encoded once for
// every player it fits.
//
// Ticks go out when the confirmed tick crosses a multiple of batch (every player
// on the same ticks, so they share one encoding, and the feed wakes them only
// then); at once while the player waits for its own action to come back (acted
// is the executed tick when it last acted, set by the receiver, which pokes the
// loop); or when the feed released them because the shard stopped short of the
// next multiple (fenced, stopped).
func (a *playAPI) sendLoop(ctx context.Context, ss pb.ShardService_PlayServer, sh *shard.Shard, se *shard.Session, start uint64,
	out <-chan *pb.PlayResponse, acted *atomic.Uint64, poke <-chan struct{}) error {
	batch := uint64(a.n.cfg.PlayerBatchTicks)
	feed := a.feeds.acquire(sh, batch)
	defer a.feeds.release(feed)
	shared := sharedEncoding(ss)
	me := se.Player()
	var answered uint64 // the last acted value whose action has been sent back
	next := start + 1
	for {
		tickCh, batchCh := sh.ConfirmedChanged(), feed.boundaryCrossed()
		c := sh.Confirmed()
		act := acted.Load()
		waiting := act > answered && c < act+eagerTicks
		eager := batch <= 1 || waiting
		if c >= next && (eager || c/batch > (next-1)/batch || next <= feed.flushTo.Load() || c-next+1 >= ticksPerMessage) {
			to := min(c, next+ticksPerMessage-1)
			m, err := feed.frame(ss, shared, next, to)
			if err != nil {
				return shardError(err)
			}
			if err := ss.SendMsg(m.msg); err != nil {
				return err
			}
			next = to + 1
			if waiting && m.has(me, act) {
				answered = act
			}
			select {
			case m := <-out:
				if err := ss.Send(m); err != nil {
					return err
				}
			default:
			}
			continue
		}
		wake := batchCh
		if eager {
			wake = tickCh
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-se.Done():
			// The session ended because this node stopped running the primary (a
			// live move or a failover) or lost its lease: send the client on.
			if r := a.n.sessionEnded(sh); r != nil {
				if err := ss.Send(&pb.PlayResponse{Epoch: r.epoch, Msg: &pb.PlayResponse_Redirect{Redirect: r.msg}}); err != nil {
					return err
				}
			}
			return shardError(shard.ErrClosed)
		case m := <-out:
			if err := ss.Send(m); err != nil {
				return err
			}
		case <-poke:
		case <-wake:
		}
	}
}

// redirect tells the client where the surface runs, asking the controllers.
func (a *playAPI) redirect(ss pb.ShardService_PlayServer, surface string) error {
	n := a.n
	if r := n.primaryElsewhere(surface); r != nil {
		// This node keeps a standby copy: it knows the primary from its assignment.
		return ss.Send(&pb.PlayResponse{Epoch: r.epoch, Msg: &pb.PlayResponse_Redirect{Redirect: r.msg}})
	}
	n.mu.Lock()
	h := n.shards[surface]
	var errText string
	if h != nil {
		errText = h.err
	}
	n.mu.Unlock()
	if h != nil {
		if errText != "" {
			return status.Errorf(codes.Unavailable, "surface %s does not run on node %s: %s", surface, n.id, errText)
		}
		return status.Errorf(codes.Unavailable, "surface %s is starting on node %s; retry in a moment", surface, n.id)
	}
	ctx, cancel := context.WithTimeout(ss.Context(), 3*time.Second)
	defer cancel()
	// The join token lets the node locate a surface without TLS (with TLS its
	// node certificate does); it grants nothing else of the operator API.
	ctx = n.withJoinToken(ctx)
	var sf *pb.Surface
	var node *pb.Node
	err := n.ctl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: surface})
		if err != nil {
			return err
		}
		sf = r.Surface
		if p := sf.GetAssignment().GetPrimary(); p != "" {
			nr, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: p})
			if err != nil {
				return err
			}
			node = nr.Node
		}
		return nil
	})
	switch {
	case status.Code(err) == codes.NotFound && sf == nil:
		return status.Errorf(codes.NotFound, "there is no surface %s", surface)
	case err != nil:
		return status.Errorf(codes.NotFound, "surface %s does not run on node %s, and the controllers could not say where it runs: %v", surface, n.id, err)
	case node == nil:
		return status.Errorf(codes.Unavailable, "surface %s has no primary right now: %s", surface, sf.PlacementError)
	case node.Id == n.id:
		return status.Errorf(codes.Unavailable, "surface %s is being started on node %s; retry in a moment", surface, n.id)
	}
	return ss.Send(&pb.PlayResponse{Epoch: sf.Assignment.Epoch, Msg: &pb.PlayResponse_Redirect{Redirect: &pb.Redirect{
		Surface: surface, Node: node.Id, Address: node.Address, Reason: fmt.Sprintf("surface %s runs on node %s", surface, node.Id)}}})
}

// refusedMsg tells a client that one of its actions will never run, and why.
func refusedMsg(sh *shard.Shard, r shard.Refusal) *pb.PlayResponse {
	return &pb.PlayResponse{Epoch: sh.Epoch(), Msg: &pb.PlayResponse_Refused{Refused: &pb.ActionRefused{TargetTick: r.Target, Data: r.Data, Reason: r.Reason}}}
}

// A player's chat is limited to chatPerSecond lines a second, with bursts of up
// to chatBurst (a token bucket per session); a line over the limit is answered,
// not posted.
const (
	chatPerSecond = 5
	chatBurst     = 10
)

type chatBucket struct {
	tokens float64
	at     time.Time
}

// take spends a token if there is one at now, refilling first.
func (b *chatBucket) take(now time.Time) bool {
	b.tokens = min(chatBurst, b.tokens+now.Sub(b.at).Seconds()*chatPerSecond)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
