package player

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gdamore/tcell/v2"

	"github.com/starlane/starlane/sim"
)

// The terminal client of `starlane play`: the map around the character, walking,
// building from the inventory, mining and rotating, with tick, UPS and ping.
// The simulation is only touched from Run's callback; the UI goroutine gets
// finished frames and sends back intents.

// frame is what the UI draws: a grid of cells around the character and a status.
type frame struct {
	w, h   int
	cells  []cell
	status []string
}

type cell struct {
	r     rune
	style tcell.Style
}

type intent struct {
	kind  sim.ActionKind
	dx    int32
	dy    int32
	cycle int
}

// tuiState lives on the callback goroutine.
type tuiState struct {
	c        *Client
	selected int
	facing   [2]int32
	msg      string
	ticks    int
	upsAt    time.Time
	ups      float64
	// prompt is the chat line being typed (shown while typing).
	promptMu sync.Mutex
	prompt   *string
}

var playBuildable = []string{"transport-belt", "inserter", "wooden-chest", "iron-chest", "stone-furnace", "burner-mining-drill",
	"electric-mining-drill", "assembling-machine-1", "small-electric-pole", "solar-panel", "lab", "underground-belt", "splitter"}

// RunTUI runs the terminal client on screen until the player quits (q, Esc or
// Ctrl-C) or ctx ends.
func RunTUI(ctx context.Context, c *Client, screen tcell.Screen) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	frames := make(chan *frame, 1)
	intents := make(chan intent, 64)
	st := &tuiState{c: c, facing: [2]int32{1, 0}, upsAt: time.Now(), msg: "arrows/WASD walk, [ ] pick item, b build, m mine, r rotate, t chat, q quit"}
	runErr := make(chan error, 1)
	go func() {
		lastPing := time.Time{}
		runErr <- c.Run(ctx, func(t uint64) {
			st.observe()
			for {
				select {
				case in := <-intents:
					st.do(in)
					continue
				default:
				}
				break
			}
			if time.Since(lastPing) > time.Second {
				c.Ping()
				lastPing = time.Now()
			}
			if t%3 == 0 || c.ServerTick() <= t+1 {
				w, h := screen.Size()
				f := st.render(w, h)
				select {
				case <-frames:
				default:
				}
				frames <- f
			}
		})
	}()
	events := make(chan tcell.Event, 16)
	go func() {
		for {
			ev := screen.PollEvent()
			if ev == nil {
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case err := <-runErr:
			return err
		case f := <-frames:
			draw(screen, f)
		case ev := <-events:
			switch ev := ev.(type) {
			case *tcell.EventResize:
				screen.Sync()
			case *tcell.EventKey:
				if st.typing(ev) {
					continue
				}
				in, quit := keyIntent(ev)
				if quit {
					return nil
				}
				if in != nil {
					select {
					case intents <- *in:
					default:
					}
				}
			}
		}
	}
}

func keyIntent(ev *tcell.EventKey) (*intent, bool) {
	switch ev.Key() {
	case tcell.KeyEscape, tcell.KeyCtrlC:
		return nil, true
	case tcell.KeyUp:
		return &intent{kind: sim.ActMove, dy: -1}, false
	case tcell.KeyDown:
		return &intent{kind: sim.ActMove, dy: 1}, false
	case tcell.KeyLeft:
		return &intent{kind: sim.ActMove, dx: -1}, false
	case tcell.KeyRight:
		return &intent{kind: sim.ActMove, dx: 1}, false
	}
	switch ev.Rune() {
	case 'q':
		return nil, true
	case 'w':
		return &intent{kind: sim.ActMove, dy: -1}, false
	case 's':
		return &intent{kind: sim.ActMove, dy: 1}, false
	case 'a':
		return &intent{kind: sim.ActMove, dx: -1}, false
	case 'd':
		return &intent{kind: sim.ActMove, dx: 1}, false
	case 'b':
		return &intent{kind: sim.ActBuild}, false
	case 'm':
		return &intent{kind: sim.ActMine}, false
	case 'r':
		return &intent{kind: sim.ActRotate}, false
	case '[':
		return &intent{cycle: -1}, false
	case ']':
		return &intent{cycle: 1}, false
	}
	return nil, false
}

