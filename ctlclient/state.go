package ctlclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// SurfaceState is a save of a running surface at its confirmed tick.
type SurfaceState struct {
	Surface string
	Node    string // the node whose primary sent it
	Tick    uint64
	Epoch   uint64
	Data    []byte
}

// FetchState downloads a save of a running surface at its latest confirmed tick from
// the node that runs its primary: the consistent read behind `surface save`,
// `blueprint export --surface`, `surface map` and the dashboard's maps.
func (c *Client) FetchState(ctx context.Context, surface string) (*SurfaceState, error) {
	return c.FetchStateLog(ctx, surface, nil)
}

// firstChunkWait is how long the primary's node may take to start sending before
// FetchStateLog asks the controller again where the surface runs: a node that is
// paused or cut off accepts the call and never answers, and a standby takes over
// after a few seconds.
const firstChunkWait = 4 * time.Second

// errNodeSilent marks a primary's node that did not start sending in time.
var errNodeSilent = errors.New("does not answer")

// FetchStateLog is FetchState saying on log (if not nil) what it waits for when
// the primary's node does not answer: it asks the controller again where the
// surface runs and downloads it from there, until ctx ends.
func (c *Client) FetchStateLog(ctx context.Context, surface string, log io.Writer) (*SurfaceState, error) {
	start := time.Now()
	var said time.Time
	var silent error // the last silent node's error, said rather than a timeout's
	for {
		st, err := c.fetchState(ctx, surface)
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil && silent != nil {
			return nil, fmt.Errorf("%w; gave up after %s", silent, time.Since(start).Round(time.Second))
		}
		if !errors.Is(err, errNodeSilent) || ctx.Err() != nil {
			return nil, err
		}
		silent = err
		if log != nil && time.Since(said) >= 2*time.Second {
			said = time.Now()
			fmt.Fprintf(log, "%v (%s so far)\n", err, time.Since(start).Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w; gave up after %s", err, time.Since(start).Round(time.Second))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (c *Client) fetchState(ctx context.Context, surface string) (*SurfaceState, error) {
	out := &SurfaceState{Surface: surface}
	var addr string
	var standbys int // synced standbys, which could take over
	err := c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		r, err := cl.GetSurface(ctx, &pb.GetSurfaceRequest{Name: surface})
		if err != nil {
			return err
		}
		out.Node = r.Surface.GetAssignment().GetPrimary()
		standbys = len(r.Surface.GetAssignment().GetSynced())
		if sf := r.Surface; out.Node == "" && sf.GetStopped() {
			return fmt.Errorf("surface %s is stopped; its final state is save %s (starlane save download %s --out FILE), or start it again (starlane surface start %s)",
				surface, sf.GetSaveSha256(), sf.GetSaveSha256(), surface)
		}
		if out.Node == "" {
			reason := r.Surface.GetPlacementError()
			if reason == "" {
				reason = "not placed yet; try again in a moment"
			}
			return fmt.Errorf("surface %s is not running on any node: %s", surface, reason)
		}
		n, err := cl.GetNode(ctx, &pb.GetNodeRequest{Id: out.Node})
		if err != nil {
			return err
		}
		addr = n.Node.GetAddress()
		return nil
	})
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr, DialOptions(c.creds)...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The node must start sending within firstChunkWait; then the download may
	// take as long as the caller's ctx allows (a big surface's save is large).
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var started atomic.Bool
	silent := time.AfterFunc(firstChunkWait, func() {
		if !started.Load() {
			cancel()
		}
	})
	defer silent.Stop()
	// Errors here are the node's, not a controller's: said as such, without
	// gRPC's framing (a caller's "controller unavailable" would mislead).
	nodeErr := func(err error) error {
		st := status.Convert(err)
		next := "for it or for a standby to take over"
		if standbys == 0 {
			next = "for it to answer: the surface has no synced standby to take over"
		}
		if ctx.Err() == nil && dctx.Err() != nil && !started.Load() {
			return fmt.Errorf("surface %s runs on node %s (%s), which %w within %v; waiting %s", surface, out.Node, addr, errNodeSilent, firstChunkWait, next)
		}
		if st.Code() == codes.Unavailable {
			return fmt.Errorf("surface %s runs on node %s (%s), which %w (%s); waiting %s", surface, out.Node, addr, errNodeSilent, st.Message(), next)
		}
		if st.Code() == codes.DeadlineExceeded {
			return fmt.Errorf("surface %s runs on node %s (%s), which does not answer: %s", surface, out.Node, addr, st.Message())
		}
		return fmt.Errorf("download surface %s from node %s (%s): %s", surface, out.Node, addr, st.Message())
	}
	st, err := pb.NewShardServiceClient(conn).GetState(dctx, &pb.GetStateRequest{Surface: surface})
	if err != nil {
		return nil, nodeErr(err)
	}
	var data bytes.Buffer
	for {
		ch, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nodeErr(err)
		}
		started.Store(true)
		if ch.Tick != 0 {
			out.Tick, out.Epoch = ch.Tick, ch.Epoch
		}
		data.Write(ch.Data)
	}
	out.Data = data.Bytes()
	return out, nil
}
