package ctlclient

import (
	"context"
	"fmt"
	"strings"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Operator actions shared by the CLI and the dashboard, so that both validate the
// same way and reach the controller through the same calls.

// ParseBridgeEnd reads SURFACE:PORT; flag names the setting in the error ("from", "to").
func ParseBridgeEnd(flag, s string) (surface, port string, err error) {
	surface, port, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || surface == "" || port == "" {
		return "", "", fmt.Errorf("--%s %q: want SURFACE:PORT, where PORT is a bridge port's entity ID or label", flag, s)
	}
	return surface, port, nil
}

// NewBridge builds a bridge from the CLI's words: FROM and TO as SURFACE:PORT, an
// optional name (default FROM-to-TO) and a comma-separated item list.
func NewBridge(from, to, name, items string) (*pb.Bridge, error) {
	fs, fp, err := ParseBridgeEnd("from", from)
	if err != nil {
		return nil, err
	}
	ts, tp, err := ParseBridgeEnd("to", to)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = fs + "-to-" + ts
	}
	var list []string
	for _, it := range strings.Split(items, ",") {
		if it = strings.TrimSpace(it); it != "" {
			list = append(list, it)
		}
	}
	return &pb.Bridge{Id: name, FromSurface: fs, FromPort: fp, ToSurface: ts, ToPort: tp, Items: list}, nil
}

// orNewID returns rid, or a fresh request ID when it is empty. A caller that may
// send the same action again (the dashboard's page, after a lost answer) passes its
// own ID, so that the controller applies it once.
func orNewID(rid string) string {
	if rid == "" {
		return NewRequestID()
	}
	return rid
}

// CreateBridge declares a bridge (one request ID across retries; empty rid: a new one).
func (c *Client) CreateBridge(ctx context.Context, rid string, b *pb.Bridge) (*pb.CreateBridgeResponse, error) {
	rid = orNewID(rid)
	var r *pb.CreateBridgeResponse
	err := c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		var err error
		r, err = cl.CreateBridge(ctx, &pb.CreateBridgeRequest{RequestId: rid, Bridge: b})
		return err
	})
	return r, err
}

// StartMove (empty rid: a new request ID) asks the controller to move a surface's primary to node to (empty: the
// controller picks). The move runs on in the cluster; follow it with GetSurface or
// the event log.
func (c *Client) StartMove(ctx context.Context, rid, surface, to string) (*pb.MoveSurfaceResponse, error) {
	if surface == "" {
		return nil, fmt.Errorf("name the surface to move")
	}
	rid = orNewID(rid)
	var r *pb.MoveSurfaceResponse
	err := c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		var err error
		r, err = cl.MoveSurface(ctx, &pb.MoveSurfaceRequest{RequestId: rid, Name: surface, To: to})
		return err
	})
	return r, err
}

// Cordon sets or clears a node's cordon and returns the Raft index of the change.
func (c *Client) Cordon(ctx context.Context, rid, node string, on bool) (uint64, error) {
	rid = orNewID(rid)
	var index uint64
	err := c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		r, err := cl.CordonNode(ctx, &pb.CordonNodeRequest{RequestId: rid, Id: node, Cordoned: on})
		if err == nil {
			index = r.Index
		}
		return err
	})
	return index, err
}

// CheckDrain says why draining node would fail before anything is touched: a
// surface is pinned to it, or it holds surfaces and no other node is up and
// uncordoned to take them. It returns whether the node holds any surface.
func (c *Client) CheckDrain(ctx context.Context, node string) (holds bool, err error) {
	var pinned, others []string
	err = c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
		pinned, others = nil, nil
		nr, err := cl.GetNode(ctx, &pb.GetNodeRequest{Id: node})
		if err != nil {
			return err
		}
		holds = len(nr.Surfaces) > 0
		nodes, err := ListNodes(ctx, cl)
		if err != nil {
			return err
		}
		for _, n := range nodes.Nodes {
			if n.Id != node && n.Status == pb.NodeStatus_NODE_STATUS_UP && !n.Cordoned {
				others = append(others, n.Id)
			}
		}
		r, err := ListSurfaces(ctx, cl)
		if err != nil {
			return err
		}
		for _, sf := range r.Surfaces {
			if sf.Pin == node {
				pinned = append(pinned, sf.Name)
			}
		}
		return nil
	})
	if err != nil {
		return holds, err
	}
	if len(pinned) > 0 {
		verb := " are"
		if len(pinned) == 1 {
			verb = " is"
		}
		return holds, fmt.Errorf("cannot drain %s: %s%s pinned to it; unpin (`starlane surface pin NAME --unpin`) or pin elsewhere first",
			node, strings.Join(pinned, ", "), verb)
	}
	if holds && len(others) == 0 {
		return holds, fmt.Errorf("cannot drain %s: no other node is up and uncordoned to take its surfaces; start or uncordon one first", node)
	}
	return holds, nil
}