func (st *tuiState) observe() {
	st.ticks++
	if el := time.Since(st.upsAt); el >= time.Second {
		st.ups = float64(st.ticks) / el.Seconds()
		st.ticks, st.upsAt = 0, time.Now()
	}
	for _, r := range st.c.Sim.LastResults() {
		if r.Player == st.c.Player() && r.Err != "" {
			st.msg = fmt.Sprintf("%s refused: %s", r.Kind, r.Err)
		} else if r.Player == st.c.Player() && r.Kind != sim.ActMove {
			st.msg = fmt.Sprintf("%s done", r.Kind)
		}
	}
}

func (st *tuiState) do(in intent) {
	s := st.c.Sim
	p, ok := s.Player(st.c.Player())
	if !ok {
		return
	}
	px, py := tileOf(p.Pos.X), tileOf(p.Pos.Y)
	fx, fy := px+st.facing[0], py+st.facing[1]
	switch {
	case in.cycle != 0:
		st.selected = (st.selected + in.cycle + len(playBuildable)) % len(playBuildable)
		st.msg = "selected " + playBuildable[st.selected]
	case in.kind == sim.ActMove:
		st.facing = [2]int32{in.dx, in.dy}
		st.c.Act(sim.Action{Kind: sim.ActMove, X: p.Pos.X + in.dx*sim.TileUnits, Y: p.Pos.Y + in.dy*sim.TileUnits})
	case in.kind == sim.ActBuild:
		dir := sim.East
		switch st.facing {
		case [2]int32{0, -1}:
			dir = sim.North
		case [2]int32{0, 1}:
			dir = sim.South
		case [2]int32{-1, 0}:
			dir = sim.West
		}
		sp := sim.BuildSpec{Name: playBuildable[st.selected], X: fx, Y: fy, Dir: dir}
		if err := s.CheckBuild(st.c.Player(), sp); err != nil {
			st.msg = err.Error()
			return
		}
		st.c.Act(sim.Action{Kind: sim.ActBuild, Build: sp})
	case in.kind == sim.ActMine || in.kind == sim.ActRotate:
		if s.EntityAt(fx, fy) == 0 {
			st.msg = fmt.Sprintf("nothing at %d,%d to %s", fx, fy, in.kind)
			return
		}
		st.c.Act(sim.Action{Kind: in.kind, X: fx, Y: fy})
	}
}

var (
	styleDefault = tcell.StyleDefault
	styleStatus  = tcell.StyleDefault.Reverse(true)
	styleMe      = tcell.StyleDefault.Foreground(tcell.ColorYellow).Bold(true)
	styleOther   = tcell.StyleDefault.Foreground(tcell.ColorFuchsia).Bold(true)
	styleEntity  = tcell.StyleDefault.Foreground(tcell.ColorWhite)
	styleOre     = map[string]tcell.Style{
		"iron-ore": tcell.StyleDefault.Foreground(tcell.ColorSteelBlue), "copper-ore": tcell.StyleDefault.Foreground(tcell.ColorOrange),
		"coal": tcell.StyleDefault.Foreground(tcell.ColorGray), "stone": tcell.StyleDefault.Foreground(tcell.ColorTan),
	}
)

func entityRune(info sim.EntityInfo) rune {
	switch info.Kind {
	case sim.KindBelt, sim.KindUnderground, sim.KindSplitter:
		switch info.Dir {
		case sim.North:
			return '^'
		case sim.East:
			return '>'
		case sim.South:
			return 'v'
		}
		return '<'
	case sim.KindInserter:
		return 'i'
	case sim.KindAssembler:
		return 'A'
	case sim.KindFurnace:
		return 'F'
	case sim.KindDrill:
		return 'D'
	case sim.KindLab:
		return 'L'
	case sim.KindContainer, sim.KindInfinityChest:
		return 'c'
	case sim.KindPole:
		return '|'
	case sim.KindSolar:
		return 'S'
	case sim.KindAccumulator:
		return 'a'
	case sim.KindBridgeExport:
		return 'E'
	case sim.KindBridgeImport:
		return 'I'
	}
	return '#'
}

