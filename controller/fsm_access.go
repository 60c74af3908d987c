package controller

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/starlane/starlane/internal/authz"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// maxChat is how many chat messages the FSM keeps (up to twice as many): what a
// node that reconnects can catch up on.
const maxChat = 256

// maxAudit is how many audit entries the FSM keeps at least (up to twice as
// many, trimmed in halves like the events).
const maxAudit = 10_000

// accessState is the replicated access catalog: operator tokens (hashed),
// players, the player settings, the ticket signing key and the audit log.
// Records are immutable once stored, as in state.
type accessState struct {
	tokens       map[string]*pb.OperatorToken // by id
	byHash       map[string]string            // sha256 -> id
	players      map[string]*pb.Player
	settings     *pb.AccessSettings
	ticketSeed   []byte
	audit        []*pb.AuditEntry
	auditDropped uint64
	chat         []*pb.ChatMessage
}

func newAccessState() accessState {
	return accessState{tokens: map[string]*pb.OperatorToken{}, byHash: map[string]string{}, players: map[string]*pb.Player{},
		settings: &pb.AccessSettings{}}
}

func (a accessState) clone() accessState {
	c := a
	c.tokens, c.byHash, c.players = maps.Clone(a.tokens), maps.Clone(a.byHash), maps.Clone(a.players)
	c.audit = slices.Clone(a.audit)
	c.chat = slices.Clone(a.chat)
	return c
}

func (a accessState) toProto() *pb.AccessState {
	out := &pb.AccessState{Settings: a.settings, TicketKeySeed: a.ticketSeed, Audit: slices.Clone(a.audit), AuditDropped: a.auditDropped,
		Chat: slices.Clone(a.chat)}
	for _, id := range sortedKeys(a.tokens) {
		out.Tokens = append(out.Tokens, a.tokens[id])
	}
	for _, n := range sortedKeys(a.players) {
		out.Players = append(out.Players, a.players[n])
	}
	return out
}

func accessFromProto(p *pb.AccessState) accessState {
	a := newAccessState()
	if p == nil {
		return a
	}
	for _, t := range p.Tokens {
		a.tokens[t.Id], a.byHash[t.Sha256] = t, t.Id
	}
	for _, pl := range p.Players {
		a.players[pl.Name] = pl
	}
	if p.Settings != nil {
		a.settings = p.Settings
	}
	a.ticketSeed, a.audit, a.auditDropped, a.chat = p.TicketKeySeed, p.Audit, p.AuditDropped, p.Chat
	return a
}

// record appends an audit entry for a command an operator asked for.
func (a *accessState) record(index uint64, unixMS int64, actor *pb.Actor, code codes.Code, msg string) {
	a.audit = append(a.audit, &pb.AuditEntry{Index: index, UnixMs: unixMS, Who: actor.Name, TokenId: actor.TokenId, Role: actor.Role,
		Method: actor.Method, What: actor.What, Code: uint32(code), Message: msg})
	if len(a.audit) >= 2*maxAudit {
		drop := len(a.audit) - maxAudit
		a.auditDropped += uint64(drop)
		a.audit = slices.Clone(a.audit[drop:])
	}
}

// hasBootstrapToken reports whether the first admin token was installed.
func (a *accessState) hasBootstrapToken() bool {
	for _, t := range a.tokens {
		if t.CreatedBy == "bootstrap" {
			return true
		}
	}
	return false
}

// bootstrapInstalled reports whether the first admin token was installed.
func (f *FSM) bootstrapInstalled() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.access.hasBootstrapToken()
}

// usableAdmins counts admin tokens that are not revoked and do not expire
// before now.
// lastingAdmins counts the admin tokens other than except that are neither
// revoked nor ever expire.
func (a *accessState) lastingAdmins(except string) int {
	n := 0
	for id, t := range a.tokens {
		if id != except && t.Role == authz.OpAdmin.String() && !t.Revoked && t.ExpiresUnixMs == 0 {
			n++
		}
	}
	return n
}

func (a *accessState) usableAdmins(now int64, except string) int {
	n := 0
	for id, t := range a.tokens {
		if id != except && t.Role == authz.OpAdmin.String() && !t.Revoked && (t.ExpiresUnixMs == 0 || t.ExpiresUnixMs > now) {
			n++
		}
	}
	return n
}

