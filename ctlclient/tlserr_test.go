package ctlclient

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/tlsconf/tlstest"
)

// TestExpiredCertificatesFailFast: an expired certificate on either side of the
// handshake is a setup mistake a retry cannot fix. The client says which side's
// certificate is expired at once instead of retrying until its deadline.
func TestExpiredCertificatesFailFast(t *testing.T) {
	t.Parallel()
	certs := tlstest.Write(t, t.TempDir())
	expired := func(name string, role tlsconf.Role) tlsconf.Config {
		certPEM, keyPEM, err := certs.CA.Issue(name, role, []string{"127.0.0.1", "localhost"}, -time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		cert, key := tlsconf.IssuedFiles(certs.Dir, name)
		if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		return tlsconf.Config{CAFile: certs.CAFile, CertFile: cert, KeyFile: key}
	}
	serve := func(cfg tlsconf.Config) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srvTLS, err := cfg.Server()
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(srvTLS)))
		healthpb.RegisterHealthServer(srv, health.NewServer())
		go srv.Serve(ln)
		t.Cleanup(srv.Stop)
		return ln.Addr().String()
	}
	// A process whose clock lags its certificate's expiry by two minutes
	// loads it; the controller, on time, refuses it.
	lagging := expired("late-op", tlsconf.RoleOperator)
	lagging.Now = func() time.Time { return time.Now().Add(-2 * time.Minute) }
	oldServer := expired("old-ctl", tlsconf.RoleController)
	oldServer.Now = lagging.Now

	for _, tc := range []struct {
		name   string
		server tlsconf.Config
		client tlsconf.Config
		want   string
	}{
		{"server expired", oldServer, certs.Config(tlsconf.RoleOperator), "the controller's certificate has expired"},
		{"client refused as expired", certs.Config(tlsconf.RoleController), lagging, "refused the certificate given as --tls-cert as expired"},
	} {
		addr := serve(tc.server)
		c, err := Dial([]string{addr}, tc.client)
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err = c.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		})
		cancel()
		c.Close()
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: took %v; want a failure at once", tc.name, took.Round(time.Millisecond))
		}
		if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want ErrTLS saying %q", tc.name, err, tc.want)
		}
	}
}
