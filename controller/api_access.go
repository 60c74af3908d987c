package controller

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/ticket"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// PlayerKeyPrefix starts every player key.
const PlayerKeyPrefix = "slp-"

// maxTokenTTL bounds a token's lifetime as asked (ten years; 0 = no expiry).
const maxTokenTTL = 10 * 365 * 24 * time.Hour

type accessAPI struct {
	pb.UnimplementedAccessServiceServer
	c *Controller
}

func accessCmd(reqID string, op *pb.AccessCmd) *pb.Command {
	return &pb.Command{RequestId: reqID, Op: &pb.Command_Access{Access: op}}
}

// NewSecret returns prefix followed by 32 random bytes in hex.
func NewSecret(prefix string) string {
	return prefix + randomHex(32)
}

func (a *accessAPI) CreateToken(ctx context.Context, req *pb.CreateTokenRequest) (*pb.CreateTokenResponse, error) {
	role, err := authz.ParseOpRole(req.Role)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if req.TtlSeconds < 0 || time.Duration(req.TtlSeconds)*time.Second > maxTokenTTL {
		return nil, status.Errorf(codes.InvalidArgument, "ttl_seconds %d: give 0 (no expiry) up to %d", req.TtlSeconds, int64(maxTokenTTL/time.Second))
	}
	secret := NewSecret(authz.TokenPrefix)
	hash := authz.HashToken(secret)
	t := &pb.OperatorToken{Id: authz.TokenID(hash), Name: req.Name, Role: role.String(), Sha256: hash}
	if cl, ok := authz.CallerFrom(ctx); ok {
		t.CreatedBy = cl.Name
	}
	if req.TtlSeconds > 0 {
		t.ExpiresUnixMs = a.c.now().Add(time.Duration(req.TtlSeconds) * time.Second).UnixMilli()
	}
	res, err := a.c.propose(ctx, accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_CreateToken{CreateToken: &pb.CreateTokenCmd{Token: t}}}))
	if err != nil {
		return nil, err
	}
	// A retry of the same request gets the first outcome; its secret is gone
	// (only its hash was kept), so it reports the token without one.
	out := &pb.CreateTokenResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) {
		if st := s.access.tokens[t.Id]; st != nil {
			out.Token = st
		}
	})
	if out.Token != nil && out.Token.Sha256 == hash {
		out.Secret = secret
	}
	return out, nil
}

func (a *accessAPI) ListTokens(ctx context.Context, _ *pb.ListTokensRequest) (*pb.ListTokensResponse, error) {
	out := &pb.ListTokensResponse{}
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		out.Index = s.index
		for _, id := range sortedKeys(s.access.tokens) {
			t := proto.Clone(s.access.tokens[id]).(*pb.OperatorToken)
			t.Sha256 = "" // nothing to gain from showing it
			out.Tokens = append(out.Tokens, t)
		}
	})
	return out, err
}

func (a *accessAPI) RevokeToken(ctx context.Context, req *pb.RevokeTokenRequest) (*pb.RevokeTokenResponse, error) {
	// Checked here, not in the FSM, so that replaying an older log applies
	// its revokes as they were: an admin token that expires is not the other
	// admin the last lasting one needs, since once it expired no admin would be
	// left and nothing could make one.
	var refuse error
	a.c.fsm.read(func(s *state) {
		if t := s.access.tokens[req.Id]; t != nil && !t.Revoked && t.Role == authz.OpAdmin.String() && t.ExpiresUnixMs == 0 &&
			s.access.lastingAdmins(req.Id) == 0 && s.access.usableAdmins(a.c.now().UnixMilli(), req.Id) > 0 {
			// (With no other usable admin at all the FSM refuses it, in the audit.)
			refuse = status.Errorf(codes.FailedPrecondition, "token %s is the last admin token that does not expire (the others expire); create another admin token without --ttl first", req.Id)
		}
	})
	if refuse != nil {
		return nil, refuse
	}
	res, err := a.c.propose(ctx, accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_RevokeToken{RevokeToken: &pb.RevokeTokenCmd{Id: req.Id}}}))
	if err != nil {
		return nil, err
	}
	return &pb.RevokeTokenResponse{Index: res.Index}, nil
}