// ticketKey returns the ticket signing key, or nil before the leader installed it.
func (a *accessState) ticketKey() ed25519.PrivateKey {
	if len(a.ticketSeed) != ed25519.SeedSize {
		return nil
	}
	return ed25519.NewKeyFromSeed(a.ticketSeed)
}

func (s *state) applyAccess(index uint64, now int64, cmd *pb.AccessCmd) (codes.Code, string) {
	a := &s.access
	switch op := cmd.GetOp().(type) {
	case *pb.AccessCmd_CreateToken:
		t := op.CreateToken.GetToken()
		if t == nil || len(t.Sha256) != 64 || t.Id != authz.TokenID(t.Sha256) {
			return fail(codes.InvalidArgument, "token needs its sha256 and the id derived from it")
		}
		if _, err := authz.ParseOpRole(t.Role); err != nil {
			return fail(codes.InvalidArgument, "%v", err)
		}
		if op.CreateToken.OnlyIfNone && a.hasBootstrapToken() {
			return codes.OK, ""
		}
		if a.tokens[t.Id] != nil {
			return fail(codes.AlreadyExists, "token %s already exists", t.Id)
		}
		nt := proto.Clone(t).(*pb.OperatorToken)
		nt.CreatedUnixMs, nt.Revoked, nt.RevokedUnixMs = now, false, 0
		a.tokens[nt.Id], a.byHash[nt.Sha256] = nt, nt.Id
		s.event(index, now, "access.token_created", nt.Id, fmt.Sprintf("operator token %s (%s) created with role %s", nt.Name, nt.Id, nt.Role))

	case *pb.AccessCmd_RevokeToken:
		id := op.RevokeToken.Id
		old := a.tokens[id]
		if old == nil {
			return fail(codes.NotFound, "no operator token %s; `starlane token list` shows the ids", id)
		}
		if old.Revoked {
			// Like a delete of what is gone: said, not passed off as done (the
			// CLI's --ignore-revoked accepts it). A retry of the revoke that did
			// it gets that revoke's result from the request ID, not this.
			return fail(codes.FailedPrecondition, "token %s (%s) was already revoked at %s; nothing changed",
				id, old.Name, time.UnixMilli(old.RevokedUnixMs).UTC().Format("2006-01-02 15:04:05 UTC"))
		}
		if old.Role == authz.OpAdmin.String() && a.usableAdmins(now, id) == 0 {
			return fail(codes.FailedPrecondition, "token %s is the last usable admin token; create another admin token first", id)
		}
		t := proto.Clone(old).(*pb.OperatorToken)
		t.Revoked, t.RevokedUnixMs = true, now
		a.tokens[id] = t
		s.event(index, now, "access.token_revoked", id, fmt.Sprintf("operator token %s (%s) revoked", t.Name, id))

	case *pb.AccessCmd_PutPlayer:
		p := op.PutPlayer.GetPlayer()
		if p == nil || !nameRE.MatchString(p.Name) {
			return fail(codes.InvalidArgument, "player name %q: use 1-63 lowercase letters, digits, '.', '_' or '-'", p.GetName())
		}
		if a.players[p.Name] != nil {
			return fail(codes.AlreadyExists, "player %s already exists", p.Name)
		}
		np := proto.Clone(p).(*pb.Player)
		np.CreatedUnixMs = now
		a.players[np.Name] = np
		s.event(index, now, "access.player_created", np.Name, "player "+np.Name+" registered")

	case *pb.AccessCmd_SetPlayer:
		c := op.SetPlayer
		old := a.players[c.Name]
		if old == nil {
			return fail(codes.NotFound, "no player %s; `starlane player create %s` registers one", c.Name, c.Name)
		}
		p := proto.Clone(old).(*pb.Player)
		if c.Admin != nil {
			p.Admin = *c.Admin
		}
		if c.Whitelisted != nil {
			p.Whitelisted = *c.Whitelisted
		}
		if c.Banned != nil {
			p.Banned = *c.Banned
			p.BanReason = ""
			if p.Banned {
				p.BanReason = c.BanReason
			}
		}
		if proto.Equal(p, old) {
			if c.Banned != nil && !*c.Banned {
				// An unban of a player who is not banned is said, like a
				// revoke of a revoked token (the CLI's --ignore-not-banned
				// accepts it).
				return fail(codes.FailedPrecondition, "player %s is not banned; nothing changed", c.Name)
			}
			return codes.OK, ""
		}
		a.players[c.Name] = p
		s.event(index, now, "access.player_changed", c.Name, fmt.Sprintf("player %s: admin %t, banned %t, whitelisted %t", c.Name, p.Admin, p.Banned, p.Whitelisted))

	case *pb.AccessCmd_SetSettings:
		st := op.SetSettings.GetSettings()
		if st == nil {
			return fail(codes.InvalidArgument, "settings are required")
		}
		a.settings = proto.Clone(st).(*pb.AccessSettings)
		s.event(index, now, "access.settings", "", fmt.Sprintf("players: self-registration %t, whitelist %t", st.SelfRegister, st.Whitelist))

	case *pb.AccessCmd_SetTicketKey:
		k := op.SetTicketKey
		if len(k.Seed) != ed25519.SeedSize {
			return fail(codes.InvalidArgument, "ticket key seed must be %d bytes", ed25519.SeedSize)
		}
		if k.OnlyIfUnset && a.ticketSeed != nil {
			return codes.OK, ""
		}
		a.ticketSeed = slices.Clone(k.Seed)
		s.event(index, now, "access.ticket_key", "", "player ticket key installed")

	case *pb.AccessCmd_Chat:
		m := op.Chat
		if m.Text == "" || m.Player == "" {
			return fail(codes.InvalidArgument, "a chat message needs a player and a text")
		}
		if !m.Global && m.Surface == "" {
			return fail(codes.InvalidArgument, "a chat message goes to a surface or is global")
		}
		nm := proto.Clone(m).(*pb.ChatMessage)
		nm.Index, nm.UnixMs = index, now
		a.chat = append(a.chat, nm)
		if len(a.chat) >= 2*maxChat {
			a.chat = slices.Clone(a.chat[len(a.chat)-maxChat:])
		}

	default:
		return fail(codes.Unimplemented, "access command at index %d is unknown to this controller version; upgrade it", index)
	}
	return codes.OK, ""
}

