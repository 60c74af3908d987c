package controller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/tlsconf/tlstest"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func tlsCluster(t *testing.T, n int, certs tlstest.Certs, mod func(i int, c *Config)) *tcluster {
	t.Helper()
	return newCluster(t, n, false, func(i int, c *Config) {
		c.TLS = certs.Config(tlsconf.RoleController)
		if mod != nil {
			mod(i, c)
		}
	})
}

func TestTLSCluster(t *testing.T) {
	t.Parallel()
	certs := tlstest.Write(t, t.TempDir())
	tc := tlsCluster(t, 3, certs, nil)
	cl, err := ctlclient.Dial(tc.addrs(), certs.Config(tlsconf.RoleOperator))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := ctxT(t, 20*time.Second)
	// Any controller answers: followers forward the write with their own
	// (controller) certificate.
	for i := range 3 {
		one, err := ctlclient.Dial([]string{tc.get(i).APIAddr()}, certs.Config(tlsconf.RoleOperator))
		if err != nil {
			t.Fatal(err)
		}
		defer one.Close()
		if err := one.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "s" + string(rune('a'+i))})
			return err
		}); err != nil {
			t.Fatalf("operator write through controller %d: %v", i, err)
		}
	}
	plain := tc.client()
	plain.AttemptTimeout = 300 * time.Millisecond
	err = plain.Cluster(ctxT(t, time.Second), func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{})
		return err
	})
	if err == nil {
		t.Fatal("plaintext client talked to a TLS controller")
	}
}

// TestTLSClusterByHostName: controllers that advertise host names, with certificates
// that name only those hosts (no IP address), form a cluster — peers dial each other
// by the advertised name, not the IP it resolved to.
func TestTLSClusterByHostName(t *testing.T) {
	t.Parallel()
	certs := tlstest.WriteFor(t, t.TempDir(), "localhost")
	tc := tlsCluster(t, 3, certs, func(i int, c *Config) {
		ports := []string{proctest.FreeAddr(t), proctest.FreeAddr(t)}
		byName := func(addr string) string {
			_, port, _ := net.SplitHostPort(addr)
			return net.JoinHostPort("localhost", port)
		}
		c.BindAddr, c.APIAdvertise = ports[0], byName(ports[0])
		c.RaftBind, c.RaftAdvertise = ports[1], byName(ports[1])
	})
	for _, c := range tc.ctls {
		if host, _, _ := net.SplitHostPort(c.RaftAddr()); host != "localhost" {
			t.Fatalf("controller advertises Raft at %s; want the name it was given", c.RaftAddr())
		}
	}
	cl, err := ctlclient.Dial(tc.addrs(), certs.Config(tlsconf.RoleOperator))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Cluster(ctxT(t, 20*time.Second), func(ctx context.Context, c pb.ClusterServiceClient) error {
		_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: "nauvis"})
		return err
	}); err != nil {
		t.Fatalf("write through a cluster joined by host name: %v", err)
	}
}

