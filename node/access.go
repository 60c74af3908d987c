package node

import (
	"crypto/ed25519"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/ticket"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// gate admits players: once the controllers sent the cluster's ticket key, a
// player joins only with a valid ticket, as the ticket's player, not while
// banned, and (whitelist on) only whitelisted or admin. A ban, or a removal from
// the whitelist, that arrives later closes the player's sessions at once.
type gate struct {
	now func() time.Time

	mu     sync.Mutex
	pub    ed25519.PublicKey
	banned map[string]bool
	// held are bans made on this node's console, kept until the controllers'
	// list has them (or for heldBanFor): the session is closed at once, and the
	// player must not get back in before the ban has come round.
	held        map[string]time.Time
	admins      map[string]bool
	whitelist   bool
	whitelisted map[string]bool
	sessions    map[string][]session // player -> its sessions on this node
}

type session struct {
	surface string
	// admin is the ticket's claim; it counts while the player is an admin.
	admin bool
	kick  chan error
	// chat takes the chat lines for the session, in log order.
	chat chan *pb.ChatMessage
}

func newGate(now func() time.Time) *gate {
	return &gate{now: now, banned: map[string]bool{}, held: map[string]time.Time{}, admins: map[string]bool{}, whitelisted: map[string]bool{}, sessions: map[string][]session{}}
}

// update takes the access part of an assignments update and closes the
// sessions of players banned, or no longer let in by the whitelist, since the
// last one.
func (g *gate) update(pa *pb.PlayerAccess) {
	if pa == nil || g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(pa.TicketPublicKey) == ed25519.PublicKeySize {
		g.pub = slices.Clone(pa.TicketPublicKey)
	}
	banned := map[string]bool{}
	for _, n := range pa.Banned {
		banned[n] = true
		if !g.banned[n] {
			g.kickLocked(n, status.Errorf(codes.PermissionDenied, "player %s was banned", n))
		}
	}
	for n, until := range g.held {
		switch {
		case banned[n], g.now().After(until):
			delete(g.held, n)
		default:
			banned[n] = true
		}
	}
	g.banned = banned
	wasWhitelist, wasListed := g.whitelist, g.whitelisted
	g.admins, g.whitelisted = set(pa.Admins), set(pa.Whitelisted)
	g.whitelist = pa.Whitelist
	if !g.whitelist {
		return
	}
	for n := range g.sessions {
		if banned[n] || g.whitelisted[n] || g.admins[n] {
			continue
		}
		msg := "the whitelist is on and player %s is not on it"
		if wasWhitelist && wasListed[n] {
			msg = "player %s was removed from the whitelist"
		}
		g.kickLocked(n, status.Errorf(codes.PermissionDenied, msg, n))
	}
}

func set(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// isAdmin reports whether player may use the admin commands: its session's
// ticket said so and the player is still an admin.
func (g *gate) isAdmin(player string) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.admins[player] {
		return false
	}
	for _, se := range g.sessions[player] {
		if se.admin {
			return true
		}
	}
	return false
}

// heldBanFor is how long a ban made on this node's console holds here without
// the controllers' list: it is recorded there within seconds, or failed.
const heldBanFor = 30 * time.Second

// ban bans player on this node at once (until the controllers' list has it) and
// closes its sessions with err; it reports how many. unban lifts a held ban.
func (g *gate) ban(player string, err error) int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.banned[player] = true
	g.held[player] = g.now().Add(heldBanFor)
	return g.kickLocked(player, err)
}

func (g *gate) unban(player string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.held[player]; ok {
		delete(g.banned, player) // banned here only: the controllers' list decides
		delete(g.held, player)
	}
}

// kick closes every session of player with err; it reports how many.
func (g *gate) kick(player string, err error) int {
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.kickLocked(player, err)
}

func (g *gate) kickLocked(player string, err error) int {
	n := 0
	for _, se := range g.sessions[player] {
		select {
		case se.kick <- err:
			n++
		default:
		}
	}
	return n
}

// admit checks a Hello and returns the name the player plays as and whether its
// ticket makes it an admin.
func (g *gate) admit(h *pb.Hello) (string, bool, error) {
	if g == nil { // a node built without New (tests of its parts)
		return h.PlayerName, false, nil
	}
	g.mu.Lock()
	pub := g.pub
	g.mu.Unlock()
	name, admin := h.PlayerName, false
	if pub != nil {
		c, err := ticket.Verify(pub, h.Ticket, g.now())
		if err != nil {
			return "", false, status.Error(codes.Unauthenticated, err.Error())
		}
		if name != "" && name != c.Player {
			return "", false, status.Errorf(codes.PermissionDenied, "the ticket is for player %s, not %s", c.Player, name)
		}
		name, admin = c.Player, c.Admin
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.banned[name] {
		return "", false, status.Errorf(codes.PermissionDenied, "player %s is banned", name)
	}
	if g.whitelist && !g.whitelisted[name] && !g.admins[name] {
		return "", false, status.Errorf(codes.PermissionDenied, "player %s is not on the whitelist", name)
	}
	return name, admin, nil
}

// track registers a session's kick channel; the returned function unregisters it.
func (g *gate) track(player, surface string, admin bool, kick chan error, chat chan *pb.ChatMessage) func() {
	if g == nil {
		return func() {}
	}
	g.mu.Lock()
	g.sessions[player] = append(g.sessions[player], session{surface: surface, admin: admin, kick: kick, chat: chat})
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		list := slices.DeleteFunc(g.sessions[player], func(s session) bool { return s.kick == kick })
		if len(list) == 0 {
			delete(g.sessions, player)
		} else {
			g.sessions[player] = list
		}
	}
}

type surfacePlayers struct {
	surface string
	players []string
}

// players returns the connected players by surface, sorted; an admin's name
// is followed by " (admin)".
func (g *gate) players() []surfacePlayers {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	by := map[string][]string{}
	for name, list := range g.sessions {
		for _, s := range list {
			shown := name
			if s.admin && g.admins[name] {
				shown += " (admin)"
			}
			by[s.surface] = append(by[s.surface], shown)
		}
	}
	g.mu.Unlock()
	var out []surfacePlayers
	for sf, names := range by {
		slices.Sort(names)
		out = append(out, surfacePlayers{sf, slices.Compact(names)})
	}
	slices.SortFunc(out, func(a, b surfacePlayers) int { return strings.Compare(a.surface, b.surface) })
	return out
}

// chatQueue is how many chat lines a session may have waiting; a session that
// falls further behind is closed rather than silently skipped.
const chatQueue = 256

// deliver hands a chat line to every session it is for: all of them for a
// global line, the surface's otherwise. The lines arrive in log order and each
// session's queue keeps it.
func (g *gate) deliver(m *pb.ChatMessage) {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, list := range g.sessions {
		for _, se := range list {
			if !m.Global && se.surface != m.Surface {
				continue
			}
			select {
			case se.chat <- m:
			default:
				select {
				case se.kick <- status.Error(codes.ResourceExhausted, "the session fell too far behind the chat; join again"):
				default:
				}
			}
		}
	}
}
