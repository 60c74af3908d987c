package replica

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
)

// Dialer returns a ReplicationService client for a node's address.
type Dialer func(addr string) (pb.ReplicationServiceClient, error)

// FollowerConfig configures the standby end of one surface.
type FollowerConfig struct {
	Config
	Surface string
	// Shard is the standby shard (shard.OpenStandby).
	Shard *shard.Shard
	Dial  Dialer
	// LostAfter is how long the primary's stream may be broken or silent before
	// OnLost is called (1s).
	LostAfter time.Duration
	// OnLost is told that the primary is lost. If it reports the loss (returns
	// true), the follower stops acknowledging that primary under that epoch and
	// waits for a new assignment: that promise is what lets the controller promote
	// without waiting for the primary's lease. Otherwise it keeps trying.
	OnLost func(epoch, tick uint64, reason string) bool
}

// Follower keeps a standby's copy following its primary.
type Follower struct {
	cfg    FollowerConfig
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}

	mu        sync.Mutex
	primary   string
	addr      string
	epoch     uint64
	connected bool
	lastMsg   time.Time
	lostSince time.Time
	reported  uint64 // epoch the loss was reported under
	lastErr   string
}

// NewFollower starts following; Update names the primary.
func NewFollower(cfg FollowerConfig) *Follower {
	cfg.defaults()
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{cfg: cfg, ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go f.run()
	return f
}

// Update gives the follower its assignment: the primary's node and address and the
// epoch. A new primary or epoch restarts the stream.
func (f *Follower) Update(primary, addr string, epoch uint64) {
	f.mu.Lock()
	changed := primary != f.primary || addr != f.addr || epoch != f.epoch
	if primary != f.primary {
		f.lostSince = time.Time{}
	}
	f.primary, f.addr, f.epoch = primary, addr, epoch
	f.mu.Unlock()
	if changed {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// Stop ends the stream; the shard stays open.
func (f *Follower) Stop() {
	f.cancel()
	<-f.done
	if m := f.cfg.Metrics; m != nil {
		m.following.DeleteLabelValues(f.cfg.Surface)
	}
}

// Status reports whether the follower is connected, and its last error.
func (f *Follower) Status() (connected bool, lastErr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected, f.lastErr
}

func (f *Follower) setConnected(c bool) {
	f.mu.Lock()
	f.connected = c
	if c {
		f.lostSince, f.lastErr = time.Time{}, ""
	} else if f.lostSince.IsZero() {
		f.lostSince = f.cfg.Now()
	}
	f.mu.Unlock()
	if m := f.cfg.Metrics; m != nil {
		v := 0.0
		if c {
			v = 1
		}
		m.following.WithLabelValues(f.cfg.Surface).Set(v)
	}
}

func (f *Follower) run() {
	defer close(f.done)
	backoff := 50 * time.Millisecond
	for f.ctx.Err() == nil {
		f.mu.Lock()
		addr, epoch, suspended := f.addr, f.epoch, f.reported != 0 && f.reported == f.epoch
		f.mu.Unlock()
		var err error
		switch {
		case suspended:
			err = errSuspended
		case addr == "":
			err = errors.New("the surface has no primary")
		default:
			err = f.follow(addr, epoch)
		}
		f.setConnected(false)
		if f.ctx.Err() != nil {
			return
		}
		if err != nil && err != errSuspended {
			f.mu.Lock()
			f.lastErr = err.Error()
			f.mu.Unlock()
			f.cfg.Logger.Debug("replication stream ended", "surface", f.cfg.Surface, "primary", addr, "err", err)
		}
		f.checkLost(err)
		select {
		case <-f.ctx.Done():
			return
		case <-f.wake:
			backoff = 50 * time.Millisecond
		case <-time.After(backoff):
			backoff = min(backoff*2, 400*time.Millisecond)
		}
	}
}

var errSuspended = errors.New("the primary was reported lost under this epoch")

// checkLost reports the primary lost once the stream has been down for LostAfter.
func (f *Follower) checkLost(err error) {
	f.mu.Lock()
	since, epoch := f.lostSince, f.epoch
	due := !since.IsZero() && f.cfg.Now().Sub(since) >= f.cfg.LostAfter && f.reported != epoch && f.primary != ""
	f.mu.Unlock()
	if !due || f.cfg.OnLost == nil {
		return
	}
	tick, _, _ := f.cfg.Shard.Position()
	reason := "the replication stream broke"
	if err != nil {
		reason = fmt.Sprintf("no replication from the primary for %v: %v", f.cfg.LostAfter, status.Convert(err).Message())
	}
	// Suspend first, so no acknowledgement can leave after the report.
	f.mu.Lock()
	if f.epoch != epoch {
		f.mu.Unlock()
		return
	}
	f.reported = epoch
	f.mu.Unlock()
	if !f.cfg.OnLost(epoch, tick, reason) {
		f.mu.Lock()
		if f.reported == epoch {
			f.reported = 0
		}
		f.lostSince = f.cfg.Now()
		f.mu.Unlock()
	}
}

// follow runs one stream until it fails.
func (f *Follower) follow(addr string, epoch uint64) error {
	sh := f.cfg.Shard
	client, err := f.cfg.Dial(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	st, err := client.Follow(ctx)
	if err != nil {
		return err
	}
	tick, hash, ok := sh.Position()
	if err := st.Send(&pb.FollowRequest{Epoch: epoch, Msg: &pb.FollowRequest_Hello{Hello: &pb.FollowHello{Surface: f.cfg.Surface,
		Node: f.cfg.Node, Tick: tick, Hash: hash, HasState: ok, Hot: sh.Hot()}}}); err != nil {
		return recvError(st)
	}
	// The watchdog ends the stream when the primary goes silent, or when the
	// assignment moves on.
	msgs := make(chan *pb.FollowResponse, 16)
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := st.Recv()
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	silence := time.NewTimer(f.cfg.LostAfter)
	defer silence.Stop()
	next := func() (*pb.FollowResponse, error) {
		select {
		case m := <-msgs:
			silence.Reset(f.cfg.LostAfter)
			return m, nil
		default:
		}
		select {
		case m := <-msgs:
			silence.Reset(f.cfg.LostAfter)
			return m, nil
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				err = errors.New("the primary ended the stream")
			}
			return nil, err
		case <-silence.C:
			f.mu.Lock()
			f.connected = false
			f.lostSince = f.cfg.Now().Add(-f.cfg.LostAfter)
			f.mu.Unlock()
			return nil, fmt.Errorf("the primary sent nothing for %v", f.cfg.LostAfter)
		case <-f.wake:
			f.mu.Lock()
			moved := f.addr != addr || f.epoch != epoch
			f.mu.Unlock()
			if moved {
				return nil, errors.New("the assignment changed")
			}
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	ack := func(t uint64) error {
		return st.Send(&pb.FollowRequest{Epoch: epoch, Msg: &pb.FollowRequest_Ack{Ack: &pb.FollowAck{Tick: t}}})
	}
	// broken returns the stream's error after a failed Send: the reader goroutine owns
	// Recv, so it is taken from there (a second Recv would race with it).
	broken := func() error {
		select {
		case err := <-errc:
			if err == nil || errors.Is(err, io.EOF) {
				return errors.New("the replication stream broke")
			}
			if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
				return fmt.Errorf("the primary refused: %s", status.Convert(err).Message())
			}
			return err
		case <-time.After(time.Second):
			return errors.New("the replication stream broke")
		}
	}
	var first *pb.FollowResponse
	for first == nil {
		if first, err = next(); err != nil {
			return err
		}
	}
	start := first.GetStart()
	if start == nil {
		return fmt.Errorf("the primary answered the hello with %T", first.Msg)
	}
	if start.Checkpoint {
		if start.CheckpointBytes > validate.MaxSaveBytes {
			return fmt.Errorf("the primary's checkpoint declares %d bytes, over the %d MiB limit of a save; refusing it", start.CheckpointBytes, validate.MaxSaveBytes>>20)
		}
		var buf bytes.Buffer
		for {
			m, err := next()
			if err != nil {
				return err
			}
			if m == nil {
				continue
			}
			c := m.GetCheckpoint()
			if c == nil {
				return fmt.Errorf("expected checkpoint data, got %T", m.Msg)
			}
			if buf.Len()+len(c.Data) > validate.MaxSaveBytes {
				return fmt.Errorf("the primary's checkpoint is over the %d MiB limit of a save; refusing it", validate.MaxSaveBytes>>20)
			}
			buf.Write(c.Data)
			if c.Last {
				break
			}
		}
		cp := &shard.Checkpoint{Tick: start.CheckpointTick, Hash: start.CheckpointHash, Data: buf.Bytes()}
		if err := sh.Install(cp); err != nil {
			return err
		}
		f.cfg.Logger.Info("standby installed the primary's checkpoint", "surface", f.cfg.Surface, "tick", cp.Tick, "bytes", len(cp.Data))
	}
	if err := putPlayers(sh, start.Players); err != nil {
		return err
	}
	f.setConnected(true)
	pos, _, _ := sh.Position()
	if err := ack(pos); err != nil {
		return broken()
	}
	var held *pb.FollowResponse // a message taken while gathering ticks
	for {
		m := held
		held = nil
		if m == nil {
			if m, err = next(); err != nil {
				return err
			}
		}
		if m == nil {
			continue
		}
		if m.Epoch < epoch {
			return fmt.Errorf("the primary sent epoch %d, this standby follows epoch %d", m.Epoch, epoch)
		}
		switch msg := m.Msg.(type) {
		case *pb.FollowResponse_Ticks:
			if err := putPlayers(sh, msg.Ticks.Players); err != nil {
				return err
			}
			ticks := msg.Ticks.Ticks
			// Group commit: every tick message already here goes into one write and
			// one acknowledgement.
		gather:
			for len(ticks) < 4096 {
				select {
				case more := <-msgs:
					mt := more.GetTicks()
					if mt == nil || more.Epoch < epoch {
						held = more
						break gather
					}
					if err := putPlayers(sh, mt.Players); err != nil {
						return err
					}
					ticks = append(ticks, mt.Ticks...)
				default:
					break gather
				}
			}
			if len(ticks) == 0 {
				continue // keepalive
			}
			silence.Reset(f.cfg.LostAfter)
			d, err := sh.Append(toReplicated(ticks))
			var mm *shard.Mismatch
			if errors.As(err, &mm) {
				_ = ack(d)
				return f.reportDesync(st, epoch, mm, next)
			}
			if err != nil {
				return err
			}
			if err := ack(d); err != nil {
				return broken()
			}
		case *pb.FollowResponse_NewCheckpoint:
			c := msg.NewCheckpoint
			if err := sh.StoreCheckpoint(&shard.Checkpoint{Tick: c.Tick, Hash: c.Hash, Data: c.Data}); err != nil {
				return err
			}
		case *pb.FollowResponse_DesyncReport:
			// Late report of an earlier stream; nothing to do.
		default:
			return fmt.Errorf("unexpected %T on the replication stream", m.Msg)
		}
	}
}

// reportDesync sends a hot standby's state to the primary for the desync report,
// waits for the report, and drops the simulation so the next stream starts from a
// checkpoint.
func (f *Follower) reportDesync(st pb.ReplicationService_FollowClient, epoch uint64, mm *shard.Mismatch, next func() (*pb.FollowResponse, error)) error {
	sh := f.cfg.Shard
	defer sh.Resync()
	data, err := sh.SaveState()
	if err != nil {
		return fmt.Errorf("%v; saving the state for the report failed: %w", mm, err)
	}
	for off := 0; ; off += checkpointChunk {
		end := min(off+checkpointChunk, len(data))
		if err := st.Send(&pb.FollowRequest{Epoch: epoch, Msg: &pb.FollowRequest_DesyncState{DesyncState: &pb.DesyncState{
			DesyncTick: mm.Tick, Data: data[off:end], Last: end == len(data)}}}); err != nil {
			// The stream's own error comes from the reader goroutine (through next), which
			// owns Recv.
			if _, nerr := next(); nerr != nil {
				err = nerr
			}
			return fmt.Errorf("%v; sending the state for the report: %w", mm, err)
		}
		if end == len(data) {
			break
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := next()
		if err != nil {
			return fmt.Errorf("%v; no report: %w", mm, err)
		}
		if r := m.GetDesyncReport(); r != nil {
			f.cfg.Logger.Warn("hot standby desync reported; starting over from a checkpoint", "surface", f.cfg.Surface,
				"tick", mm.Tick, "report", r.Path, "differing_entities", r.DifferingEntities)
			return fmt.Errorf("%v (report %s)", mm, r.Path)
		}
	}
	return mm
}

func putPlayers(sh *shard.Shard, ps []*pb.PlayerName) error {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]uint32, len(ps))
	for _, p := range ps {
		m[p.Name] = p.Id
	}
	return sh.Store().PutPlayers(m)
}

func recvError(st pb.ReplicationService_FollowClient) error {
	_, err := st.Recv()
	if err == nil || errors.Is(err, io.EOF) {
		return errors.New("the replication stream broke")
	}
	if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
		return fmt.Errorf("the primary refused: %s", status.Convert(err).Message())
	}
	return err
}
