package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/sim/blueprint"
)

// newBlueprintCmd groups the blueprint commands. supported tells whether the
// prototype bundle has an entity; nil when no bundle is available.
func newBlueprintCmd(supported func(name string) bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blueprint",
		Short: "Read Factorio blueprint exchange strings",
		Long: `Read the blueprint exchange strings players copy out of Factorio 1.x and 2.0:
single blueprints, blueprint books and planners.`,
	}
	cmd.AddCommand(newBlueprintInspectCmd(supported))
	return cmd
}

func newBlueprintInspectCmd(supported func(name string) bool) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE|-",
		Short: "Show what a blueprint string holds",
		Long: `Show what a blueprint exchange string holds: its kind, label and game version,
the blueprints of a book (flattened, with the index --index N selects), entity
counts, wires, tiles, and the entities the prototype bundle lacks.

FILE holds the string as copied from the game; - reads standard input.
--json prints one object with the fields kind, label, game_version, blueprints,
entities, entity_counts, wires and unsupported (and more).`,
		Example: `  starlane blueprint inspect balancer.txt
  xclip -o | starlane blueprint inspect --json -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := readBlueprint(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			sum := blueprint.Inspect(o, supported)
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(sum)
			}
			if supported == nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "note: no prototype bundle loaded; entity names were not checked")
			}
			return writeSummary(cmd.OutOrStdout(), sum, supported != nil)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of text")
	return cmd
}

// readBlueprint decodes the exchange string in file name, or standard input
// for "-".
func readBlueprint(stdin io.Reader, name string) (*blueprint.Object, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read blueprint: %w", err)
		}
		defer f.Close()
		r = f
	} else {
		name = "standard input"
	}
	o, err := blueprint.DefaultLimits().DecodeReader(r)
	if err != nil {
		return nil, fmt.Errorf("blueprint in %s: %w", name, err)
	}
	return o, nil
}

func writeSummary(out io.Writer, s blueprint.Summary, checked bool) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	kind := strings.ReplaceAll(string(s.Kind), "_", " ")
	head := kind
	if s.Label != "" {
		head += " " + strconv.Quote(s.Label)
	}
	if s.GameVersion != "" {
		head += " (Factorio " + s.GameVersion + ")"
	} else {
		head += " (no game version: read as Factorio 1.x)"
	}
	fmt.Fprintln(w, head)
	if s.Kind == blueprint.KindBook {
		fmt.Fprintf(w, "%s, %s\n", plural(s.Blueprints, "blueprint"), plural(len(s.Planners), "planner"))
	}
	if s.Blueprints > 0 {
		line := []string{plural(s.Entities, "entity"), plural(s.Wires, "wire")}
		if s.Tiles > 0 {
			line = append(line, plural(s.Tiles, "tile"))
		}
		if s.Parameters > 0 {
			line = append(line, plural(s.Parameters, "parameter"))
		}
		fmt.Fprintln(w, strings.Join(line, ", "))
	}
	if len(s.EntityCounts) > 0 {
		fmt.Fprintln(w, "\nentities:")
		writeCounts(w, s.EntityCounts)
	}
	if len(s.Unsupported) > 0 {
		fmt.Fprintln(w, "\nnot in the prototype bundle (a paste refuses these unless --skip-unknown):")
		writeCounts(w, s.Unsupported)
	} else if checked && s.Entities > 0 {
		fmt.Fprintln(w, "\nevery entity is in the prototype bundle")
	}
	if s.Kind == blueprint.KindBook && len(s.Entries) > 0 {
		fmt.Fprintln(w, "\nblueprints (select one with --index N):")
		fmt.Fprintln(w, "  index\tslot\tlabel\tentities\tversion")
		for _, e := range s.Entries {
			fmt.Fprintf(w, "  %d\t%s\t%s\t%d\t%s\n", e.Index, slotPath(e.Slots), strconv.Quote(e.Label), e.Entities, e.GameVersion)
		}
	}
	if len(s.Planners) > 0 && s.Kind == blueprint.KindBook {
		fmt.Fprintln(w, "\nplanners (reported, never applied):")
		for _, p := range s.Planners {
			fmt.Fprintf(w, "  %s\t%s\t%s\n", p.Kind, slotPath(p.Slots), strconv.Quote(p.Label))
		}
	}
	if s.Kind != blueprint.KindBook && s.Kind != blueprint.KindBlueprint {
		fmt.Fprintln(w, "planners are reported, never applied")
	}
	return w.Flush()
}

// writeCounts lists name counts, largest first.
func writeCounts(w io.Writer, counts map[string]int) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	width := len(strconv.Itoa(counts[names[0]]))
	for _, n := range names {
		fmt.Fprintf(w, "  %*d  %s\n", width, counts[n], n)
	}
}

func slotPath(slots []int) string {
	parts := make([]string, len(slots))
	for i, s := range slots {
		parts[i] = strconv.Itoa(s)
	}
	return strings.Join(parts, "/")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return strconv.Itoa(n) + " " + strings.TrimSuffix(word, "y") + "ies"
	}
	return strconv.Itoa(n) + " " + word + "s"
}
