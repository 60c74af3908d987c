package player

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/starlane/starlane/sim"
)

// A Step is one action of a script, as an operator writes it ("mine 0,2",
// "build bridge-import 0,2 label=in"); see ScriptHelp.
type Step struct {
	Text   string
	Action sim.Action
	// At is the tile the action works on; the character walks within reach of it
	// first. Nil for actions without a tile.
	At *[2]int32
}

// scriptUsage is each step's form and what it does, in the order help shows them.
var scriptUsage = [][2]string{
	{"walk X,Y", "walk to tile X,Y, at most 1000 tiles from where the character stands"},
	{"mine X,Y", "mine the entity on tile X,Y; it and its contents go to your inventory"},
	{"build NAME X,Y [dir=D] [label=L] [recipe=R]", "build NAME from your inventory with its top-left tile at X,Y (D: north, east, south or west)"},
	{"rotate X,Y", "turn the entity on X,Y clockwise"},
	{"label X,Y [NAME]", "name the entity on X,Y (bridges find ports by label); no NAME clears it"},
	{"recipe X,Y [NAME]", "set the recipe of the machine on X,Y; no NAME clears it"},
	{"insert X,Y ITEM COUNT", "put COUNT of ITEM from your inventory into the entity on X,Y"},
	{"take X,Y ITEM COUNT", "take COUNT of ITEM out of the entity on X,Y"},
	{"research [TECH]", "research TECH; no TECH stops research"},
	{"paste FILE X,Y [book=N] [skip-unknown]", "paste the blueprint string in FILE with its origin at tile X,Y, built from your inventory (every entity and module of it, or nothing); book= picks a book's entry (from 0), skip-unknown leaves out what the simulation cannot run instead of refusing"},
}

// ScriptHelp lists the steps ParseStep understands, one per line.
func ScriptHelp() string {
	var b strings.Builder
	for _, u := range scriptUsage {
		fmt.Fprintf(&b, "  %s\n      %s\n", u[0], u[1])
	}
	return strings.TrimRight(b.String(), "\n")
}