func (a *accessAPI) ListAudit(ctx context.Context, req *pb.ListAuditRequest) (*pb.ListAuditResponse, error) {
	out := &pb.ListAuditResponse{}
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		out.Index, out.Dropped = s.index, s.access.auditDropped
		entries := s.access.audit
		if req.Limit > 0 && int(req.Limit) < len(entries) {
			entries = entries[len(entries)-int(req.Limit):]
		}
		out.Entries = append(out.Entries, entries...)
	})
	return out, err
}

func hashKey(k string) string {
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:])
}

func (a *accessAPI) CreatePlayer(ctx context.Context, req *pb.CreatePlayerRequest) (*pb.CreatePlayerResponse, error) {
	key := NewSecret(PlayerKeyPrefix)
	p := &pb.Player{Name: req.Name, Admin: req.Admin, Whitelisted: req.Whitelisted, KeySha256: hashKey(key)}
	res, err := a.c.propose(ctx, accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_PutPlayer{PutPlayer: &pb.PutPlayerCmd{Player: p}}}))
	if err != nil {
		return nil, err
	}
	out := &pb.CreatePlayerResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) { out.Player = s.access.players[req.Name] })
	if out.Player != nil && out.Player.KeySha256 == p.KeySha256 {
		out.Key = key
	}
	return out, nil
}

func (a *accessAPI) ListPlayers(ctx context.Context, req *pb.ListPlayersRequest) (*pb.ListPlayersResponse, error) {
	out := &pb.ListPlayersResponse{}
	var perr error
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) {
		out.Index = s.index
		out.Players, out.NextPageToken, perr = pageOf("players", sortedKeys(s.access.players), func(n string) *pb.Player { return s.access.players[n] },
			req.PageSize, req.PageToken)
	})
	return out, cmp.Or(err, perr)
}

func (a *accessAPI) SetPlayer(ctx context.Context, req *pb.SetPlayerRequest) (*pb.SetPlayerResponse, error) {
	if req.Admin == nil && req.Banned == nil && req.Whitelisted == nil {
		return nil, status.Error(codes.InvalidArgument, "nothing to change: set admin, banned or whitelisted")
	}
	cmd := &pb.SetPlayerCmd{Name: req.Name, Admin: req.Admin, Banned: req.Banned, BanReason: req.BanReason, Whitelisted: req.Whitelisted}
	res, err := a.c.propose(ctx, accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_SetPlayer{SetPlayer: cmd}}))
	if err != nil {
		return nil, err
	}
	out := &pb.SetPlayerResponse{Index: res.Index}
	a.c.fsm.read(func(s *state) { out.Player = s.access.players[req.Name] })
	return out, nil
}

func (a *accessAPI) GetAccessSettings(ctx context.Context, _ *pb.GetAccessSettingsRequest) (*pb.GetAccessSettingsResponse, error) {
	out := &pb.GetAccessSettingsResponse{}
	err := a.c.readLinearizable(ctx, func(s *state, _ map[string]lease) { out.Settings = s.access.settings })
	return out, err
}

func (a *accessAPI) SetAccessSettings(ctx context.Context, req *pb.SetAccessSettingsRequest) (*pb.SetAccessSettingsResponse, error) {
	if req.Settings == nil {
		return nil, status.Error(codes.InvalidArgument, "settings are required")
	}
	res, err := a.c.propose(ctx, accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_SetSettings{SetSettings: &pb.SetAccessSettingsCmd{Settings: req.Settings}}}))
	if err != nil {
		return nil, err
	}
	return &pb.SetAccessSettingsResponse{Index: res.Index}, nil
}

