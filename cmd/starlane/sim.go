package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/starlane/starlane/internal/atomicfile"
	"github.com/starlane/starlane/sim"
	"github.com/starlane/starlane/sim/blueprint"
)

func newSimCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run a surface's simulation headless",
		Long: `Run the deterministic factory simulation of one surface in this process, without
a cluster: useful to try maps, blueprints and saves, and to check determinism.`,
	}
	cmd.AddCommand(newSimRunCmd(), newSimMapsCmd())
	return cmd
}

// openSurface loads a built-in map by name or a save file by path.
func openSurface(mapArg string, seed uint64) (*sim.Surface, error) {
	b := sim.DefaultBundle()
	for _, m := range sim.Maps() {
		if m.Name == mapArg {
			return sim.NewMap(b, mapArg, seed, "")
		}
	}
	f, err := os.Open(mapArg)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			names := []string{}
			for _, m := range sim.Maps() {
				names = append(names, m.Name)
			}
			return nil, fmt.Errorf("no built-in map or save file %q (built-in maps: %s)", mapArg, strings.Join(names, ", "))
		}
		return nil, err
	}
	defer f.Close()
	s, err := sim.Load(b, f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", mapArg, err)
	}
	return s, nil
}

// runSummary is what `sim run --json` prints. Field names are a contract.
type runSummary struct {
	Map                  string             `json:"map"`
	Surface              string             `json:"surface"`
	Planet               string             `json:"planet"`
	Seed                 uint64             `json:"seed"`
	Tick                 uint64             `json:"tick"`
	TicksRun             int                `json:"ticks_run"`
	Entities             int                `json:"entities"`
	Hash                 string             `json:"hash"`
	FullHash             string             `json:"full_hash"`
	Production           map[string]int64   `json:"production"`
	Consumption          map[string]int64   `json:"consumption"`
	ProductionPerMinute  map[string]float64 `json:"production_per_minute"`
	ConsumptionPerMinute map[string]float64 `json:"consumption_per_minute"`
	SPM                  float64            `json:"spm"`
	SPMByPack            map[string]float64 `json:"spm_by_pack"`
	Researched           int64              `json:"research_units"`
	Blueprint            *pasteSummary      `json:"blueprint,omitempty"`
	ElapsedSeconds       float64            `json:"elapsed_seconds"`
	UPS                  float64            `json:"ups"`
	Saved                string             `json:"saved,omitempty"`
}

