package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/internal/words"
	"github.com/starlane/starlane/sim"
	"github.com/starlane/starlane/sim/blueprint"
)

// entityBundle is what the blueprint commands need of a prototype bundle;
// *sim.Bundle has it.
type entityBundle interface {
	Has(name string) bool
	UnsupportedReason(name string) string
	ShortHash() string
}

// newBlueprintCmd groups the blueprint commands, checking entity names
// against the built-in prototype bundle.
func newBlueprintCmd() *cobra.Command {
	return newBlueprintCmdWith(func() entityBundle { return sim.DefaultBundle() })
}

// newBlueprintCmdWith takes the bundle lazily, so commands that never look
// at entity names do not build it.
func newBlueprintCmdWith(bundle func() entityBundle) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "blueprint",
		Short: "Read Factorio blueprint exchange strings",
		Long: `Read the blueprint exchange strings players copy out of Factorio 1.x and 2.0:
single blueprints, blueprint books and planners.`,
	}
	cmd.AddCommand(newBlueprintInspectCmd(bundle), newBlueprintExportCmd())
	return cmd
}

// inspectJSON is the --json object: the package's summary (whose field
// names are a contract) plus the bundle the names were checked against.
type inspectJSON struct {
	blueprint.Summary
	// UnsupportedReasons says why each unsupported name is not simulated (a
	// 1.x name by the 2.0 name a paste renames it to).
	UnsupportedReasons map[string]string `json:"unsupported_reasons,omitempty"`
	// Pastes says, for each blueprint (by entries' index), what a paste at 0,0
	// does: "whole", "needs --skip-unknown" or "refused: " and the reason.
	Pastes []string `json:"pastes,omitempty"`
	Bundle string   `json:"bundle"`
}

// pasteVerdicts says what pasting each blueprint of o at 0,0 onto an empty
// surface does, as sim run would: a book's reader learns which entries paste
// whole without trying each. Nil when the bundle is not the simulation's.
func pasteVerdicts(o *blueprint.Object, b entityBundle) []string {
	sb, ok := b.(*sim.Bundle)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range o.Blueprints() {
		_, _, _, err := sim.PlanPaste(sb, e.Blueprint, 0, 0, false)
		var u *sim.UnknownContentError
		switch {
		case err == nil:
			out = append(out, "whole")
		case errors.As(err, &u):
			out = append(out, "needs --skip-unknown")
		default:
			out = append(out, "refused: "+err.Error())
		}
	}
	return out
}

func newBlueprintInspectCmd(bundle func() entityBundle) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE|-",
		Short: "Show what a blueprint string holds",
		Long: `Show what a blueprint exchange string holds: its kind, label and game version,
the blueprints of a book (flattened, with the index --index N selects), entity
counts, wires, tiles, and the entities the built-in prototype bundle lacks
(a paste refuses those unless --skip-unknown is given).

FILE holds the string as copied from the game; - reads standard input.
--json prints one object with the fields kind, label, game_version, blueprints,
entities, entity_counts, wires and unsupported, plus unsupported_reasons (why
each is not simulated), migrated (the older names a paste renames), tiles,
parameters, entries (one per blueprint), pastes (per entry, what a paste at 0,0
does: whole, needs --skip-unknown, or refused and why), planners and bundle.`,
		Example: `  starlane blueprint inspect balancer.txt
  xclip -o | starlane blueprint inspect --json -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, err := readBlueprint(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			b := bundle()
			sum := blueprint.Inspect(o, b.Has)
			if asJSON {
				out := inspectJSON{Summary: sum, Bundle: b.ShortHash(), Pastes: pasteVerdicts(o, b)}
				for name := range sum.Unsupported {
					n2 := name
					if to, ok := sum.UnsupportedAs[name]; ok {
						n2 = to
					}
					if out.UnsupportedReasons == nil {
						out.UnsupportedReasons = map[string]string{}
					}
					out.UnsupportedReasons[name] = b.UnsupportedReason(n2)
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
			}
			return writeSummary(cmd.OutOrStdout(), sum, b, pasteVerdicts(o, b))
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

func writeSummary(out io.Writer, s blueprint.Summary, b entityBundle, pastes []string) error {
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
		fmt.Fprintf(w, "%s, %s\n", words.Plural(s.Blueprints, "blueprint"), words.Plural(len(s.Planners), "planner"))
	}
	if s.Blueprints > 0 {
		line := []string{words.Plural(s.Entities, "entity"), words.Plural(s.Wires, "wire")}
		if s.Tiles > 0 {
			line = append(line, words.Plural(s.Tiles, "tile"))
		}
		if s.Parameters > 0 {
			line = append(line, words.Plural(s.Parameters, "parameter"))
		}
		fmt.Fprintln(w, strings.Join(line, ", "))
	}
	if len(s.EntityCounts) > 0 {
		fmt.Fprintln(w, "\nentities:")
		writeCounts(w, s.EntityCounts, nil)
	}
	if len(s.Migrated) > 0 {
		fmt.Fprintln(w, "\nolder names a paste renames to 2.0 ones (as the game migrates them):")
		for _, m := range s.Migrated {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	if len(s.Unsupported) > 0 {
		fmt.Fprintf(w, "\nnot in prototype bundle %s (a paste refuses these unless --skip-unknown):\n", b.ShortHash())
		writeCounts(w, s.Unsupported, func(name string) string {
			// A 1.x name is refused as the 2.0 name a paste renames it to.
			as, n2 := "", name
			if to, ok := s.UnsupportedAs[name]; ok {
				as, n2 = "as "+to, to
			}
			// The generic reason repeats the heading; keep specific ones.
			if r := b.UnsupportedReason(n2); !strings.HasPrefix(r, "not in prototype bundle") {
				if as != "" {
					return as + ": " + r
				}
				return r
			}
			return as
		})
	} else if s.Entities > 0 {
		fmt.Fprintf(w, "\nevery entity type is in prototype bundle %s (recipes, filters and placement are checked when pasting)\n", b.ShortHash())
	}
	if s.Kind == blueprint.KindBook && len(s.Entries) > 0 {
		fmt.Fprintln(w, "\nblueprints (select one with --index N):")
		if len(pastes) == len(s.Entries) {
			fmt.Fprintln(w, "  index\tslot\tlabel\tentities\tversion\tpaste at 0,0")
		} else {
			fmt.Fprintln(w, "  index\tslot\tlabel\tentities\tversion")
		}
		for i, e := range s.Entries {
			line := fmt.Sprintf("  %d\t%s\t%s\t%d\t%s", e.Index, slotPath(e.Slots), strconv.Quote(e.Label), e.Entities, e.GameVersion)
			if len(pastes) == len(s.Entries) {
				verdict := pastes[i]
				if strings.HasPrefix(verdict, "refused: ") {
					verdict = "refused (sim run --index N says why)"
				}
				line += "\t" + verdict
			}
			fmt.Fprintln(w, line)
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

// writeCounts lists name counts, largest first, with a note per name when
// note is set.
func writeCounts(w io.Writer, counts map[string]int, note func(string) string) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	width := len(strconv.Itoa(counts[names[0]]))
	for _, n := range names {
		if note != nil {
			if text := note(n); text != "" {
				fmt.Fprintf(w, "  %*d  %s\t  %s\n", width, counts[n], n, text)
				continue
			}
		}
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