// render draws the map around the character and the status lines.
func (st *tuiState) render(w, h int) *frame {
	s := st.c.Sim
	f := &frame{w: w, h: h, cells: make([]cell, max(w*h, 0))}
	chat := st.c.ChatLines(3)
	st.promptMu.Lock()
	if st.prompt != nil {
		chat = append(chat, "say: "+*st.prompt+"_  (Enter sends; start with /shout for every surface; Esc cancels)")
	}
	st.promptMu.Unlock()
	mapH := max(h-3-len(chat), 1)
	p, joined := s.Player(st.c.Player())
	cx, cy := int32(0), int32(0)
	if joined {
		cx, cy = tileOf(p.Pos.X), tileOf(p.Pos.Y)
	}
	x0, y0 := cx-int32(w/2), cy-int32(mapH/2)
	b := s.Bundle()
	for y := 0; y < mapH && y < h; y++ {
		for x := 0; x < w; x++ {
			tx, ty := x0+int32(x), y0+int32(y)
			c := cell{r: ' ', style: styleDefault}
			if id := s.EntityAt(tx, ty); id != 0 {
				if info, ok := s.Entity(id); ok {
					c = cell{r: entityRune(info), style: styleEntity}
				}
			} else if item, amount := s.ResourceAt(tx, ty); item != 0 && amount > 0 {
				c = cell{r: '.', style: styleOre[b.ItemName(item)]}
			}
			f.cells[y*w+x] = c
		}
	}
	put := func(tx, ty int32, r rune, style tcell.Style) {
		x, y := int(tx-x0), int(ty-y0)
		if x >= 0 && x < w && y >= 0 && y < mapH {
			f.cells[y*w+x] = cell{r: r, style: style}
		}
	}
	for _, o := range s.Players() {
		if o.Online && o.ID != st.c.Player() {
			put(tileOf(o.Pos.X), tileOf(o.Pos.Y), 'P', styleOther)
		}
	}
	if joined {
		put(cx, cy, '@', styleMe)
	}
	stats := st.c.Stats()
	item := playBuildable[st.selected]
	have := int32(0)
	if id, ok := b.ItemID(item); ok && joined {
		have = countOf(p.Inventory, id)
	}
	f.status = []string{
		fmt.Sprintf(" %s  tick %d (server %d)  %.1f UPS  ping %d ms  node %s  player %d at %d,%d",
			s.Name(), s.Tick(), stats.ServerTick, st.ups, stats.RTT.Milliseconds(), st.c.NodeName(), st.c.Player(), cx, cy),
		fmt.Sprintf(" build: %s x%d   desyncs %d   %s", item, have, stats.Desyncs, st.msg),
	}
	for i := len(chat) - 1; i >= 0; i-- {
		f.status = append([]string{" " + chat[i]}, f.status...)
	}
	return f
}

func draw(screen tcell.Screen, f *frame) {
	screen.Clear()
	for y := 0; y < f.h; y++ {
		for x := 0; x < f.w; x++ {
			if c := f.cells[y*f.w+x]; c.r != 0 && c.r != ' ' {
				screen.SetContent(x, y, c.r, nil, c.style)
			}
		}
	}
	for i, line := range f.status {
		y := f.h - len(f.status) + i
		if y < 0 {
			continue
		}
		line = strings.TrimRight(line, " ")
		for x := 0; x < f.w; x++ {
			r := ' '
			if x < len(line) {
				r = rune(line[x])
			}
			screen.SetContent(x, y, r, nil, styleStatus)
		}
	}
	screen.Show()
}

// typing handles a key while a chat line is typed ('t' starts one) and reports
// whether it took the key.
func (st *tuiState) typing(ev *tcell.EventKey) bool {
	st.promptMu.Lock()
	defer st.promptMu.Unlock()
	if st.prompt == nil {
		if ev.Key() == tcell.KeyRune && ev.Rune() == 't' {
			empty := ""
			st.prompt = &empty
			return true
		}
		return false
	}
	line := *st.prompt
	switch ev.Key() {
	case tcell.KeyEscape:
		st.prompt = nil
	case tcell.KeyEnter:
		st.prompt = nil
		text, global := strings.CutPrefix(line, "/shout ")
		if text = strings.TrimSpace(text); text != "" {
			go st.c.Chat(text, global)
		}
	case tcell.KeyBackspace, tcell.KeyBackspace2:
		if r := []rune(line); len(r) > 0 {
			line = string(r[:len(r)-1])
		}
		st.prompt = &line
	case tcell.KeyRune:
		if len(line) < 200 && ev.Rune() >= ' ' && ev.Rune() < 0x7f {
			line += string(ev.Rune())
		}
		st.prompt = &line
	}
	return true
}