func newSimRunCmd() *cobra.Command {
	var (
		mapArg, bpFile, at, saveTo string
		seed                       uint64
		ticks, index               int
		asJSON, skipUnknown        bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a map or save for a number of ticks and print a summary",
		Long: `Run a built-in map or a save file for --ticks ticks (60 ticks are one game second)
as fast as possible and print a summary: the tick reached, entity count, state
hashes, production and consumption, and science per minute (SPM).

--map takes a built-in map (see 'starlane sim maps') or the path of a save.
--save writes the surface after the run; 'sim run --map FILE' continues it.
--blueprint pastes a blueprint exchange string onto the map before the run,
offset by --at X,Y whole tiles (--index N picks an entry of a book, numbered as
'blueprint inspect' lists them). Strings whose entities sit half a tile off the
grid (the game writes many that way) are snapped onto it as the game does; the
summary reports the shift. A blueprint saved with absolute snapping goes only on
its world grid, as in the game: --at must be a tile of that grid (a refusal names
one). The paste is all or nothing: a collision or an entity the prototype bundle
lacks refuses it with the reason (--skip-unknown leaves unknown entities out
instead).`,
		Example: `  starlane sim run --map starter --ticks 3600
  starlane sim run --map megabase-10k --ticks 600 --json
  starlane sim run --map starter --ticks 36000 --save starter.sav && starlane sim run --map starter.sav --ticks 60`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ticks < 0 {
				return fmt.Errorf("--ticks %d must not be negative", ticks)
			}
			// A save that cannot be written is said before the run, not after it.
			if saveTo != "" {
				if err := atomicfile.CheckWritable(saveTo); err != nil {
					return fmt.Errorf("--save %s: cannot write there: %w", saveTo, err)
				}
			}
			s, err := openSurface(mapArg, seed)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("seed") && !isBuiltinMap(mapArg) && s.Seed() != seed {
				// A save carries its own seed; generating is over.
				return fmt.Errorf("--seed %d: %s is a save, which keeps the seed it was made with (%d); --seed is for built-in maps", seed, mapArg, s.Seed())
			}
			// A paste is the first tick's input, applied like a player's.
			var first []sim.Input
			var pasted *pasteSummary
			if bpFile != "" {
				if ticks < 1 {
					return errors.New("--blueprint needs at least one tick (--ticks 1 or more)")
				}
				str, err := readBlueprintString(cmd.InOrStdin(), bpFile)
				if err != nil {
					return err
				}
				x, y, err := parseXY(at)
				if err != nil {
					return fmt.Errorf("--at: %w", err)
				}
				var flags uint32
				if skipUnknown {
					flags |= sim.PasteSkipUnknown
				}
				// Plan first for the report (what is skipped, how it snaps to the grid);
				// the tick applies the same action with the same checks.
				plan, err := planPaste(str, x, y, index, skipUnknown)
				if err != nil {
					return fmt.Errorf("blueprint %s: %w", bpFile, err)
				}
				pasted = &plan
				first = []sim.Input{{Player: 0, Data: sim.EncodeAction(sim.PasteAction(str, x, y, index, flags))}}
			}
			start := time.Now()
			progress := newProgress(cmd.ErrOrStderr(), ticks)
			for i := 0; i < ticks; i++ {
				s.Step(first)
				if first != nil {
					if r := s.LastResults()[0]; r.Err != "" {
						if strings.Contains(r.Err, " collides with ") {
							return fmt.Errorf("blueprint %s: %s (the map has entities there: paste it elsewhere with --at X,Y, or onto --map empty)", bpFile, r.Err)
						}
						return fmt.Errorf("blueprint %s: %s", bpFile, r.Err)
					}
					first = nil
				}
				progress.update(i + 1)
			}
			elapsed := time.Since(start)
			sum := summarize(s, mapArg, ticks, elapsed)
			sum.Blueprint = pasted
			if saveTo != "" {
				if err := writeSave(s, saveTo); err != nil {
					return err
				}
				sum.Saved = saveTo
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), sum)
			}
			printSummary(cmd.OutOrStdout(), sum)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&mapArg, "map", "starter", "built-in map name or save file")
	f.Uint64Var(&seed, "seed", 1, "map seed (built-in maps only)")
	f.IntVar(&ticks, "ticks", 3600, "ticks to run (60 per game second)")
	f.StringVar(&bpFile, "blueprint", "", "blueprint exchange string file to paste before running (- for stdin)")
	f.StringVar(&at, "at", "0,0", "tile offset X,Y for --blueprint")
	f.IntVar(&index, "index", 0, "book entry to paste, from 0 (books are flattened as 'blueprint inspect' lists them)")
	f.BoolVar(&skipUnknown, "skip-unknown", false, "leave out entities the prototype bundle cannot simulate instead of refusing the paste")
	f.StringVar(&saveTo, "save", "", "write the surface to this file after the run")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func summarize(s *sim.Surface, mapArg string, ticks int, elapsed time.Duration) runSummary {
	p := s.Production()
	sum := runSummary{
		Map: mapArg, Surface: s.Name(), Planet: s.Planet(), Seed: s.Seed(), Tick: s.Tick(), TicksRun: ticks,
		Entities: s.EntityCount(), Hash: fmt.Sprintf("%016x", s.Hash()), FullHash: fmt.Sprintf("%016x", s.FullHash()),
		Production: p.Produced, Consumption: p.Consumed,
		ProductionPerMinute: p.ProducedPerMinute, ConsumptionPerMinute: p.ConsumedPerMinute,
		SPM: p.SPM, SPMByPack: p.SPMByPack, Researched: p.Researched,
		ElapsedSeconds: elapsed.Seconds(),
	}
	if elapsed > 0 {
		sum.UPS = float64(ticks) / elapsed.Seconds()
	}
	return sum
}

