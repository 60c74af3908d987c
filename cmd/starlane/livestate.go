package main

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/sim"
)

// liveState downloads a save of a running surface at its confirmed tick from the node
// that runs its primary.
func liveState(ctx context.Context, o *opFlags, surface string, log io.Writer) ([]byte, uint64, error) {
	var st *ctlclient.SurfaceState
	err := o.run(func(_ context.Context, cl *ctlclient.Client) error {
		var err error
		st, err = cl.FetchStateLog(ctx, surface, log)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return st.Data, st.Tick, nil
}

// loadLive downloads a running surface and loads it.
func loadLive(ctx context.Context, o *opFlags, surface string) (*sim.Surface, error) {
	data, _, err := liveState(ctx, o, surface, nil)
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
			fmt.Fprintf(cmd.ErrOrStderr(), "downloading surface %s at its confirmed tick…\n", args[0])
			data, tick, err := liveState(ctx, o, args[0], cmd.ErrOrStderr())
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