// The FSM is the token store of the controller's authz.Tokens.
var _ authz.TokenStore = (*FSM)(nil)

// LookupToken finds an operator token by the sha256 of its secret.
func (f *FSM) LookupToken(hash string) (authz.TokenRecord, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	id, ok := f.st.access.byHash[hash]
	if !ok {
		if seed := f.st.access.ticketSeed; seed != nil && hash == authz.HashToken(internalToken(seed)) {
			return authz.TokenRecord{ID: "internal", Name: "controllers' own read access", Role: authz.OpRead}, true
		}
		return authz.TokenRecord{}, false
	}
	t := f.st.access.tokens[id]
	role, _ := authz.ParseOpRole(t.Role)
	return authz.TokenRecord{ID: t.Id, Name: t.Name, Role: role, ExpiresUnixMS: t.ExpiresUnixMs, Revoked: t.Revoked}, true
}

// TokensEnforced reports whether the cluster ever had an operator token.
func (f *FSM) TokensEnforced() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.st.access.tokens) > 0
}

// JoinTokenMatches reports whether s is the node join token.
func (f *FSM) JoinTokenMatches(s string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return s != "" && authz.ConstantTimeEqual(s, f.st.joinToken)
}

// playerAccess is what nodes get on their assignments stream.
func (a *accessState) playerAccess() *pb.PlayerAccess {
	out := &pb.PlayerAccess{}
	if k := a.ticketKey(); k != nil {
		out.TicketPublicKey = k.Public().(ed25519.PublicKey)
	}
	out.Whitelist = a.settings.GetWhitelist()
	for _, n := range sortedKeys(a.players) {
		p := a.players[n]
		if p.Banned {
			out.Banned = append(out.Banned, n)
		}
		if p.Admin {
			out.Admins = append(out.Admins, n)
		}
		if out.Whitelist && p.Whitelisted {
			out.Whitelisted = append(out.Whitelisted, n)
		}
	}
	return out
}

func ed25519Key(seed []byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(seed) }

// internalToken is a read token every controller derives from the replicated
// ticket seed and nobody else knows: the controllers' own front ends (the web
// dashboard) read the API with it, on any controller.
func internalToken(seed []byte) string {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte("starlane internal read token"))
	return authz.TokenPrefix + hex.EncodeToString(m.Sum(nil))
}

// InternalReadToken returns the controllers' internal read token ("" until the
// first leader installed the ticket key).
func (f *FSM) InternalReadToken() string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.st.access.ticketSeed == nil {
		return ""
	}
	return internalToken(f.st.access.ticketSeed)
}
