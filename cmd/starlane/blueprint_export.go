package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/internal/words"
	"github.com/starlane/starlane/sim"
	"github.com/starlane/starlane/sim/blueprint"
)

// exportSummary is what `blueprint export --json` prints.
type exportSummary struct {
	String   string `json:"string"`
	Entities int    `json:"entities"`
	Label    string `json:"label"`
	Area     [4]int `json:"area"`
	Out      string `json:"out,omitempty"`
}

func newBlueprintExportCmd() *cobra.Command {
	var (
		mapArg, surface, area, origin, label, out string
		seed                                      uint64
	)
	o := &opFlags{}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a region of a save, map or running surface back to a blueprint exchange string",
		Long: `Write the entities of a rectangular region of a save (or built-in map), or of a
running surface of a cluster (--surface, at its confirmed tick), to a Factorio 2.0
blueprint exchange string that decodes to the same entities: names, positions,
directions, recipes, underground types, splitter settings and infinity chest
filters.

--area X0,Y0,X1,Y1 selects entities whose top-left tile lies in the rectangle.
Positions are world positions minus --origin (tiles, fractions allowed): after
'sim run --blueprint S --at X,Y', exporting with --origin X+sx,Y+sy, where sx,sy
is the reported snap shift, gives back the positions written in S.`,
		Example: `  starlane sim run --map empty --blueprint balancer.txt --at 0,0 --ticks 1 --save b.sav
  starlane blueprint export --map b.sav --area -10,-10,10,10 --origin 0.5,0.5
  starlane blueprint export --surface nauvis --area 0,-20,40,10 --controller 127.0.0.1:7400`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			x0, y0, x1, y1, err := parseArea(area)
			if err != nil {
				return fmt.Errorf("--area: %w", err)
			}
			ox, oy, err := parseOrigin(origin)
			if err != nil {
				return fmt.Errorf("--origin: %w", err)
			}
			var s *sim.Surface
			switch {
			case (mapArg == "") == (surface == ""):
				return fmt.Errorf("give either --map (a save or built-in map) or --surface (a running surface)")
			case surface != "":
				ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
				defer cancel()
				s, err = loadLive(ctx, o, surface)
			default:
				s, err = openSurface(mapArg, seed)
			}
			if err != nil {
				return err
			}
			bp, err := s.ExportBlueprint(x0, y0, x1, y1, sim.Vec{X: ox, Y: oy}, label)
			if err != nil {
				return err
			}
			str, err := blueprint.EncodeBlueprint(bp)
			if err != nil {
				return fmt.Errorf("encode blueprint: %w", err)
			}
			if out != "" {
				if err := os.WriteFile(out, []byte(str), 0o644); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
			}
			if o.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(exportSummary{String: str, Entities: len(bp.Entities),
					Label: label, Area: [4]int{int(x0), int(y0), int(x1), int(y1)}, Out: out})
			}
			if out == "" {
				fmt.Fprintln(cmd.OutOrStdout(), str)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %s\n", words.Plural(len(bp.Entities), "entity"))
			ports := 0
			for _, e := range bp.Entities {
				if e.Name == "bridge-export" || e.Name == "bridge-import" {
					ports++
				}
			}
			if ports > 0 {
				are := "are"
				if ports == 1 {
					are = "is"
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s (bridge-export, bridge-import) %s Starlane's own: Starlane pastes them back with their labels, the game refuses the string; leave them out of --area for the game\n",
					words.Plural(ports, "bridge port"), are)
			}
			return nil
		},
	}
	o.add(cmd)
	f := cmd.Flags()
	f.StringVar(&mapArg, "map", "", "save file or built-in map to export from")
	f.StringVar(&surface, "surface", "", "running surface to export from (asks the cluster at --controller)")
	f.Uint64Var(&seed, "seed", 1, "map seed (built-in maps only)")
	f.StringVar(&area, "area", "", "region X0,Y0,X1,Y1 in tiles (required)")
	f.StringVar(&origin, "origin", "0,0", "tile position X,Y that becomes the blueprint's 0,0 (fractions allowed)")
	f.StringVar(&label, "label", "", "blueprint label")
	f.StringVar(&out, "out", "", "write the string to this file instead of standard output")
	_ = cmd.MarkFlagRequired("area")
	return cmd
}

func parseArea(s string) (x0, y0, x1, y1 int32, err error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return 0, 0, 0, 0, fmt.Errorf("%q is not X0,Y0,X1,Y1", s)
	}
	var v [4]int32
	for i, p := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil {
			return 0, 0, 0, 0, fmt.Errorf("%q is not X0,Y0,X1,Y1: %w", s, err)
		}
		v[i] = int32(n)
	}
	return min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3]), nil
}

// parseOrigin reads X,Y in tiles (fractions allowed) into 1/256-tile units.
func parseOrigin(s string) (int32, int32, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not X,Y", s)
	}
	conv := func(t string) (int32, error) {
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || math.IsNaN(f) || math.Abs(f) > 1<<22 {
			return 0, fmt.Errorf("%q is not a tile coordinate", t)
		}
		return int32(math.Round(f * sim.TileUnits)), nil
	}
	x, err := conv(a)
	if err != nil {
		return 0, 0, err
	}
	y, err := conv(b)
	return x, y, err
}
