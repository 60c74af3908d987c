package authz

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/tlsconf"
)

// An OpRole is what an operator token allows. Each role includes the ones
// below it.
type OpRole int

// The operator roles, lowest first.
const (
	// OpNone marks a method that needs no operator token (it authenticates its
	// caller otherwise, or only a controller certificate reaches it).
	OpNone OpRole = iota
	// OpRead reads the catalog, the players and the audit log.
	OpRead
	// OpOperate creates, moves, drains and bridges surfaces and manages players.
	OpOperate
	// OpAdmin manages tokens, the join token, snapshots, controllers, and deletes.
	OpAdmin
)

func (r OpRole) String() string {
	switch r {
	case OpRead:
		return "read"
	case OpOperate:
		return "operate"
	case OpAdmin:
		return "admin"
	}
	return "none"
}

// ParseOpRole parses a role name given on a command line or in a request.
func ParseOpRole(s string) (OpRole, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read":
		return OpRead, nil
	case "operate":
		return OpOperate, nil
	case "admin":
		return OpAdmin, nil
	}
	return OpNone, fmt.Errorf("unknown token role %q: use read, operate or admin", clip(s))
}

// TokenPrefix starts every operator token, so one is recognised in a config
// file or a leaked log (and is never mistaken for a node join token, "slj-").
const TokenPrefix = "slo-"

// HashToken returns the hex sha256 of a token: what the controllers store.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// TokenID is the public name of a token: the first 12 hex digits of its hash.
func TokenID(hash string) string {
	if len(hash) < 12 {
		return hash
	}
	return hash[:12]
}

// A TokenRecord is what the controllers know of a token.
type TokenRecord struct {
	ID, Name      string
	Role          OpRole
	ExpiresUnixMS int64 // 0: never
	Revoked       bool
}

// TokenStore is where tokens are looked up (the controller's replicated state).
type TokenStore interface {
	// LookupToken finds a token by the hex sha256 of its secret.
	LookupToken(hash string) (TokenRecord, bool)
	// TokensEnforced reports whether the cluster ever had an operator token: from
	// then on every operator call needs one.
	TokensEnforced() bool
	// JoinTokenMatches reports whether s is the cluster's node join token.
	JoinTokenMatches(s string) bool
}

// Caller is who is calling, once Tokens let the call through.
type Caller struct {
	// Name is "NAME (ID)" for a token, "node join token", or "local" for a call in
	// a cluster without tokens.
	Name    string
	TokenID string
	Role    OpRole
	// Method is the short RPC name.
	Method string
}

type callerKey struct{}

// CallerFrom returns the caller Tokens admitted for ctx's call.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// WithCaller returns ctx carrying c (what Tokens does; tests and the web
// dashboard use it for calls they make in-process).
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// Metadata keys.
const (
	// AuthorizationKey carries "Bearer TOKEN".
	AuthorizationKey = "authorization"
	// JoinTokenKey carries a node's join token on the few operator reads a node
	// makes without TLS (where a surface runs, to redirect a player).
	JoinTokenKey = "starlane-join-token"
)

// OutgoingToken returns ctx with token attached to every call made with it.
func OutgoingToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, AuthorizationKey, "Bearer "+token)
}

// Tokens checks operator tokens for the ClusterService and AccessService
// methods (OperatorMethods). It runs after the certificate Policy: the
// certificate says what kind of process calls, the token what it may do.
//
// Rules:
//   - A cluster that never had an operator token (made through the Go API
//     without one: tests, embedding) lets every call through that the
//     certificate policy allows. `starlane controller --bootstrap` and `starlane
//     dev` always install a first admin token, so real clusters enforce tokens.
//   - Otherwise a method with a role needs a valid token (known, not expired,
//     not revoked) with at least that role, with or without TLS.
//   - Node certificates and node join tokens never count as a token. The join
//     token reaches exactly what the certificate policy lets a node certificate
//     call of the operator API (GetSurface, GetNode), so a node without TLS can
//     still redirect a player.
//   - Methods with OpNone (JoinController, IssueTicket) need no token.
type Tokens struct {
	Store TokenStore
	// Now is the clock for expiry (time.Now when nil).
	Now func() time.Time
	// Denied, if set, is told of every call refused to a known, valid token for
	// want of a role (an operate token creating an admin token): the audit log
	// records those attempts.
	Denied func(c Caller, err error)
}

// Methods that a node may call with its join token (no TLS) or its node
// certificate (TLS); keep in line with Controller's policy.
var nodeReads = map[string]bool{
	cluster + "GetSurface": true,
	cluster + "GetNode":    true,
	// Chat: a node posts what its players say and delivers the log to them.
	accessSvc + "PostChat":  true,
	accessSvc + "WatchChat": true,
}

