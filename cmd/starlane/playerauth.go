package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/controller"
	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/player"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// playerAuth is how `play` and `bot` get player tickets: from the controllers,
// with an operator token, or with the player's key (--player-key, or the key
// kept for the name in the user's config directory, made on first use for a
// cluster that lets players register themselves).
type playerAuth struct {
	controller string
	token      string
	key        string
}

func (p *playerAuth) addFlags(f *pflag.FlagSet) {
	def := os.Getenv("STARLANE_CONTROLLER")
	if def == "" {
		def = "127.0.0.1:7400"
	}
	f.StringVar(&p.controller, "controller", def, "controller address(es) to get a player ticket from (env STARLANE_CONTROLLER)")
	secretVar(f, &p.token, "token", "STARLANE_TOKEN", "operator token that may get a ticket for any player (env STARLANE_TOKEN)")
	secretVar(f, &p.key, "player-key", "STARLANE_PLAYER_KEY", "the player's key from 'starlane player create' (env STARLANE_PLAYER_KEY; default: the one kept for the name)")
}

// tickets returns the ticket source and a function closing its connections.
func (p *playerAuth) tickets(t tlsconf.Config) (*player.Tickets, func(), error) {
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(p.controller), t)
	if err != nil {
		return nil, nil, err
	}
	cl.Token = p.token
	ts := &player.Tickets{Ctl: cl}
	switch {
	case p.key != "":
		ts.Key = func(string) (string, error) { return p.key, nil }
	case p.token == "":
		ts.Key = storedPlayerKey
	}
	return ts, func() { cl.Close() }, nil
}

// storedPlayerKey returns the key kept for a player name in the user's config
// directory, making one the first time (self-registration).
func storedPlayerKey(name string) (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find a place for the player key: %w; pass --player-key", err)
	}
	file := filepath.Join(dir, "starlane", "players", name+".key")
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the player key: %w", err)
	}
	key := controller.NewSecret(controller.PlayerKeyPrefix)
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return "", fmt.Errorf("keep the player key: %w", err)
	}
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the player key: %w", err)
	}
	return key, nil
}

// nodeUsage is the --node flag's text for the commands that join a surface.
const nodeUsage = "address of a node to join through (followed to the surface's primary; default: the primary's node, asked of --controller)"

// nodeFor returns the node to join surface through: addr if given, else the
// node that runs the surface's primary, asked of the controllers with the
// operator token, or without one as the player name (with its key, as a ticket
// is asked for). Waiting for a controller is said on w.
func (p *playerAuth) nodeFor(ctx context.Context, t tlsconf.Config, w io.Writer, addr, surface string, tickets *player.Tickets, name string) (string, error) {
	if addr != "" {
		return addr, nil
	}
	if p.token == "" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		node, err := tickets.Locate(ctx, name, surface)
		if err != nil {
			return "", fmt.Errorf("find the node that runs %s (asked the controllers at %s): %w; or pass --node ADDR", surface, p.controller, err)
		}
		return node, nil
	}
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(p.controller), t)
	if err != nil {
		return "", err
	}
	defer cl.Close()
	cl.Token = p.token
	cl.Waiting = func(err error) {
		fmt.Fprintf(w, "starlane: no controller answers at %s yet: %s; retrying\n", p.controller, ctlclient.Describe(err))
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var node string
	err = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
		sf, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: surface})
		if err != nil {
			return err
		}
		id := sf.GetSurface().GetAssignment().GetPrimary()
		if id == "" {
			why := sf.GetSurface().GetPlacementError()
			if why == "" {
				why = "it is stopped or not placed yet"
			}
			return status.Errorf(codes.FailedPrecondition, "surface %s runs on no node now: %s", surface, why)
		}
		n, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: id})
		if err != nil {
			return err
		}
		node = n.GetNode().GetAddress()
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("find the node that runs %s (asked the controllers at %s): %w; or pass --node ADDR", surface, p.controller, ctlclient.PlainError(err))
	}
	return node, nil
}

// joinErr says why joining a surface at a node failed, naming the node (not a
// controller) when it cannot be reached.
func joinErr(surface, addr string, err error) error {
	if st, ok := status.FromError(err); ok && st.Code() == codes.Unavailable {
		return fmt.Errorf("join %s: node %s is unreachable (%s); 'starlane node list' shows the nodes' addresses", surface, addr, st.Message())
	}
	return fmt.Errorf("join %s at %s: %w", surface, addr, ctlclient.PlainError(err))
}
