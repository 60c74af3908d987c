package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// liveState downloads a save of a running surface at its confirmed tick from the node
// that runs its primary.
func liveState(ctx context.Context, o *opFlags, surface string) ([]byte, uint64, error) {
	var addr string
	err := o.cluster(func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.GetSurface(ctx, &pb.GetSurfaceRequest{Name: surface})
		if err != nil {
			return err
		}
		primary := r.Surface.GetAssignment().GetPrimary()
		if primary == "" {
			return fmt.Errorf("surface %s is not running on any node: %s", surface, orDash(r.Surface.GetPlacementError()))
		}
		n, err := c.GetNode(ctx, &pb.GetNodeRequest{Id: primary})
		if err != nil {
			return err
		}
		addr = n.Node.GetAddress()
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	creds, err := ctlclient.Credentials(o.tls)
	if err != nil {
		return nil, 0, err
	}
	conn, err := grpc.NewClient(addr, ctlclient.DialOptions(creds)...)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	st, err := pb.NewShardServiceClient(conn).GetState(ctx, &pb.GetStateRequest{Surface: surface})
	if err != nil {
		return nil, 0, err
	}
	var data bytes.Buffer
	var tick uint64
	for {
		c, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, apiErr(fmt.Errorf("download surface %s from %s: %w", surface, addr, err))
		}
		if c.Tick != 0 {
			tick = c.Tick
		}
		data.Write(c.Data)
	}
	return data.Bytes(), tick, nil
}

// loadLive downloads a running surface and loads it.
func loadLive(ctx context.Context, o *opFlags, surface string) (*sim.Surface, error) {
	data, _, err := liveState(ctx, o, surface)
	if err != nil {
		return nil, err
	}
	return sim.Load(sim.DefaultBundle(), bytes.NewReader(data))
}

func newSurfaceSaveCmd(o *opFlags) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "save NAME --out FILE",
		Short: "Download a running surface as a save file (at its confirmed tick)",
		Long: `Download a running surface from the node that runs it, as a save file at its
latest confirmed tick. 'sim run --map FILE' runs it locally; 'surface create
--map FILE' starts a new surface from it.`,
		Example: `  starlane surface save nauvis --out nauvis.sav`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
			defer cancel()
			data, tick, err := liveState(ctx, o, args[0])
			if err != nil {
				return err
			}
			if err := atomicfile.Write(out, data, 0o644); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"surface": args[0], "tick": tick, "bytes": len(data), "out": out})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "saved surface %s at tick %d to %s (%d bytes)\n", args[0], tick, out, len(data))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write (required)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