// Check returns the caller for token calling method, or an UNAUTHENTICATED or
// PERMISSION_DENIED status (with the caller too when a known token's role is too
// low, so that the refusal can be recorded). It is the whole decision, so other front ends (the
// web dashboard) can ask the same question for a token they were given.
func (t Tokens) Check(token, method string) (Caller, error) {
	need, known := OperatorMethods[method]
	short := shortMethod(method)
	if !known {
		if strings.HasPrefix(method, cluster) || strings.HasPrefix(method, accessSvc) || strings.HasPrefix(method, saveSvc) || strings.HasPrefix(method, bundleSvc) || strings.HasPrefix(method, statsSvc) {
			return Caller{}, status.Errorf(codes.PermissionDenied, "%s has no operator role assigned; nobody may call it", short)
		}
		// Not an operator method (NodeService, BlobService between controllers
		// and nodes, health): certificates decide.
		return Caller{Method: short}, nil
	}
	if need == OpNone || !t.Store.TokensEnforced() {
		if token != "" {
			// Identify a caller that sent a token anyway (audit, IssueTicket).
			if c, err := t.lookup(token, short); err == nil {
				return c, nil
			}
		}
		if t.Store.TokensEnforced() {
			return Caller{Name: "anonymous", Method: short, Role: OpNone}, nil
		}
		return Caller{Name: "local", Method: short, Role: OpAdmin}, nil
	}
	if token == "" {
		return Caller{}, status.Errorf(codes.Unauthenticated,
			"%s needs an operator token with role %s: pass --token or set STARLANE_TOKEN (`starlane token create` makes one; the first admin token was printed at bootstrap)", short, need)
	}
	c, err := t.lookup(token, short)
	if err != nil {
		return Caller{}, err
	}
	if c.Role < need {
		// The caller is returned with the refusal: who was refused is known.
		return c, status.Errorf(codes.PermissionDenied, "token %s has role %s; %s needs role %s", c.Name, c.Role, short, need)
	}
	return c, nil
}

func (t Tokens) lookup(token, short string) (Caller, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		if t.Store.JoinTokenMatches(token) {
			return Caller{}, status.Errorf(codes.PermissionDenied, "a node join token grants no operator rights; %s needs an operator token", short)
		}
		return Caller{}, status.Errorf(codes.Unauthenticated, "%s: not an operator token (they start with %q)", short, TokenPrefix)
	}
	rec, ok := t.Store.LookupToken(HashToken(token))
	if !ok {
		return Caller{}, status.Errorf(codes.Unauthenticated, "%s: unknown operator token; check --token or STARLANE_TOKEN", short)
	}
	name := fmt.Sprintf("%s (%s)", rec.Name, rec.ID)
	if rec.Revoked {
		return Caller{}, status.Errorf(codes.Unauthenticated, "%s: operator token %s was revoked", short, name)
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	if rec.ExpiresUnixMS != 0 && now().UnixMilli() >= rec.ExpiresUnixMS {
		return Caller{}, status.Errorf(codes.Unauthenticated, "%s: operator token %s expired at %s; create a new one with `starlane token create`",
			short, name, time.UnixMilli(rec.ExpiresUnixMS).UTC().Format(time.RFC3339))
	}
	return Caller{Name: name, TokenID: rec.ID, Role: rec.Role, Method: short}, nil
}

// bearer returns the token of an incoming call's metadata.
func bearer(md metadata.MD) string {
	for _, v := range md.Get(AuthorizationKey) {
		if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

func (t Tokens) authorize(ctx context.Context, method string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	tok := bearer(md)
	if nodeReads[method] && tok == "" {
		// A node locating a surface: its certificate (TLS) or its join token.
		if isNodeCert(ctx) {
			return WithCaller(ctx, Caller{Name: "node certificate", Method: shortMethod(method)}), nil
		}
		if j := md.Get(JoinTokenKey); len(j) > 0 && t.Store.JoinTokenMatches(j[0]) {
			return WithCaller(ctx, Caller{Name: "node join token", Method: shortMethod(method)}), nil
		}
	}
	c, err := t.Check(tok, method)
	if err != nil {
		if c.TokenID != "" && t.Denied != nil {
			t.Denied(c, err)
		}
		return ctx, err
	}
	return WithCaller(ctx, c), nil
}

func isNodeCert(ctx context.Context) bool {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	ti, ok := pr.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return false
	}
	role, _, err := tlsconf.PeerRole(ti.State)
	return err == nil && role == tlsconf.RoleNode
}

// Unary is the unary server interceptor enforcing t.
func (t Tokens) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, err := t.authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// Stream is the stream server interceptor enforcing t.
func (t Tokens) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, err := t.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return h(srv, &callerStream{ServerStream: ss, ctx: ctx})
}

type callerStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *callerStream) Context() context.Context { return s.ctx }

// ConstantTimeEqual compares secrets without leaking where they differ.
func ConstantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// TokenCredentials sends the token fn returns with every call of a connection
// (gRPC per-RPC credentials; over plaintext too, which loopback allows).
func TokenCredentials(fn func() string) credentials.PerRPCCredentials { return tokenCreds(fn) }

type tokenCreds func() string

func (f tokenCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if t := f(); t != "" {
		return map[string]string{AuthorizationKey: "Bearer " + t}, nil
	}
	return nil, nil
}

func (tokenCreds) RequireTransportSecurity() bool { return false }
