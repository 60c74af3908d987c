package authz

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type fakeStore struct {
	tokens map[string]TokenRecord
	join   string
}

func (f fakeStore) LookupToken(h string) (TokenRecord, bool) { r, ok := f.tokens[h]; return r, ok }
func (f fakeStore) TokensEnforced() bool                     { return len(f.tokens) > 0 }
func (f fakeStore) JoinTokenMatches(s string) bool           { return s == f.join }

func TestTokensCheck(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(1_000_000)
	st := fakeStore{join: "slj-join", tokens: map[string]TokenRecord{
		HashToken("slo-read"):    {ID: "r", Name: "dash", Role: OpRead},
		HashToken("slo-operate"): {ID: "o", Name: "ops", Role: OpOperate},
		HashToken("slo-old"):     {ID: "x", Name: "old", Role: OpAdmin, ExpiresUnixMS: now.UnixMilli()},
		HashToken("slo-gone"):    {ID: "g", Name: "gone", Role: OpAdmin, Revoked: true},
	}}
	tk := Tokens{Store: st, Now: func() time.Time { return now }}
	const (
		list   = cluster + "ListSurfaces"
		create = cluster + "CreateSurface"
		join   = cluster + "GetJoinToken"
	)
	for _, c := range []struct {
		token, method string
		code          codes.Code
		msg           string
	}{
		{"", list, codes.Unauthenticated, "ClusterService/ListSurfaces needs an operator token with role read"},
		{"slo-old", list, codes.Unauthenticated, "operator token old (x) expired at"},
		{"slo-gone", list, codes.Unauthenticated, "operator token gone (g) was revoked"},
		{"slo-nope", list, codes.Unauthenticated, "unknown operator token"},
		{"slj-join", list, codes.PermissionDenied, "a node join token grants no operator rights"},
		{"slo-read", create, codes.PermissionDenied, "token dash (r) has role read; ClusterService/CreateSurface needs role operate"},
		{"slo-operate", join, codes.PermissionDenied, "token ops (o) has role operate; ClusterService/GetJoinToken needs role admin"},
		{"slo-read", cluster + "NoSuchMethod", codes.PermissionDenied, "has no operator role assigned"},
		{"slo-read", list, codes.OK, ""},
		{"slo-operate", create, codes.OK, ""},
		{"", cluster + "JoinController", codes.OK, ""},
		{"", "/starlane.v1.NodeService/Heartbeat", codes.OK, ""},
	} {
		_, err := tk.Check(c.token, c.method)
		if status.Code(err) != c.code || !strings.Contains(status.Convert(err).Message(), c.msg) {
			t.Errorf("%q calling %s: %v; want %v %q", c.token, c.method, err, c.code, c.msg)
		}
	}
	// A cluster that never had a token lets every call through.
	open := Tokens{Store: fakeStore{}}
	if c, err := open.Check("", join); err != nil || c.Role != OpAdmin {
		t.Errorf("open cluster: %v %v", c, err)
	}
	// Every operator method has a role; IssueTicket and JoinController need none.
	for m, r := range OperatorMethods {
		if r == OpNone && !strings.HasSuffix(m, "/IssueTicket") && !strings.HasSuffix(m, "/JoinController") {
			t.Errorf("%s needs no token", m)
		}
	}
}