func printSummary(w io.Writer, s runSummary) {
	fmt.Fprintf(w, "surface %s (%s, seed %d) at tick %d (%s of game time)\n", s.Surface, s.Planet, s.Seed, s.Tick,
		(time.Duration(s.Tick) * time.Second / sim.TicksPerSecond).String())
	fmt.Fprintf(w, "entities %d   hash %s   full hash %s\n", s.Entities, s.Hash, s.FullHash)
	fmt.Fprintf(w, "ran %d ticks in %.2fs (%.0f UPS)\n", s.TicksRun, s.ElapsedSeconds, s.UPS)
	if s.SPM > 0 || len(s.SPMByPack) > 0 {
		fmt.Fprintf(w, "science per minute: %.1f", s.SPM)
		for _, k := range sortedKeys(s.SPMByPack) {
			fmt.Fprintf(w, "   %s %.1f", k, s.SPMByPack[k])
		}
		fmt.Fprintln(w)
	}
	if len(s.Production) > 0 || len(s.Consumption) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "item\tproduced\tconsumed\tproduced/min\tconsumed/min\t")
		keys := map[string]bool{}
		for k := range s.Production {
			keys[k] = true
		}
		for k := range s.Consumption {
			keys[k] = true
		}
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t\n", k, s.Production[k], s.Consumption[k],
				s.ProductionPerMinute[k], s.ConsumptionPerMinute[k])
		}
		tw.Flush()
	}
	if b := s.Blueprint; b != nil {
		if b.BookEntries > 0 {
			fmt.Fprintf(w, "book entry %d of %d (%q; --index N pastes another): ", b.Index, b.BookEntries, b.Label)
		}
		fmt.Fprintf(w, "pasted %d entities at %d,%d (snapped %s,%s tiles onto the grid)", b.Entities, b.At[0], b.At[1],
			strconv.FormatFloat(b.Shift[0], 'f', -1, 64), strconv.FormatFloat(b.Shift[1], 'f', -1, 64))
		if len(b.Migrated) > 0 {
			fmt.Fprintf(w, "; migrated to 2.0 names: %s", strings.Join(b.Migrated, ", "))
		}
		if len(b.Skipped) > 0 {
			var left []string
			for _, name := range sortedKeys(b.Skipped) {
				item := fmt.Sprintf("%d %s", b.Skipped[name], name)
				if r := b.SkippedReasons[name]; r != "" {
					item += " (" + r + ")"
				}
				left = append(left, item)
			}
			fmt.Fprintf(w, "; left out %s", strings.Join(left, ", "))
		}
		if len(b.Undelivered) > 0 {
			var items []string
			for _, name := range sortedKeys(b.Undelivered) {
				items = append(items, fmt.Sprintf("%s ×%d", name, b.Undelivered[name]))
			}
			fmt.Fprintf(w, "; built without the items it requests, which the game's robots deliver: %s", strings.Join(items, ", "))
		}
		if b.TilesIgnored > 0 {
			fmt.Fprintf(w, "; %d tiles ignored (floors are not simulated)", b.TilesIgnored)
		}
		fmt.Fprintln(w)
	}
	if s.Saved != "" {
		fmt.Fprintf(w, "saved to %s\n", s.Saved)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writeSave writes a save atomically (atomicfile): a full disk or a crash leaves
// the old file whole and no temporary file behind.
func writeSave(s *sim.Surface, path string) error {
	return atomicfile.WriteFunc(path, 0o644, s.Save)
}

func parseXY(s string) (int32, int32, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not X,Y", s)
	}
	x, errX := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	y, errY := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	switch {
	case errors.Is(errX, strconv.ErrRange) || errors.Is(errY, strconv.ErrRange) || errX == nil && errY == nil && !sim.TileOnMap(x, y):
		return 0, 0, fmt.Errorf("%s is outside the map (%s)", s, sim.MapExtent)
	case errX != nil || errY != nil:
		return 0, 0, fmt.Errorf("%q is not X,Y (whole numbers of tiles, e.g. 0,-20)", s)
	}
	return int32(x), int32(y), nil
}