// ParseStep reads one step.
func ParseStep(text string) (Step, error) {
	f := strings.Fields(text)
	st := Step{Text: strings.Join(f, " ")}
	if len(f) == 0 {
		return st, errors.New("an empty step: give an action such as \"mine 0,2\"")
	}
	verb, args := strings.ToLower(f[0]), f[1:]
	bad := func(format string, a ...any) (Step, error) {
		return st, fmt.Errorf("step %q: "+format, append([]any{st.Text}, a...)...)
	}
	need := func(min, max int) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("step %q: write it as %s", st.Text, usageOf(verb))
		}
		return nil
	}
	kinds := map[string]sim.ActionKind{"walk": sim.ActMove, "mine": sim.ActMine, "rotate": sim.ActRotate, "build": sim.ActBuild,
		"label": sim.ActSetLabel, "recipe": sim.ActSetRecipe, "insert": sim.ActInsert, "take": sim.ActTake, "research": sim.ActSetResearch,
		"paste": sim.ActPaste}
	kind, ok := kinds[verb]
	if !ok {
		return bad("unknown action %q; the actions are walk, mine, build, rotate, label, recipe, insert, take, research and paste", f[0])
	}
	st.Action.Kind = kind
	switch verb {
	case "walk", "mine", "rotate":
		if err := need(1, 1); err != nil {
			return st, err
		}
	case "label", "recipe":
		if err := need(1, 2); err != nil {
			return st, err
		}
		if len(args) == 2 {
			st.Action.Name = args[1]
		}
		if verb == "label" {
			if err := sim.CheckLabel(st.Action.Name); err != nil {
				return bad("%v", err)
			}
		}
	case "insert", "take":
		if err := need(3, 3); err != nil {
			return st, err
		}
		n, err := strconv.ParseInt(args[2], 10, 32)
		if err != nil || n <= 0 {
			return bad("COUNT %q is not a positive whole number", args[2])
		}
		st.Action.Name, st.Action.Count = args[1], int32(n)
	case "paste":
		if err := need(2, 4); err != nil {
			return st, err
		}
		index, flags := 0, uint32(0)
		for _, opt := range args[2:] {
			k, v, _ := strings.Cut(opt, "=")
			switch {
			case opt == "skip-unknown":
				flags |= sim.PasteSkipUnknown
			case k == "book":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return bad("book=%q is not a book entry (a whole number from 0)", v)
				}
				index = n
			default:
				return bad("unknown setting %q (book=N or skip-unknown)", opt)
			}
		}
		str, err := os.ReadFile(args[0])
		if err != nil {
			return bad("read the blueprint: %v", err)
		}
		x, y, err := parseTile(args[1])
		if err != nil {
			return bad("%v", err)
		}
		st.Action = sim.PasteAction(strings.TrimSpace(string(str)), x, y, index, flags)
		return st, nil
	case "research":
		if err := need(0, 1); err != nil {
			return st, err
		}
		if len(args) == 1 {
			st.Action.Name = args[0]
		}
		return st, nil
	case "build":
		if err := need(2, 5); err != nil {
			return st, err
		}
		b := &st.Action.Build
		b.Name = args[0]
		args = args[1:]
		for _, opt := range args[1:] {
			k, v, ok := strings.Cut(opt, "=")
			switch {
			case !ok:
				return bad("%q is not KEY=VALUE (dir=, label= or recipe=)", opt)
			case k == "dir":
				d, ok := map[string]sim.Dir{"north": sim.North, "east": sim.East, "south": sim.South, "west": sim.West}[strings.ToLower(v)]
				if !ok {
					return bad("direction %q is not north, east, south or west", v)
				}
				b.Dir = d
			case k == "label":
				if err := sim.CheckLabel(v); err != nil {
					return bad("%v", err)
				}
				b.Label = v
			case k == "recipe":
				b.Recipe = v
			default:
				return bad("unknown setting %q (dir=, label= or recipe=)", k)
			}
		}
	}
	x, y, err := parseTile(args[0])
	if err != nil {
		return bad("%v", err)
	}
	if verb == "walk" {
		st.Action.X, st.Action.Y = x*sim.TileUnits+sim.TileUnits/2, y*sim.TileUnits+sim.TileUnits/2
		return st, nil
	}
	if verb == "build" {
		st.Action.Build.X, st.Action.Build.Y = x, y
	} else {
		st.Action.X, st.Action.Y = x, y
	}
	st.At = &[2]int32{x, y}
	return st, nil
}

func usageOf(verb string) string {
	for _, u := range scriptUsage {
		if strings.HasPrefix(u[0], verb+" ") {
			return "\"" + u[0] + "\""
		}
	}
	return verb
}

func parseTile(s string) (int32, int32, error) {
	xs, ys, ok := strings.Cut(s, ",")
	x, err1 := strconv.ParseInt(xs, 10, 32)
	y, err2 := strconv.ParseInt(ys, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		if errors.Is(err1, strconv.ErrRange) || errors.Is(err2, strconv.ErrRange) {
			return 0, 0, outsideMap(s)
		}
		return 0, 0, fmt.Errorf("tile %q is not X,Y (whole numbers, e.g. 0,2)", s)
	}
	if !sim.TileOnMap(x, y) {
		return 0, 0, outsideMap(s)
	}
	return int32(x), int32(y), nil
}

func outsideMap(tile string) error {
	return fmt.Errorf("tile %s is outside the map (%s)", tile, sim.MapExtent)
}

// Outcome is what became of one step: the stable shape of `starlane act --json`.
type Outcome struct {
	Step   string `json:"step"`
	OK     bool   `json:"ok"`
	Tick   uint64 `json:"tick"`
	Entity uint32 `json:"entity,omitempty"`
	// Count is how many items an insert or take moved, which can be fewer than
	// the step asked for; Asked is how many it asked for.
	Count int32 `json:"count,omitempty"`
	Asked int32 `json:"asked,omitempty"`
	// Moved says what an insert or take moved, in words: "took 12 iron-plate
	// (asked for 50; the wooden-chest held 12)".
	Moved string `json:"moved,omitempty"`
	Error string `json:"error,omitempty"`
}

