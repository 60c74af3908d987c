package ctlclient

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/tlsconf"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func TestDoMovesOnAndSticks(t *testing.T) {
	t.Parallel()
	c, err := Dial(ParseAddrs(" 127.0.0.1:1, 127.0.0.1:2 ,"), tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var tried []string
	fn := func(_ context.Context, cc *grpc.ClientConn) error {
		tried = append(tried, cc.Target())
		if cc.Target() == "127.0.0.1:1" {
			return status.Error(codes.Unavailable, "not the leader")
		}
		return nil
	}
	if err := c.Do(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
	// The second call starts where the first succeeded.
	if got := strings.Join(tried, " "); got != "127.0.0.1:1 127.0.0.1:2 127.0.0.1:2" {
		t.Fatalf("tried %s", got)
	}

	calls := 0
	err = c.Do(context.Background(), func(context.Context, *grpc.ClientConn) error {
		calls++
		return status.Error(codes.NotFound, "surface x not found")
	})
	if status.Code(err) != codes.NotFound || calls != 1 {
		t.Fatalf("a definite error must not be retried: %v after %d calls", err, calls)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Do(ctx, func(context.Context, *grpc.ClientConn) error { return status.Error(codes.Unavailable, "down") })
	if err == nil || !strings.Contains(err.Error(), "no controller answered in time") || status.Code(err) != codes.Unavailable {
		t.Fatalf("exhausted retries: %v", err)
	}
	// What the user reads is the controller's words, not gRPC's rendering.
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Do(ctx, func(ctx context.Context, _ *grpc.ClientConn) error {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	})
	if err == nil || strings.Contains(err.Error(), "rpc error") || strings.Contains(err.Error(), "code =") ||
		!strings.Contains(err.Error(), "ran out of time") || status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("timed out: %v (code %v)", err, status.Code(err))
	}
}

func TestDialNeedsAnAddress(t *testing.T) {
	t.Parallel()
	if _, err := Dial(ParseAddrs(""), tlsconf.Config{}); err == nil || !strings.Contains(err.Error(), "STARLANE_CONTROLLER") {
		t.Fatalf("Dial without addresses: %v", err)
	}
}

func TestBackupFileRoundTrip(t *testing.T) {
	t.Parallel()
	hdr := &pb.SnapshotChunk{Format: "starlane-controller-state-v1", Index: 42, Sha256: "abc"}
	var buf bytes.Buffer
	if err := writeBackup(&buf, hdr, [][]byte{[]byte("hello "), []byte("world")}); err != nil {
		t.Fatal(err)
	}
	got, data, err := readBackup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Index != 42 || got.Format != hdr.Format || got.Sha256 != "abc" || string(data) != "hello world" {
		t.Fatalf("round trip gave %v %q", got, data)
	}
	for _, bad := range []string{"", "garbage", backupMagic + "\xff"} {
		if _, _, err := readBackup(strings.NewReader(bad)); err == nil {
			t.Errorf("readBackup(%q) accepted", bad)
		}
	}
}

// A controller that accepts connections but never answers (a paused process: its
// kernel still completes the TCP handshake) costs a call at most connectGrace,
// not a whole try, even when it is first in the list.
func TestDoPassesOverAHungController(t *testing.T) {
	t.Parallel()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		var held []net.Conn // accepted and never read or written
		for {
			c, err := hung.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerKeepalive()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	defer srv.Stop()

	c, err := Dial([]string{hung.Addr().String(), ln.Addr().String()}, tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	})
	if took := time.Since(start); err != nil || took > connectGrace+250*time.Millisecond {
		t.Fatalf("call with the first controller hung: %v after %v", err, took)
	}
}

func TestAttemptTimeoutIsAShareOfTheDeadline(t *testing.T) {
	t.Parallel()
	c := &Client{AttemptTimeout: DefaultAttemptTimeout}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if d := c.attemptTimeout(ctx); d > time.Second || d < 900*time.Millisecond {
		t.Errorf("a try of a call with 3s left may take %v, want about 1s", d)
	}
	if d := c.attemptTimeout(context.Background()); d != DefaultAttemptTimeout {
		t.Errorf("a try without a deadline may take %v, want %v", d, DefaultAttemptTimeout)
	}
}

// hungHealth accepts calls and never answers them: a controller whose connection
// was set up before it froze.
type hungHealth struct {
	healthpb.UnimplementedHealthServer
}

func (hungHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A controller whose ready connection lets a try time out is passed over while
// another one is ready: only the first call pays for it.
func TestDoPassesOverAControllerThatTimedOut(t *testing.T) {
	t.Parallel()
	serve := func(h healthpb.HealthServer) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(ServerKeepalive()...)
		healthpb.RegisterHealthServer(srv, h)
		go srv.Serve(ln)
		t.Cleanup(srv.Stop)
		return ln.Addr().String()
	}
	c, err := Dial([]string{serve(hungHealth{}), serve(health.NewServer())}, tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	call := func() time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		if err := c.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	// Both connections ready, the hung controller current: the first call pays
	// one try for it.
	for _, cc := range c.conns {
		cc.Connect()
		for cc.GetState() != connectivity.Ready {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if !cc.WaitForStateChange(ctx, cc.GetState()) {
				cancel()
				t.Fatal("a connection did not become ready")
			}
			cancel()
		}
	}
	first := call()
	if first < 900*time.Millisecond {
		t.Fatalf("the first call took %v: it did not try the hung controller first", first)
	}
	c.mu.Lock()
	c.cur = 0 // as if another call had moved back to the hung one
	c.mu.Unlock()
	if second := call(); second > 300*time.Millisecond {
		t.Fatalf("the first call took %v (one try on the hung controller), the second %v: it went back to it", first, second)
	}
}

// A --controller that points at something else — a dashboard's HTTP/1.1 port, a
// node's gRPC port, a closed port — is said in words; the first two fail at
// once instead of retrying until the deadline, since waiting will not mend them.
func TestWrongAddressesAreSaidPlainly(t *testing.T) {
	t.Parallel()
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Server{Handler: http.NotFoundHandler()}
	go web.Serve(httpLn)
	defer web.Close()
	nodeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer()) // gRPC, but no ClusterService
	go gs.Serve(nodeLn)
	defer gs.Stop()
	closedLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedLn.Addr().String()
	closedLn.Close()

	list := func(addrs string, timeout time.Duration) (error, time.Duration) {
		c, err := Dial(ParseAddrs(addrs), tlsconf.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		err = c.Cluster(ctx, func(ctx context.Context, cl pb.ClusterServiceClient) error {
			_, err := cl.ListNodes(ctx, &pb.ListNodesRequest{})
			return err
		})
		return PlainError(err), time.Since(start)
	}
	for _, tc := range []struct {
		addr, want string
	}{
		{httpLn.Addr().String(), "answers in HTTP/1.1, not gRPC (a dashboard or metrics address?)"},
		{nodeLn.Addr().String(), "serves no starlane.v1.ClusterService (a node's address?)"},
	} {
		err, took := list(tc.addr, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.addr+" is not a controller's API address") || !strings.Contains(err.Error(), tc.want) ||
			strings.Contains(err.Error(), "desc =") || took > 3*time.Second {
			t.Errorf("--controller %s: after %v: %v; want at once that it is not a controller: %s", tc.addr, took, err, tc.want)
		}
	}
	// One wrong address among good ones is passed over, not reported.
	if err, _ := list(httpLn.Addr().String()+","+nodeLn.Addr().String(), 10*time.Second); err == nil || !strings.Contains(err.Error(), "none of the addresses is a controller's") {
		t.Errorf("two wrong addresses: %v", err)
	}
	err, _ = list(closed, 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "nothing accepts connections there") || strings.Contains(err.Error(), "desc =") || strings.Contains(err.Error(), "transport:") {
		t.Errorf("a closed port: %v; want it said in words", err)
	}
}