// pasteSummary reports a paste in `sim run --json`.
type pasteSummary struct {
	At    [2]int32 `json:"at"`
	Index int      `json:"index"`
	// Label is the pasted blueprint's; BookEntries how many blueprints the
	// book holds (0 for a single blueprint), which --index chooses among.
	Label       string         `json:"label,omitempty"`
	BookEntries int            `json:"book_entries,omitempty"`
	Entities    int            `json:"entities"`
	Skipped     map[string]int `json:"skipped,omitempty"`
	// SkippedReasons says why each skipped name is not simulated, for the names
	// whose key does not already say it ("radar": "a base-game entity …").
	SkippedReasons map[string]string `json:"skipped_reasons,omitempty"`
	Migrated       []string          `json:"migrated,omitempty"` // 1.x names renamed to 2.0 ("entity stack-inserter → bulk-inserter ×4")
	// Undelivered counts the non-module items the blueprint requests (fuel,
	// ammunition), which the game's robots would deliver: built without them.
	Undelivered  map[string]int `json:"undelivered,omitempty"`
	TilesIgnored int            `json:"tiles_ignored,omitempty"`
	Shift        [2]float64     `json:"shift"`
}

// planPaste checks a paste without a surface and summarises it.
func planPaste(str string, x, y int32, index int, skipUnknown bool) (pasteSummary, error) {
	o, err := blueprint.Decode(str)
	if err != nil {
		return pasteSummary{}, err
	}
	bp, err := o.Select(index)
	if err != nil {
		return pasteSummary{}, err
	}
	specs, skipped, shift, err := sim.PlanPaste(sim.DefaultBundle(), bp, x, y, skipUnknown)
	if err != nil {
		return pasteSummary{}, err
	}
	_, renamed, err := blueprint.Migrate(bp)
	if err != nil {
		return pasteSummary{}, err
	}
	var migrated []string
	for _, r := range renamed {
		migrated = append(migrated, r.String())
	}
	var reasons map[string]string
	for name := range skipped {
		if r := sim.DefaultBundle().UnknownReason(name); r != "" {
			if reasons == nil {
				reasons = map[string]string{}
			}
			reasons[name] = r
		}
	}
	entries := 0
	if o.Kind == blueprint.KindBook {
		entries = len(o.Blueprints())
	}
	return pasteSummary{At: [2]int32{x, y}, Index: index, Label: bp.Label, BookEntries: entries, Entities: len(specs), Skipped: skipped, SkippedReasons: reasons, Migrated: migrated,
		Undelivered:  sim.UndeliveredRequests(sim.DefaultBundle(), bp),
		TilesIgnored: len(bp.Tiles),
		Shift:        [2]float64{float64(shift.X) / sim.TileUnits, float64(shift.Y) / sim.TileUnits}}, nil
}

// readBlueprintString reads an exchange string from a file or standard input ("-").
func readBlueprintString(stdin io.Reader, name string) (string, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", fmt.Errorf("read blueprint: %w", err)
		}
		defer f.Close()
		r = f
	}
	limit := blueprint.DefaultLimits().MaxStringBytes
	raw, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return "", fmt.Errorf("read blueprint: %w", err)
	}
	if len(raw) > limit {
		return "", fmt.Errorf("blueprint in %s is over the %d byte limit", name, limit)
	}
	return strings.TrimSpace(string(raw)), nil
}

func newSimMapsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "maps",
		Short: "List the built-in maps",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if asJSON {
				out := []map[string]string{}
				for _, m := range sim.Maps() {
					out = append(out, map[string]string{"name": m.Name, "description": m.Description})
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			for _, m := range sim.Maps() {
				fmt.Fprintf(tw, "%s\t%s\n", m.Name, m.Description)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print [{"name","description"}] as JSON`)
	return cmd
}

// progress prints a progress line to stderr now and then during long runs.
type progress struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	now := time.Now()
	return &progress{w: w, total: total, start: now, last: now}
}

func (p *progress) update(n int) {
	if n%64 != 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 2*time.Second {
		return
	}
	p.last = now
	rate := float64(n) / now.Sub(p.start).Seconds()
	eta := time.Duration(float64(p.total-n)/rate) * time.Second
	fmt.Fprintf(p.w, "tick %d/%d (%.0f%%, %.0f UPS, about %s left)\n", n, p.total, 100*float64(n)/float64(p.total), rate, eta.Round(time.Second))
}