// IssueTicket signs a ticket for a player who proved to be it (its key), or for
// any player when an operator with role operate asks.
func (a *accessAPI) IssueTicket(ctx context.Context, req *pb.IssueTicketRequest) (*pb.IssueTicketResponse, error) {
	c := a.c
	if err := c.linearize(ctx); err != nil {
		return nil, err
	}
	caller, _ := authz.CallerFrom(ctx)
	operator := caller.Role >= authz.OpOperate
	if caller.TokenID != "" && !operator && req.PlayerKey == "" {
		// A token too weak to act for players, and no key: say so, rather than
		// that the key is missing.
		return nil, status.Errorf(codes.PermissionDenied, "token %s has role %s; a ticket for player %s needs role operate, or the player's own key (--player-key)", caller.Name, caller.Role, req.Player)
	}
	var p *pb.Player
	var settings *pb.AccessSettings
	var key []byte
	c.fsm.read(func(s *state) {
		p, settings, key = s.access.players[req.Player], s.access.settings, s.access.ticketSeed
	})
	if key == nil {
		return nil, status.Error(codes.Unavailable, "the ticket key is not installed yet; retry")
	}
	if p == nil {
		if !settings.GetSelfRegister() && !operator {
			return nil, status.Errorf(codes.NotFound, "no player %s and this cluster does not let players register themselves; ask an operator to run `starlane player create %s`", req.Player, req.Player)
		}
		if !operator && !strings.HasPrefix(req.PlayerKey, PlayerKeyPrefix) {
			return nil, status.Errorf(codes.InvalidArgument, "player_key: to register, choose a key starting with %q (starlane play makes one)", PlayerKeyPrefix)
		}
		np := &pb.Player{Name: req.Player}
		if req.PlayerKey != "" {
			np.KeySha256 = hashKey(req.PlayerKey)
		}
		cmd := accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_PutPlayer{PutPlayer: &pb.PutPlayerCmd{Player: np}}})
		if !operator {
			cmd.Actor = &pb.Actor{Name: "player " + req.Player, Method: "IssueTicket", What: "self-registration of player " + req.Player}
		}
		if _, err := c.propose(ctx, cmd); err != nil && status.Code(err) != codes.AlreadyExists {
			return nil, err
		}
		c.fsm.read(func(s *state) { p = s.access.players[req.Player] })
		if p == nil {
			return nil, status.Error(codes.Unavailable, "the new player is not applied yet; retry")
		}
	}
	if !operator {
		if req.PlayerKey == "" || p.KeySha256 == "" || !authz.ConstantTimeEqual(hashKey(req.PlayerKey), p.KeySha256) {
			return nil, status.Errorf(codes.Unauthenticated, "wrong or missing key for player %s; pass the key `starlane player create` printed (--player-key or STARLANE_PLAYER_KEY)", req.Player)
		}
	}
	if p.Banned {
		reason := ""
		if p.BanReason != "" {
			reason = ": " + p.BanReason
		}
		return nil, status.Errorf(codes.PermissionDenied, "player %s is banned%s", p.Name, reason)
	}
	if settings.GetWhitelist() && !p.Whitelisted && !p.Admin {
		return nil, status.Errorf(codes.PermissionDenied, "player %s is not on this cluster's whitelist", p.Name)
	}
	var nodeAddr string
	if req.Surface != "" {
		// A player with only a key cannot read the catalog; where the surface
		// it is about to join runs is all it is told.
		var why error
		c.fsm.read(func(s *state) {
			sf := s.surfaces[req.Surface]
			if sf == nil {
				why = status.Errorf(codes.NotFound, "surface %s does not exist", req.Surface)
				return
			}
			if n := s.nodes[sf.GetAssignment().GetPrimary()]; n != nil && !sf.Stopped {
				nodeAddr = n.Address
				return
			}
			msg := "it is stopped or not placed yet"
			if sf.PlacementError != "" {
				msg = sf.PlacementError
			}
			why = status.Errorf(codes.FailedPrecondition, "surface %s runs on no node now: %s", req.Surface, msg)
		})
		if why != nil {
			return nil, why
		}
	}
	now := c.now()
	exp := now.Add(ticket.DefaultTTL)
	t, err := ticket.Sign(ed25519Key(key), &pb.PlayerTicket{Player: p.Name, Admin: p.Admin, IssuedUnixMs: now.UnixMilli(), ExpiresUnixMs: exp.UnixMilli()})
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.IssueTicketResponse{Ticket: t, ExpiresUnixMs: exp.UnixMilli(), Player: p, NodeAddress: nodeAddr}, nil
}

// ensureAccessKeys installs the ticket signing key and, on a cluster that never
// had one, the first admin token the controller was started with.
func (c *Controller) ensureAccessKeys(ctx context.Context) {
	var haveKey, haveTokens bool
	c.fsm.read(func(s *state) { haveKey, haveTokens = s.access.ticketSeed != nil, s.access.hasBootstrapToken() })
	if !haveKey {
		seed := make([]byte, 32)
		if _, err := rand.Read(seed); err != nil {
			panic(err)
		}
		cmd := accessCmd("", &pb.AccessCmd{Op: &pb.AccessCmd_SetTicketKey{SetTicketKey: &pb.SetTicketKeyCmd{Seed: seed, OnlyIfUnset: true}}})
		if _, err := c.propose(ctx, cmd); err != nil && ctx.Err() == nil {
			c.log.Warn("install the player ticket key", "err", err)
		}
	}
	if !haveTokens && c.cfg.AdminToken != "" {
		hash := authz.HashToken(c.cfg.AdminToken)
		t := &pb.OperatorToken{Id: authz.TokenID(hash), Name: "bootstrap-admin", Role: authz.OpAdmin.String(), Sha256: hash, CreatedBy: "bootstrap"}
		cmd := accessCmd("", &pb.AccessCmd{Op: &pb.AccessCmd_CreateToken{CreateToken: &pb.CreateTokenCmd{Token: t, OnlyIfNone: true}}})
		if _, err := c.propose(ctx, cmd); err != nil && ctx.Err() == nil {
			c.log.Warn("install the first admin token", "err", err)
		}
	}
}

