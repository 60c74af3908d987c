package player

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// Tickets gets player tickets from the controllers and keeps the current one
// until shortly before it expires. Give Tickets.Get as Options.Ticket.
type Tickets struct {
	// Ctl reaches the controllers; its Token, if set, is an operator token that
	// may get a ticket for any player (and registers unknown ones).
	Ctl *ctlclient.Client
	// Key returns a player's key, which proves who asks when Ctl has no operator
	// token (nil: ask without a key).
	Key func(player string) (string, error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu   sync.Mutex
	have map[string]issued
}

type issued struct {
	ticket string
	exp    time.Time
}

// Get returns a ticket for player, asking the controllers when the kept one
// has less than a minute left.
func (t *Tickets) Get(ctx context.Context, player string) (string, error) {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if is, ok := t.have[player]; ok && now().Add(time.Minute).Before(is.exp) {
		return is.ticket, nil
	}
	res, err := t.issue(ctx, player, "")
	if err != nil {
		return "", err
	}
	return res.Ticket, nil
}

// Locate asks the controllers, as player, for the address of the node that
// runs surface's primary: what a player with only its key (no operator token,
// which reading the catalog needs) joins through. The ticket that comes with
// the answer is kept for Get.
func (t *Tickets) Locate(ctx context.Context, player, surface string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	res, err := t.issue(ctx, player, surface)
	if err != nil {
		return "", err
	}
	return res.NodeAddress, nil
}

// issue asks for a ticket (and where surface runs, if set) and keeps it. t.mu
// is held.
func (t *Tickets) issue(ctx context.Context, player, surface string) (*pb.IssueTicketResponse, error) {
	key := ""
	if t.Key != nil {
		var err error
		if key, err = t.Key(player); err != nil {
			return nil, err
		}
	}
	var res *pb.IssueTicketResponse
	rid := ctlclient.NewRequestID()
	err := t.Ctl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		var err error
		res, err = pb.NewAccessServiceClient(cc).IssueTicket(ctx, &pb.IssueTicketRequest{RequestId: rid, Player: player, PlayerKey: key, Surface: surface})
		return err
	})
	if err != nil {
		if st, ok := status.FromError(err); ok {
			err = plainStatus{st}
		}
		return nil, fmt.Errorf("get a ticket for player %s: %w", player, err)
	}
	if t.have == nil {
		t.have = map[string]issued{}
	}
	t.have[player] = issued{ticket: res.Ticket, exp: time.UnixMilli(res.ExpiresUnixMs)}
	return res, nil
}

// plainStatus is a gRPC status error that reads as its message alone (no "rpc
// error: code = ..." framing in front of a user), keeping the status for callers
// that look at its code.
type plainStatus struct{ st *status.Status }

func (e plainStatus) Error() string              { return e.st.Message() }
func (e plainStatus) GRPCStatus() *status.Status { return e.st }
