package player

import (
	"hash/fnv"
	"math/rand/v2"

	"github.com/starlane/starlane/sim"
)

// Bot drives a client with random but valid actions: it walks about, builds what
// it carries on free tiles in reach, and mines or rotates what it built. Every
// action is checked against the local simulation first, so most are applied; the
// rest lost a race with another player between the check and the tick.
type Bot struct {
	c     *Client
	r     *rand.Rand
	every uint64
	mine  []sim.EntityID
	last  uint64 // newest tick counted; a resync replays older ones
	// since is the primary's newest executed tick when the bot first looked: its
	// actions land after it, so results of its player up to it are an earlier
	// run's under the same name.
	since uint64
	// Applied and Rejected count this bot's actions by outcome (the joins the
	// client sends for it are not its actions).
	Applied, Rejected int
}

var botBuildable = []string{"wooden-chest", "iron-chest", "transport-belt", "inserter", "small-electric-pole", "stone-furnace", "solar-panel"}

// NewBot makes a bot that acts about once every `every` ticks.
func NewBot(c *Client, every uint64) *Bot {
	h := fnv.New64a()
	h.Write([]byte(c.opts.Name))
	return &Bot{c: c, r: rand.New(rand.NewPCG(h.Sum64(), 7)), every: max(every, 1)}
}

// OnTick is the callback for Client.Run.
func (b *Bot) OnTick(t uint64) {
	s := b.c.Sim
	me := b.c.Player()
	fresh := t > b.last
	b.last = max(b.last, t)
	if b.since == 0 {
		b.since = max(b.c.ServerTick(), 1)
	}
	for _, res := range s.LastResults() {
		if res.Player != me || !fresh || t <= b.since || !botActs(res.Kind) {
			continue
		}
		if res.Err != "" {
			b.Rejected++
			continue
		}
		b.Applied++
		switch res.Kind {
		case sim.ActBuild:
			b.mine = append(b.mine, res.Entity)
		case sim.ActMine:
			for i, id := range b.mine {
				if id == res.Entity {
					b.mine = append(b.mine[:i], b.mine[i+1:]...)
					break
				}
			}
		}
	}
	if b.r.Uint64N(b.every) != 0 || b.c.ServerTick() > t+30 {
		return // not our turn, or still replaying the log: our view is too old to act on
	}
	p, ok := s.Player(me)
	if !ok {
		return // our join is not applied yet
	}
	if a, ok := b.choose(s, p); ok {
		b.c.Act(a)
	}
}

// botActs reports whether the bot sends actions of kind k.
func botActs(k sim.ActionKind) bool {
	switch k {
	case sim.ActMove, sim.ActBuild, sim.ActMine, sim.ActRotate:
		return true
	}
	return false
}

func tileOf(pos int32) int32 {
	if pos < 0 {
		return (pos - sim.TileUnits + 1) / sim.TileUnits
	}
	return pos / sim.TileUnits
}

func (b *Bot) choose(s *sim.Surface, p sim.PlayerInfo) (sim.Action, bool) {
	px, py := tileOf(p.Pos.X), tileOf(p.Pos.Y)
	switch k := b.r.IntN(100); {
	case k < 35:
		if a, ok := b.build(s, p, px, py); ok {
			return a, true
		}
	case k < 50:
		if a, ok := b.onOwn(s, sim.ActMine, px, py); ok {
			return a, true
		}
	case k < 65:
		if a, ok := b.onOwn(s, sim.ActRotate, px, py); ok {
			return a, true
		}
	}
	// Walk, drifting back towards the area around the origin.
	step := func(c int32) int32 {
		d := int32(b.r.IntN(11)) - 5
		if c > 60 {
			d = -4
		} else if c < -60 {
			d = 4
		}
		return (c+d)*sim.TileUnits + sim.TileUnits/2
	}
	return sim.Action{Kind: sim.ActMove, X: step(px), Y: step(py)}, true
}

func (b *Bot) build(s *sim.Surface, p sim.PlayerInfo, px, py int32) (sim.Action, bool) {
	var have []string
	for _, name := range botBuildable {
		if id, ok := s.Bundle().ItemID(name); ok && countOf(p.Inventory, id) > 0 {
			have = append(have, name)
		}
	}
	if len(have) == 0 {
		return sim.Action{}, false
	}
	for try := 0; try < 6; try++ {
		sp := sim.BuildSpec{Name: have[b.r.IntN(len(have))], X: px + int32(b.r.IntN(13)) - 6, Y: py + int32(b.r.IntN(13)) - 6,
			Dir: sim.Dir(b.r.IntN(4) * 4)}
		if s.CheckBuild(p.ID, sp) == nil {
			return sim.Action{Kind: sim.ActBuild, Build: sp}, true
		}
	}
	return sim.Action{}, false
}

func (b *Bot) onOwn(s *sim.Surface, kind sim.ActionKind, px, py int32) (sim.Action, bool) {
	if len(b.mine) == 0 {
		return sim.Action{}, false
	}
	for try := 0; try < 4; try++ {
		id := b.mine[b.r.IntN(len(b.mine))]
		e, ok := s.Entity(id)
		if !ok || !s.InReach(b.c.Player(), e.X, e.Y) {
			continue
		}
		if kind == sim.ActRotate && e.Kind != sim.KindBelt && e.Kind != sim.KindInserter {
			continue
		}
		return sim.Action{Kind: kind, X: e.X, Y: e.Y}, true
	}
	return sim.Action{}, false
}

func countOf(inv []sim.Stack, id sim.ItemID) int32 {
	var n int32
	for _, st := range inv {
		if st.Item == id {
			n += st.Count
		}
	}
	return n
}