// movedText says what an applied insert or take moved, and why it was fewer
// items than asked for when it was.
func movedText(a sim.Action, r sim.Result) string {
	s := fmt.Sprintf("took %d %s", r.Count, a.Name)
	if a.Kind == sim.ActInsert {
		s = fmt.Sprintf("put %d %s in", r.Count, a.Name)
	}
	if r.Count < a.Count {
		s += fmt.Sprintf(" (asked for %d; %s)", a.Count, r.Short)
	}
	return s
}

// RefusedError is returned by RunScript when the surface refused a step.
type RefusedError struct{ Outcome Outcome }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%q was refused at tick %d: %s", e.Outcome.Step, e.Outcome.Tick, e.Outcome.Error)
}

const (
	// approach is how close the character walks to a tile it works on, in tile
	// units (the game's reach is 10 tiles).
	approach = 8 * sim.TileUnits
	// stride is the longest walk step the script takes (the limit is 10 tiles).
	stride = 9 * sim.TileUnits
	// retryAfter is how many ticks a step may go without an outcome before it is
	// sent again: a node that is busy drops an action rather than queue it, and
	// a dropped action has no outcome, so sending it again cannot apply it twice.
	retryAfter = 180
	maxTries   = 3
	// maxWalkTiles is the farthest a step walks the character: a walk is a round
	// trip to the surface every 9 tiles, so 1,000 tiles take some 20 s.
	maxWalkTiles = 1_000
)