// withoutCaller hides the caller from propose, so the command is not audited.
func withoutCaller(ctx context.Context) context.Context {
	return authz.WithCaller(ctx, authz.Caller{})
}

// actorFor describes the caller of ctx for the audit log, or nil for calls no
// operator made (nodes, the leader's own work).
func actorFor(ctx context.Context, cmd *pb.Command) *pb.Actor {
	cl, ok := authz.CallerFrom(ctx)
	// Not audited: nodes and the leader's own work; controllers joining (no
	// token, the only writes an anonymous caller reaches).
	if !ok || cl.Name == "" || cl.Name == "node certificate" || cl.Name == "node join token" || cl.Name == "anonymous" {
		return nil
	}
	return &pb.Actor{Name: cl.Name, TokenId: cl.TokenID, Role: cl.Role.String(), Method: cl.Method, What: summarize(cmd)}
}

// summarize names a command's operation and its short fields ("create_surface
// name=nauvis planet=nauvis ..."), for the audit log; bytes and hashes are left
// out.
func summarize(cmd *pb.Command) string {
	m := cmd.ProtoReflect()
	od := m.Descriptor().Oneofs().ByName("op")
	fd := m.WhichOneof(od)
	if fd == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(string(fd.Name()))
	writeFields(&b, m.Get(fd).Message(), "", 0)
	s := b.String()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func writeFields(b *strings.Builder, m protoreflect.Message, prefix string, depth int) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		if strings.Contains(name, "sha256") || strings.Contains(name, "seed") || fd.IsMap() || fd.IsList() {
			return true
		}
		switch fd.Kind() {
		case protoreflect.BytesKind:
		case protoreflect.MessageKind:
			if depth < 2 {
				writeFields(b, v.Message(), name+".", depth+1)
			}
		case protoreflect.EnumKind:
			if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
				fmt.Fprintf(b, " %s=%s", name, ev.Name())
			}
		default:
			fmt.Fprintf(b, " %s=%v", name, v.Interface())
		}
		return true
	})
}

// maxChatText bounds a chat line, as the game's console does in practice.
const maxChatText = 500

func (a *accessAPI) PostChat(ctx context.Context, req *pb.PostChatRequest) (*pb.PostChatResponse, error) {
	if len(req.Text) > maxChatText {
		return nil, status.Errorf(codes.InvalidArgument, "text: %d bytes, at most %d", len(req.Text), maxChatText)
	}
	m := &pb.ChatMessage{Player: req.Player, Surface: req.Surface, Global: req.Global, Text: req.Text}
	cmd := accessCmd(req.RequestId, &pb.AccessCmd{Op: &pb.AccessCmd_Chat{Chat: m}})
	// Chat is not an operator write: it stays out of the audit log.
	res, err := a.c.propose(withoutCaller(ctx), cmd)
	if err != nil {
		return nil, err
	}
	return &pb.PostChatResponse{Index: res.Index}, nil
}

// WatchChat streams the chat log after req.AfterIndex, then every new message.
func (a *accessAPI) WatchChat(req *pb.WatchChatRequest, ss pb.AccessService_WatchChatServer) error {
	c := a.c
	after := req.AfterIndex
	for {
		ch := c.fsm.ChatChanged()
		var batch []*pb.ChatMessage
		c.fsm.read(func(s *state) {
			for _, m := range s.access.chat {
				if m.Index > after {
					batch = append(batch, m)
				}
			}
		})
		for _, m := range batch {
			if err := ss.Send(m); err != nil {
				return err
			}
			after = m.Index
		}
		select {
		case <-ss.Context().Done():
			return status.FromContextError(ss.Context().Err()).Err()
		case <-c.ctx.Done():
			return status.Error(codes.Unavailable, "controller shutting down; watch again")
		case <-ch:
		}
	}
}
