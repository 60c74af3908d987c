package controller

import (
	"context"
	"crypto/ed25519"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/starlane/starlane/internal/authz"
	"github.com/starlane/starlane/internal/ticket"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// TestOperatorTokens proves every token refusal with its code and message, over
// a follower (so the token travels with the forwarded call) and on the leader.
func TestOperatorTokens(t *testing.T) {
	t.Parallel()
	admin := NewSecret(authz.TokenPrefix)
	tc := newCluster(t, 3, false, func(i int, c *Config) {
		if i == 0 {
			c.AdminToken = admin
		}
	})
	l := tc.waitLeader(5 * time.Second)
	f := (l + 1) % 3
	ctx := ctxT(t, 60*time.Second)

	cc, err := grpc.NewClient(tc.cfgs[f].BindAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cluster, access := pb.NewClusterServiceClient(cc), pb.NewAccessServiceClient(cc)
	as := func(tok string) context.Context {
		if tok == "" {
			return ctx
		}
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	// The first admin token arrives with the first leader; wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := cluster.GetStatus(as(admin), &pb.GetStatusRequest{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("admin token never worked: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mk := func(name, role string, ttl int64) string {
		t.Helper()
		var r *pb.CreateTokenResponse
		err := retry(func() (err error) {
			r, err = access.CreateToken(as(admin), &pb.CreateTokenRequest{RequestId: NewSecret("t-")[:40], Name: name, Role: role, TtlSeconds: ttl})
			return err
		})
		if err != nil {
			t.Fatalf("create %s token: %v", role, err)
		}
		if r.Secret == "" || r.Token.Role != role || r.Token.Sha256 != authz.HashToken(r.Secret) {
			t.Fatalf("create %s token: %+v", role, r)
		}
		return r.Secret
	}
	reader, operator := mk("dash", "read", 0), mk("ops", "operate", 0)
	short := mk("short", "read", 1)
	revoked := mk("gone", "admin", 0)
	var revokedID string
	var lt *pb.ListTokensResponse
	if err := retry(func() (err error) { lt, err = access.ListTokens(as(admin), &pb.ListTokensRequest{}); return err }); err != nil {
		t.Fatal(err)
	}
	for _, tk := range lt.Tokens {
		if tk.Name == "gone" {
			revokedID = tk.Id
		}
		if tk.Sha256 != "" {
			t.Errorf("token list shows a hash: %+v", tk)
		}
	}
	if err := retry(func() error {
		_, err := access.RevokeToken(as(admin), &pb.RevokeTokenRequest{RequestId: "revoke-gone", Id: revokedID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var join string
	if err := retry(func() error {
		r, err := cluster.GetJoinToken(as(admin), &pb.GetJoinTokenRequest{})
		if err == nil {
			join = r.Token
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Working calls first: the refusals below are about tokens.
	if err := retry(func() error { _, err := cluster.ListSurfaces(as(reader), &pb.ListSurfacesRequest{}); return err }); err != nil {
		t.Fatalf("read token listing surfaces: %v", err)
	}
	if err := retry(func() error {
		_, err := cluster.CreateSurface(as(operator), &pb.CreateSurfaceRequest{RequestId: "create-nauvis", Name: "nauvis"})
		return err
	}); err != nil {
		t.Fatalf("operate token creating a surface: %v", err)
	}
	time.Sleep(1100 * time.Millisecond) // the 1 s token expires

	for _, c := range []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"no token", func() error { _, err := cluster.ListSurfaces(ctx, &pb.ListSurfacesRequest{}); return err },
			codes.Unauthenticated, "ListSurfaces needs an operator token with role read: pass --token or set STARLANE_TOKEN"},
		{"expired token", func() error { _, err := cluster.ListSurfaces(as(short), &pb.ListSurfacesRequest{}); return err },
			codes.Unauthenticated, "operator token short ("},
		{"revoked token", func() error { _, err := cluster.ListSurfaces(as(revoked), &pb.ListSurfacesRequest{}); return err },
			codes.Unauthenticated, "was revoked"},
		{"unknown token", func() error {
			_, err := cluster.ListSurfaces(as(authz.TokenPrefix+"00"), &pb.ListSurfacesRequest{})
			return err
		},
			codes.Unauthenticated, "unknown operator token"},
		{"read token writing", func() error {
			_, err := cluster.CreateSurface(as(reader), &pb.CreateSurfaceRequest{Name: "gleba"})
			return err
		}, codes.PermissionDenied, "has role read; ClusterService/CreateSurface needs role operate"},
		{"operate token reading the join token", func() error {
			_, err := cluster.GetJoinToken(as(operator), &pb.GetJoinTokenRequest{})
			return err
		}, codes.PermissionDenied, "has role operate; ClusterService/GetJoinToken needs role admin"},
		{"operate token deleting", func() error {
			_, err := cluster.DeleteSurface(as(operator), &pb.DeleteSurfaceRequest{Name: "nauvis"})
			return err
		}, codes.PermissionDenied, "DeleteSurface needs role admin"},
		{"operate token making tokens", func() error {
			_, err := access.CreateToken(as(operator), &pb.CreateTokenRequest{Name: "x", Role: "admin"})
			return err
		}, codes.PermissionDenied, "CreateToken needs role admin"},
		{"node join token as operator token", func() error {
			_, err := cluster.ListSurfaces(as(join), &pb.ListSurfacesRequest{})
			return err
		}, codes.PermissionDenied, "a node join token grants no operator rights"},
	} {
		err := retry(c.call)
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.msg) {
			t.Errorf("%s: %v; want %v %q", c.name, err, c.code, c.msg)
		}
	}
	if err := retry(func() error { _, err := cluster.ListSurfaces(as(short), &pb.ListSurfacesRequest{}); return err }); !strings.Contains(status.Convert(err).Message(), "expired at") {
		t.Errorf("expired token: %v", err)
	}
	// The join token reaches only what a node needs of the operator API.
	jctx := metadata.AppendToOutgoingContext(ctx, authz.JoinTokenKey, join)
	if err := retry(func() error { _, err := cluster.GetSurface(jctx, &pb.GetSurfaceRequest{Name: "nauvis"}); return err }); err != nil {
		t.Errorf("node join token locating a surface: %v", err)
	}
	if err := retry(func() error { _, err := cluster.ListSurfaces(jctx, &pb.ListSurfacesRequest{}); return err }); status.Code(err) != codes.Unauthenticated {
		t.Errorf("node join token listing surfaces: %v; want Unauthenticated", err)
	}

	// The last usable admin token cannot be revoked.
	var adminID string
	if err := retry(func() (err error) { lt, err = access.ListTokens(as(admin), &pb.ListTokensRequest{}); return err }); err != nil {
		t.Fatal(err)
	}
	for _, tk := range lt.Tokens {
		if tk.CreatedBy == "bootstrap" {
			adminID = tk.Id
		}
	}
	err = retry(func() error { _, err := access.RevokeToken(as(admin), &pb.RevokeTokenRequest{Id: adminID}); return err })
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "last usable admin token") {
		t.Errorf("revoking the last admin token: %v", err)
	}

	// The audit log names who did each write, refused writes included.
	// Calls refused for want of a role are recorded too, from the background
	// as they happen: compared as a set (once all four are in), the others in
	// order.
	var al *pb.ListAuditResponse
	var got, denied []string
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := retry(func() (err error) { al, err = access.ListAudit(as(reader), &pb.ListAuditRequest{}); return err }); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range al.Entries {
			if codes.Code(e.Code) == codes.PermissionDenied {
				n++
			}
		}
		if n >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, e := range al.Entries {
		line := e.Method + " by " + strings.SplitN(e.Who, " ", 2)[0] + " code " + codes.Code(e.Code).String()
		if codes.Code(e.Code) == codes.PermissionDenied {
			denied = append(denied, line)
			continue
		}
		got = append(got, line)
	}
	wantDenied := []string{"AccessService/CreateToken by ops code PermissionDenied", "ClusterService/CreateSurface by dash code PermissionDenied",
		"ClusterService/DeleteSurface by ops code PermissionDenied", "ClusterService/GetJoinToken by ops code PermissionDenied"}
	slices.Sort(denied)
	if d := cmp.Diff(wantDenied, denied); d != "" {
		t.Errorf("refused calls in the audit log (-want +got):\n%s", d)
	}
	want := []string{
		"AccessService/CreateToken by bootstrap-admin code OK", "AccessService/CreateToken by bootstrap-admin code OK",
		"AccessService/CreateToken by bootstrap-admin code OK", "AccessService/CreateToken by bootstrap-admin code OK",
		"AccessService/RevokeToken by bootstrap-admin code OK", "ClusterService/CreateSurface by ops code OK",
		"AccessService/RevokeToken by bootstrap-admin code FailedPrecondition",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("audit log (-want +got):\n%s", d)
	}
	for _, e := range al.Entries {
		if e.Method == "ClusterService/CreateSurface" && codes.Code(e.Code) == codes.OK && (!strings.Contains(e.What, "name=nauvis") || e.UnixMs == 0 || e.Role != "operate") {
			t.Errorf("audit entry: %+v", e)
		}
	}
}

// TestPlayerTickets: a ticket is signed for the player who holds the key (or
// for an operator), verifies with the key nodes get, and is refused to a banned
// player.
func TestPlayerTickets(t *testing.T) {
	t.Parallel()
	admin := NewSecret(authz.TokenPrefix)
	tc := newCluster(t, 1, false, func(i int, c *Config) { c.AdminToken = admin })
	tc.waitLeader(5 * time.Second)
	ctx := ctxT(t, 30*time.Second)
	cc, err := grpc.NewClient(tc.cfgs[0].BindAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	access := pb.NewAccessServiceClient(cc)
	actx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
	var bob *pb.CreatePlayerResponse
	deadline := time.Now().Add(10 * time.Second)
	for bob == nil {
		bob, err = access.CreatePlayer(actx, &pb.CreatePlayerRequest{Name: "bob"})
		if err != nil && time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(bob.Key, PlayerKeyPrefix) {
		t.Fatalf("player key %q", bob.Key)
	}
	var r *pb.IssueTicketResponse
	err = retry(func() (err error) {
		r, err = access.IssueTicket(ctx, &pb.IssueTicketRequest{Player: "bob", PlayerKey: bob.Key})
		return err
	})
	var pub ed25519.PublicKey
	tc.get(0).fsm.read(func(s *state) { pub = s.access.playerAccess().TicketPublicKey })
	if err != nil {
		t.Fatal(err)
	}
	claims, err := ticket.Verify(pub, r.Ticket, time.Now())
	if err != nil || claims.Player != "bob" {
		t.Fatalf("bob's ticket: %v %v", claims, err)
	}
	for _, c := range []struct {
		name string
		req  *pb.IssueTicketRequest
		code codes.Code
		msg  string
	}{
		{"alice with bob's key", &pb.IssueTicketRequest{Player: "alice", PlayerKey: bob.Key}, codes.NotFound, "does not let players register themselves"},
		{"bob without key", &pb.IssueTicketRequest{Player: "bob"}, codes.Unauthenticated, "wrong or missing key for player bob"},
		{"bob with a wrong key", &pb.IssueTicketRequest{Player: "bob", PlayerKey: PlayerKeyPrefix + "nope"}, codes.Unauthenticated, "wrong or missing key"},
	} {
		_, err := access.IssueTicket(ctx, c.req)
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.msg) {
			t.Errorf("%s: %v; want %v %q", c.name, err, c.code, c.msg)
		}
	}
	banned := true
	if _, err := access.SetPlayer(actx, &pb.SetPlayerRequest{Name: "bob", Banned: &banned, BanReason: "griefing"}); err != nil {
		t.Fatal(err)
	}
	_, err = access.IssueTicket(ctx, &pb.IssueTicketRequest{Player: "bob", PlayerKey: bob.Key})
	if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != "player bob is banned: griefing" {
		t.Errorf("banned bob: %v", err)
	}
	var pa *pb.PlayerAccess
	tc.get(0).fsm.read(func(s *state) { pa = s.access.playerAccess() })
	if !cmp.Equal(pa.Banned, []string{"bob"}) {
		t.Errorf("nodes are told banned %v", pa.Banned)
	}

	// Self-registration: an unknown player registers with its own key.
	if _, err := access.SetAccessSettings(actx, &pb.SetAccessSettingsRequest{Settings: &pb.AccessSettings{SelfRegister: true, Whitelist: true}}); err != nil {
		t.Fatal(err)
	}
	key := NewSecret(PlayerKeyPrefix)
	_, err = access.IssueTicket(ctx, &pb.IssueTicketRequest{Player: "carol", PlayerKey: key})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "not on this cluster's whitelist") {
		t.Errorf("carol not whitelisted: %v", err)
	}
	yes := true
	if _, err := access.SetPlayer(actx, &pb.SetPlayerRequest{Name: "carol", Whitelisted: &yes}); err != nil {
		t.Fatal(err)
	}
	if _, err := access.IssueTicket(ctx, &pb.IssueTicketRequest{Player: "carol", PlayerKey: key}); err != nil {
		t.Errorf("whitelisted carol: %v", err)
	}
	if _, err := access.IssueTicket(ctx, &pb.IssueTicketRequest{Player: "carol", PlayerKey: NewSecret(PlayerKeyPrefix)}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("carol with another key: %v", err)
	}
}

// TestAccessSnapshot: the access state survives snapshot and restore.
func TestAccessSnapshot(t *testing.T) {
	t.Parallel()
	s := newState()
	yes := true
	hash := authz.HashToken("slo-x")
	for i, op := range []*pb.AccessCmd{
		{Op: &pb.AccessCmd_CreateToken{CreateToken: &pb.CreateTokenCmd{Token: &pb.OperatorToken{Id: authz.TokenID(hash), Sha256: hash, Name: "a", Role: "admin"}}}},
		{Op: &pb.AccessCmd_PutPlayer{PutPlayer: &pb.PutPlayerCmd{Player: &pb.Player{Name: "bob"}}}},
		{Op: &pb.AccessCmd_SetPlayer{SetPlayer: &pb.SetPlayerCmd{Name: "bob", Banned: &yes, BanReason: "x"}}},
		{Op: &pb.AccessCmd_SetTicketKey{SetTicketKey: &pb.SetTicketKeyCmd{Seed: make([]byte, 32)}}},
		nil,
	} {
		if i == 4 {
			op = &pb.AccessCmd{Op: &pb.AccessCmd_SetSettings{SetSettings: &pb.SetAccessSettingsCmd{Settings: &pb.AccessSettings{Whitelist: true}}}}
		}
		res := s.apply(uint64(i+1), &pb.Command{UnixMs: int64(1000 + i), Op: &pb.Command_Access{Access: op}, Actor: &pb.Actor{Name: "t", Method: "M"}}, nil)
		if res.Code != 0 {
			t.Fatalf("command %d: %s", i, res.Message)
		}
	}
	data, err := encodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s.toProto(), r.toProto(), protocmp.Transform()); d != "" {
		t.Errorf("restored state differs (-want +got):\n%s", d)
	}
	if len(r.access.audit) != 5 || !proto.Equal(r.access.players["bob"], s.access.players["bob"]) {
		t.Errorf("restored access: %d audit entries, bob %v", len(r.access.audit), r.access.players["bob"])
	}
}

// retry retries a call while no leader answers (a young cluster may still move
// its leadership).
func retry(call func() error) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := call()
		if status.Code(err) != codes.Unavailable || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An admin token that expires does not count as the other admin the last
// lasting one needs before it is revoked: once it expired, no admin would be
// left and nothing could make one. An expiring admin token can still be revoked
// while a lasting one remains, and a lasting one once another lasting one exists.
func TestLastLastingAdminTokenIsKept(t *testing.T) {
	t.Parallel()
	admin := NewSecret(authz.TokenPrefix)
	tc := newCluster(t, 1, false, func(_ int, c *Config) { c.AdminToken = admin })
	l := tc.waitLeader(5 * time.Second)
	ctx := metadata.AppendToOutgoingContext(ctxT(t, 60*time.Second), "authorization", "Bearer "+admin)
	cc, err := grpc.NewClient(tc.cfgs[l].BindAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	access := pb.NewAccessServiceClient(cc)
	// The started-with token works from the first moment, but is listed only once
	// the new leader has committed it (ensureAccessKeys).
	var lt *pb.ListTokensResponse
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := retry(func() (err error) { lt, err = access.ListTokens(ctx, &pb.ListTokensRequest{}); return err }); err != nil {
			t.Fatal(err)
		}
		if len(lt.Tokens) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(lt.Tokens) != 1 || lt.Tokens[0].CreatedBy != "bootstrap" {
		t.Fatalf("tokens of a new cluster: %v, want the one it was started with", lt.Tokens)
	}
	bootstrap := lt.Tokens[0].Id
	create := func(name string, ttl int64) string {
		t.Helper()
		r, err := access.CreateToken(ctx, &pb.CreateTokenRequest{RequestId: NewSecret("t-")[:40], Name: name, Role: "admin", TtlSeconds: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return r.Token.Id
	}
	revoke := func(id string) error {
		_, err := access.RevokeToken(ctx, &pb.RevokeTokenRequest{RequestId: NewSecret("t-")[:40], Id: id})
		return err
	}
	short := create("short", 3600)
	if err := revoke(bootstrap); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "last admin token that does not expire") {
		t.Fatalf("revoking the lasting admin token while only an expiring one is left: %v, want refused", err)
	}
	if err := revoke(short); err != nil {
		t.Fatalf("revoking the expiring admin token: %v", err)
	}
	create("second", 0)
	if err := revoke(bootstrap); err != nil {
		t.Fatalf("revoking a lasting admin token once another exists: %v", err)
	}
}

// A ticket asked with a token too weak to act for players, and no key, is
// refused for the token's role, not for a missing key.
func TestTicketWithAReadTokenSaysTheRole(t *testing.T) {
	t.Parallel()
	admin := NewSecret(authz.TokenPrefix)
	tc := newCluster(t, 1, false, func(_ int, c *Config) { c.AdminToken = admin })
	l := tc.waitLeader(5 * time.Second)
	ctx := ctxT(t, 60*time.Second)
	cc, err := grpc.NewClient(tc.cfgs[l].BindAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	access := pb.NewAccessServiceClient(cc)
	var reader *pb.CreateTokenResponse
	if err := retry(func() (err error) {
		reader, err = access.CreateToken(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin), &pb.CreateTokenRequest{RequestId: NewSecret("t-")[:40], Name: "viewer", Role: "read"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err = access.IssueTicket(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+reader.Secret), &pb.IssueTicketRequest{RequestId: NewSecret("t-")[:40], Player: "carol"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "token viewer (") || !strings.Contains(err.Error(), "has role read; a ticket for player carol needs role operate") {
		t.Fatalf("a ticket with a read token: %v; want refused for the token's role", err)
	}
}
