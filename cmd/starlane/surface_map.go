package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/render"
	"github.com/starlane/starlane/sim"
)

// mapJSON is what `surface map --json` prints.
type mapJSON struct {
	Surface string `json:"surface"`
	Node    string `json:"node"`
	Tick    uint64 `json:"tick"`
	Area    string `json:"area"`
	Scale   int    `json:"scale"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bytes   int    `json:"bytes"`
	Out     string `json:"out"`
}

func newSurfaceMapCmd(o *opFlags) *cobra.Command {
	var (
		areaArg, out string
		scale        int
		power, items bool
	)
	cmd := &cobra.Command{
		Use:   "map NAME --area X1,Y1,X2,Y2 --out FILE.png",
		Short: "Render a running surface's map to a PNG (at its confirmed tick)",
		Long: `Download a running surface at its latest confirmed tick from the node that
runs it and draw the tiles of --area (corners included) in the game's map
colours: ground, resources, entities by kind, the items on belts and the electric
network's wires. The dashboard draws its maps the same way.`,
		Example: `  starlane surface map nauvis --area -20,-20,40,20 --out nauvis.png
  starlane surface map nauvis --area -256,-256,255,255 --scale 2 --power=false --out big.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := render.ParseArea(areaArg)
			if err != nil {
				return fmt.Errorf("--area: %w", err)
			}
			if scale == 0 {
				scale = render.FitScale(a, 2048, 16)
			}
			if err := render.Check(a, scale); err != nil {
				return err
			}
			if filepath.Ext(out) != ".png" {
				return fmt.Errorf("--out %q: the map is a PNG; name the file *.png", out)
			}
			// Say now, not after the download, when the file cannot be written.
			if err := atomicfile.CheckWritable(out); err != nil {
				return fmt.Errorf("--out %s is not writable: %w", out, err)
			}
			log := cmd.ErrOrStderr()
			var res mapJSON
			err = o.run(func(ctx context.Context, cl *ctlclient.Client) error {
				fmt.Fprintf(log, "downloading surface %s at its confirmed tick…\n", args[0])
				st, err := cl.FetchStateLog(ctx, args[0], log)
				if err != nil {
					return err
				}
				s, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(st.Data))
				if err != nil {
					return fmt.Errorf("load surface %s (tick %d): %w", args[0], st.Tick, err)
				}
				fmt.Fprintf(log, "drawing tiles %s of %s at tick %d (from %s, %d bytes) at %d px/tile…\n", a, args[0], st.Tick, st.Node, len(st.Data), scale)
				img, err := render.Draw(s, a, render.Options{Scale: scale, Power: power, Items: items})
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := render.EncodePNG(&buf, img); err != nil {
					return err
				}
				if err := atomicfile.Write(out, buf.Bytes(), 0o644); err != nil {
					return err
				}
				res = mapJSON{Surface: args[0], Node: st.Node, Tick: st.Tick, Area: a.String(), Scale: scale,
					Width: img.Rect.Dx(), Height: img.Rect.Dy(), Bytes: buf.Len(), Out: out}
				return nil
			})
			if err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: surface %s tiles %s at tick %d, %d×%d px (%d px/tile)\n",
				out, res.Surface, res.Area, res.Tick, res.Width, res.Height, res.Scale)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&areaArg, "area", "", "tiles to draw: X1,Y1,X2,Y2, corners included (required)")
	f.StringVarP(&out, "out", "o", "", "PNG file to write (required)")
	f.IntVar(&scale, "scale", 0, "pixels per tile, 1-32 (default: the largest up to 16 that keeps the image within 2048 px)")
	f.BoolVar(&power, "power", true, "draw the electric network's wires")
	f.BoolVar(&items, "items", true, "draw the items on belts (at 4 px/tile and more)")
	_ = cmd.MarkFlagRequired("area")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