// RunScript runs steps in order on a joined client, one at a time: each is sent
// once the client has caught up with the surface, after walking within reach of
// its tile, and the next waits for its outcome. It stops at the first refusal
// (a *RefusedError) and calls progress after every step.
func RunScript(ctx context.Context, c *Client, steps []Step, progress func(Outcome)) ([]Outcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		out      []Outcome
		refused  error
		i        int
		pending  *sim.Action // the action sent and awaiting its outcome
		final    bool        // pending is the step itself, not a walk toward its tile
		sentAt   uint64
		tries    int
		lastSeen uint64
		// refusedSeen is the client's count of refused actions when the
		// pending one was sent: a refusal after it is the pending action's (one
		// is in flight at a time), which is then sent again at once.
		refusedSeen int
		// after is the primary's newest executed tick when the pending action was
		// sent: the action lands in a later tick, so results of this player in
		// ticks up to it are an earlier session's (a script run just before under
		// the same name), never this action's.
		after uint64
		// joinedAt is the primary's newest executed tick when the first tick
		// arrived: nothing is sent before the view has replayed up to it, so the
		// character's position is its own, not one from before an earlier
		// session's last walk.
		joinedAt uint64
	)
	send := func(a sim.Action, isStep bool, t uint64) {
		pending, final, sentAt = &a, isStep, t
		after = max(c.ServerTick(), t)
		refusedSeen = c.Refused()
		if err := c.Act(a); err != nil {
			refused = fmt.Errorf("send %q: %w", steps[i].Text, err)
			cancel()
		}
	}
	err := c.Run(ctx, func(t uint64) {
		if refused != nil {
			return // the run ended; a tick or two may arrive before Run sees it
		}
		s := c.Sim
		me := c.Player()
		fresh := t > lastSeen
		lastSeen = max(lastSeen, t)
		if joinedAt == 0 {
			joinedAt = max(c.ServerTick(), 1)
		}
		if pending != nil && fresh && t > after {
			for _, res := range s.LastResults() {
				if res.Player != me || res.Kind != pending.Kind {
					continue
				}
				wasFinal := final
				pending, tries = nil, 0
				if !wasFinal && res.Err == "" {
					break // a walk toward the step's tile: go on with the step
				}
				o := Outcome{Step: steps[i].Text, OK: res.Err == "", Tick: t, Entity: uint32(res.Entity), Error: res.Err}
				if a := steps[i].Action; o.OK && (a.Kind == sim.ActInsert || a.Kind == sim.ActTake) {
					o.Count, o.Asked, o.Moved = res.Count, a.Count, movedText(a, res)
				}
				out = append(out, o)
				if progress != nil {
					progress(o)
				}
				if !o.OK {
					refused = &RefusedError{Outcome: o}
					cancel()
					return
				}
				i++
				break
			}
		}
		if i == len(steps) {
			cancel()
			return
		}
		if pending != nil {
			if c.Refused() > refusedSeen {
				// The node answered it will never run it (the surface was frozen
				// to move or to stop, or its queue was full): not applied, so
				// sending it again cannot apply it twice.
				if tries++; tries >= maxTries {
					refused = fmt.Errorf("%q was refused %d times by the node; see the events above", steps[i].Text, maxTries)
					cancel()
					return
				}
				send(*pending, final, t)
				return
			}
			if t-sentAt > retryAfter {
				if tries++; tries >= maxTries {
					refused = fmt.Errorf("%q had no outcome after %d tries of %d ticks each; the surface may be overloaded", steps[i].Text, maxTries, retryAfter)
					cancel()
					return
				}
				send(*pending, final, t)
			}
			return
		}
		if c.ServerTick() > t+30 || t < joinedAt {
			return // still replaying the log: our view is too old to act on
		}
		p, ok := s.Player(me)
		if !ok {
			return // our join is not applied yet
		}
		st := steps[i]
		target, walks := st.Action, st.Action.Kind == sim.ActMove
		if st.At != nil {
			target, walks = sim.Action{X: (*st.At)[0]*sim.TileUnits + sim.TileUnits/2, Y: (*st.At)[1]*sim.TileUnits + sim.TileUnits/2}, true
		}
		if d := dist(p.Pos, sim.Vec{X: target.X, Y: target.Y}) / sim.TileUnits; walks && d > maxWalkTiles+approach/sim.TileUnits {
			o := Outcome{Step: st.Text, Tick: t, Error: fmt.Sprintf("the tile is %.0f tiles from the character (at %d,%d); a step walks at most %d tiles: walk there in several steps",
				d, tileOf(p.Pos.X), tileOf(p.Pos.Y), maxWalkTiles)}
			out = append(out, o)
			if progress != nil {
				progress(o)
			}
			refused = &RefusedError{Outcome: o}
			cancel()
			return
		}
		if st.At != nil {
			if to, far := toward(p.Pos, *st.At); far {
				send(sim.Action{Kind: sim.ActMove, X: to.X, Y: to.Y}, false, t)
				return
			}
		}
		if st.Action.Kind == sim.ActMove {
			to, _ := stepTo(p.Pos, sim.Vec{X: st.Action.X, Y: st.Action.Y}, 0)
			send(sim.Action{Kind: sim.ActMove, X: to.X, Y: to.Y}, to == sim.Vec{X: st.Action.X, Y: st.Action.Y}, t)
			return
		}
		send(st.Action, true, t)
	})
	if refused != nil {
		return out, refused
	}
	if i < len(steps) {
		if err == nil || errors.Is(err, context.Canceled) {
			err = ctx.Err()
		}
		return out, fmt.Errorf("stopped before %q: %w", steps[i].Text, err)
	}
	return out, nil
}

// dist is the distance between two positions, in tile units.
func dist(a, b sim.Vec) float64 {
	return math.Hypot(float64(a.X)-float64(b.X), float64(a.Y)-float64(b.Y))
}

// toward returns where to walk next to get within reach of a tile's centre, and
// whether the character is still too far from it.
func toward(pos sim.Vec, tile [2]int32) (sim.Vec, bool) {
	centre := sim.Vec{X: tile[0]*sim.TileUnits + sim.TileUnits/2, Y: tile[1]*sim.TileUnits + sim.TileUnits/2}
	return stepTo(pos, centre, approach)
}

// stepTo returns the next walk step from pos toward target, stopping within
// `within` of it, and whether pos is farther than that.
func stepTo(pos, target sim.Vec, within int32) (sim.Vec, bool) {
	dx, dy := float64(target.X-pos.X), float64(target.Y-pos.Y)
	d := math.Hypot(dx, dy)
	if d <= float64(within) {
		return pos, false
	}
	walk := math.Min(float64(stride), d-float64(within)+sim.TileUnits/4)
	if walk >= d {
		return target, true
	}
	return sim.Vec{X: pos.X + int32(dx*walk/d), Y: pos.Y + int32(dy*walk/d)}, true
}