// TestTLSRefusesWithoutTheRightCertificate: with TLS on, each listener of a
// controller takes only certificates from the cluster CA with a role it
// serves. On main before roles, a client with only ca.pem listed surfaces and
// read the join token, a node's certificate deleted surfaces, and the Raft port
// completed a handshake with no certificate at all.
func TestTLSRefusesWithoutTheRightCertificate(t *testing.T) {
	t.Parallel()
	certs := tlstest.Write(t, t.TempDir())
	tc := tlsCluster(t, 1, certs, nil)
	tc.waitLeader(15 * time.Second)
	api, raftAddr := tc.get(0).APIAddr(), tc.get(0).RaftAddr()
	ctx := ctxT(t, 30*time.Second)

	pool := x509.NewCertPool()
	pool.AddCert(certs.CA.Cert)
	dialAs := func(cfg *tls.Config) pb.ClusterServiceClient {
		cc, err := grpc.NewClient(api, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return pb.NewClusterServiceClient(cc)
	}
	asRole := func(r tlsconf.Role) pb.ClusterServiceClient {
		cfg, err := certs.Config(r).Client()
		if err != nil {
			t.Fatal(err)
		}
		return dialAs(cfg)
	}
	other := tlstest.Write(t, t.TempDir())
	otherCfg, err := other.Config(tlsconf.RoleOperator).Client()
	if err != nil {
		t.Fatal(err)
	}
	otherCfg.RootCAs = pool

	// The operator certificate works: the refusals below are about certificates.
	// (retried: a new leader serves before it has installed the join token)
	if err := retry(func() error {
		_, err := asRole(tlsconf.RoleOperator).GetJoinToken(ctx, &pb.GetJoinTokenRequest{})
		return err
	}); err != nil {
		t.Fatalf("operator reading the join token: %v", err)
	}
	if _, err := asRole(tlsconf.RoleOperator).CreateSurface(ctx, &pb.CreateSurfaceRequest{Name: "nauvis"}); err != nil {
		t.Fatalf("operator creating a surface: %v", err)
	}

	for _, tc := range []struct {
		name string
		cl   pb.ClusterServiceClient
		code codes.Code
		msg  string
	}{
		{"no client certificate", dialAs(&tls.Config{RootCAs: pool}), codes.Unavailable, ""},
		{"certificate of another CA", dialAs(otherCfg), codes.Unavailable, ""},
		{"node certificate", asRole(tlsconf.RoleNode), codes.PermissionDenied, "has role node; ClusterService/GetJoinToken needs a certificate with role operator or controller"},
		{"player certificate", asRole(tlsconf.RolePlayer), codes.PermissionDenied, "has role player"},
	} {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := tc.cl.GetJoinToken(qctx, &pb.GetJoinTokenRequest{})
		if status.Code(err) != tc.code || !strings.Contains(status.Convert(err).Message(), tc.msg) {
			t.Errorf("%s reading the join token: %v; want %v %q", tc.name, err, tc.code, tc.msg)
		}
		_, err = tc.cl.DeleteSurface(qctx, &pb.DeleteSurfaceRequest{Name: "nauvis"})
		if status.Code(err) != tc.code {
			t.Errorf("%s deleting a surface: %v; want %v", tc.name, err, tc.code)
		}
		cancel()
	}
	// A node may still ask where a surface runs (to redirect a player).
	if _, err := asRole(tlsconf.RoleNode).GetSurface(ctx, &pb.GetSurfaceRequest{Name: "nauvis"}); err != nil {
		t.Errorf("node certificate reading a surface: %v", err)
	}

	mustTLS := func(cfg *tls.Config, err error) *tls.Config {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	// Raft: the handshake itself fails without a controller certificate.
	for name, cfg := range map[string]*tls.Config{
		"no certificate":       {RootCAs: pool, ServerName: "127.0.0.1"},
		"operator certificate": mustTLS(certs.Config(tlsconf.RoleOperator).ClientFor(raftAddr)),
		"node certificate":     mustTLS(certs.Config(tlsconf.RoleNode).ClientFor(raftAddr)),
	} {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", raftAddr, cfg)
		if err == nil {
			// TLS 1.3: the client learns of the refusal on its first read.
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if err == nil {
			t.Errorf("Raft port talked to a client with %s", name)
		}
	}
	if _, err := tls.Dial("tcp", raftAddr, mustTLS(certs.Config(tlsconf.RoleController).ClientFor(raftAddr))); err != nil {
		t.Errorf("Raft port refused a controller certificate: %v", err)
	}
}

// TestControllerNeedsAControllerCertificate: a controller started with a node's
// certificate fails at start, saying which certificate to use.
func TestControllerNeedsAControllerCertificate(t *testing.T) {
	t.Parallel()
	certs := tlstest.Write(t, t.TempDir())
	cfg := baseConfig(t, 0)
	cfg.TLS = certs.Config(tlsconf.RoleNode)
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "needs a controller certificate") {
		t.Fatalf("controller with a node certificate: %v", err)
	}
}
