// Package authz decides which peer may call which gRPC method. With TLS on,
// every Starlane listener demands a client certificate from the cluster CA
// (internal/tlsconf); the role written into that certificate is checked here,
// per method, before any handler runs. Without TLS (loopback only) there is no
// certificate to check and every call passes, as for `starlane dev`.
package authz

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/tlsconf"
)

// A Policy maps full gRPC method names ("/starlane.v1.ClusterService/ListSurfaces")
// or service prefixes ("/starlane.v1.ClusterService/") to the roles that may
// call them. The longest matching key decides; a method no key matches is
// refused, so a new RPC is closed until someone writes down who may call it.
type Policy map[string][]tlsconf.Role

func (p Policy) roles(method string) ([]tlsconf.Role, bool) {
	if r, ok := p[method]; ok {
		return r, true
	}
	best := ""
	for k := range p {
		if strings.HasSuffix(k, "/") && strings.HasPrefix(method, k) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return nil, false
	}
	return p[best], true
}

// Check returns nil when the peer of ctx may call method, and a
// PermissionDenied or Unauthenticated status otherwise.
func (p Policy) Check(ctx context.Context, method string) error {
	pr, ok := peer.FromContext(ctx)
	if !ok {
		return status.Error(codes.Unauthenticated, "no peer information")
	}
	ti, ok := pr.AuthInfo.(credentials.TLSInfo)
	if !ok {
		// Plaintext: the listener accepted it only on loopback (tlsconf.ListenTCP).
		return nil
	}
	role, name, err := tlsconf.PeerRole(ti.State)
	if err != nil {
		return status.Errorf(codes.Unauthenticated, "%s: %v", method, err)
	}
	allowed, ok := p.roles(method)
	if !ok {
		return status.Errorf(codes.PermissionDenied, "%s is not open to any certificate", method)
	}
	if !slices.Contains(allowed, role) {
		return status.Errorf(codes.PermissionDenied, "certificate %q has role %s; %s needs a certificate with role %s",
			clip(name), role, shortMethod(method), joinRoles(allowed))
	}
	return nil
}

// Unary is the unary server interceptor enforcing p.
func (p Policy) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := p.Check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// Stream is the stream server interceptor enforcing p.
func (p Policy) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := p.Check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

func shortMethod(m string) string {
	if i := strings.LastIndex(m, "."); i >= 0 {
		return m[i+1:]
	}
	return m
}

func joinRoles(roles []tlsconf.Role) string {
	var s []string
	for _, r := range roles {
		s = append(s, string(r))
	}
	return strings.Join(s, " or ")
}

func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:64], len(s))
}
