package node

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Chat goes through the controllers' replicated chat log: a player's line is
// posted there, and every node watches the log and hands each line to the
// sessions it is for. The log's order is the same on every node, so every
// surface's players read the cluster-wide channel in one order, and a
// surface's own chat in order too.

// withJoinToken lets a call through the controllers' token check on the few
// methods a node may call (without TLS; with TLS its certificate does).
func (n *Node) withJoinToken(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, authz.JoinTokenKey, n.cfg.JoinToken)
}

// postChat sends a player's chat line to the log.
func (n *Node) postChat(ctx context.Context, player, surface string, m *pb.ChatSend) error {
	if m.GetText() == "" {
		return nil
	}
	if len(m.Text) > validate.MaxChatBytes {
		return fmt.Errorf("a chat line has at most %d bytes", validate.MaxChatBytes)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := &pb.PostChatRequest{RequestId: ctlclient.NewRequestID(), Player: player, Surface: surface, Global: m.Global, Text: m.Text}
	return n.ctl.Do(n.withJoinToken(ctx), func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := pb.NewAccessServiceClient(cc).PostChat(ctx, req)
		return err
	})
}

// chatLoop watches the chat log and delivers its lines to this node's players.
// It starts from the log's current end: a player sees what is said while it
// plays.
func (n *Node) chatLoop(ctx context.Context) {
	var after uint64
	first := true
	for ctx.Err() == nil {
		err := n.ctl.Do(ctx, func(_ context.Context, cc *grpc.ClientConn) error {
			// The stream lives past Do's per-try deadline: it takes the loop's context.
			st, err := pb.NewAccessServiceClient(cc).WatchChat(n.withJoinToken(ctx), &pb.WatchChatRequest{AfterIndex: after})
			if err != nil {
				return err
			}
			for {
				m, err := st.Recv()
				if err != nil {
					return err
				}
				if m.Index <= after {
					continue
				}
				after = m.Index
				if first && time.Since(time.UnixMilli(m.UnixMs)) > 10*time.Second {
					continue // history from before this node watched
				}
				n.gate.deliver(m)
			}
		})
		first = false
		if ctx.Err() != nil {
			return
		}
		n.log.Debug("chat watch ended; watching again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
