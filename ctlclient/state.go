package ctlclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

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
	out := &SurfaceState{Surface: surface}
	var addr string
	err := c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		r, err := cl.GetSurface(ctx, &pb.GetSurfaceRequest{Name: surface})
		if err != nil {
			return err
		}
		out.Node = r.Surface.GetAssignment().GetPrimary()
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
	// Errors here are the node's, not a controller's: said as such, without
	// gRPC's framing (a caller's "controller unavailable" would mislead).
	nodeErr := func(err error) error {
		st := status.Convert(err)
		if st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded {
			return fmt.Errorf("surface %s runs on node %s (%s), which does not answer: %s", surface, out.Node, addr, st.Message())
		}
		return fmt.Errorf("download surface %s from node %s (%s): %s", surface, out.Node, addr, st.Message())
	}
	st, err := pb.NewShardServiceClient(conn).GetState(ctx, &pb.GetStateRequest{Surface: surface})
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
		if ch.Tick != 0 {
			out.Tick, out.Epoch = ch.Tick, ch.Epoch
		}
		data.Write(ch.Data)
	}
	out.Data = data.Bytes()
	return out, nil
}
