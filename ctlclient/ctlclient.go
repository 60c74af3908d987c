// Package ctlclient dials the Starlane controllers with the shared TLS settings
// and retries calls across them: operator commands, the node agent and tests use
// it so that leader changes and dead controllers look like a short delay, never
// like a failure or a duplicated write.
package ctlclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/internal/validate"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// DefaultAttemptTimeout bounds one try against one controller. A call with a
// deadline gives each try at most a third of the time left (never less than
// minAttempt), so one controller that accepts connections but never answers (a
// paused process, a hung host) cannot use up a command's whole --timeout.
const DefaultAttemptTimeout = 5 * time.Second

// minAttempt is the shortest try Do makes while the call's deadline allows it.
const minAttempt = 500 * time.Millisecond

// suspectFor is how long a controller that let a try time out is passed over
// while another one is ready (about the time keepalive needs to drop its
// connection).
const suspectFor = KeepaliveTime + KeepaliveTimeout

// connectGrace is how long Do waits for a controller connection to be ready before
// it tries another controller that is. gRPC reports a connection ready only once
// the server has answered the HTTP/2 handshake, so a paused controller, whose
// kernel still accepts the TCP connection, is passed over after this long instead
// of after a whole try.
const connectGrace = 200 * time.Millisecond

// Keepalive: a connection whose peer stops answering (paused, or its host gone
// without a reset) is declared dead after KeepaliveTime+KeepaliveTimeout, and the
// calls and streams on it fail over to another controller. Servers must permit
// pings this often (ServerKeepalive).
const (
	KeepaliveTime    = 2 * time.Second
	KeepaliveTimeout = 2 * time.Second
)

// StreamWindow and ConnWindow are the HTTP/2 flow-control windows of every
// controller connection, client and server side. Setting them statically turns
// off gRPC's bandwidth-delay-product estimation, which otherwise answers data
// frames with PING frames: on a request/response API of small messages that is
// an extra frame, write and wake-up per call on both ends. The controller moves
// kilobytes per call (snapshots in 1 MiB chunks), so a fixed 1 MiB stream window
// never throttles it.
const (
	StreamWindow = 1 << 20
	ConnWindow   = 4 << 20
)

// DialOptions are the options every connection to a controller uses.
func DialOptions(creds credentials.TransportCredentials) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithStaticStreamWindowSize(StreamWindow),
		grpc.WithStaticConnWindowSize(ConnWindow),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(validate.MaxResponseBytes), grpc.MaxCallSendMsgSize(validate.MaxRequestBytes)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: KeepaliveTime, Timeout: KeepaliveTimeout, PermitWithoutStream: true}),
	}
}

// ServerKeepalive are the server options that let clients ping as DialOptions
// does (gRPC's default policy answers pings more often than every five minutes
// with GOAWAY), and that drop a client that stops answering pings.
func ServerKeepalive() []grpc.ServerOption {
	return []grpc.ServerOption{
		// Permissive on purpose: other clients of the node's server (bridges,
		// replication) may ping more often than ctlclient does.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 250 * time.Millisecond, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: KeepaliveTime, Timeout: KeepaliveTimeout}),
	}
}

// waitingAfter is how long Do retries before it tells Client.Waiting.
const waitingAfter = 2 * time.Second

// Client talks to a set of controllers, any of which may answer.
type Client struct {
	addrs []string
	conns []*grpc.ClientConn
	creds credentials.TransportCredentials
	// AttemptTimeout bounds each try of a unary call.
	AttemptTimeout time.Duration
	// Waiting, if set, is told once when a call has found no controller to answer
	// for waitingAfter and goes on retrying, so a tool can say so instead of sitting
	// silent until its deadline.
	Waiting     func(err error)
	waitingOnce sync.Once
	// Token is the operator token sent with every call ("authorization: Bearer
	// TOKEN"); empty sends none. TokenFunc, if set and Token is empty, gives it
	// at each call.
	Token     string
	TokenFunc func() string

	mu    sync.Mutex
	cur   int
	extra map[string]*grpc.ClientConn // leaders found outside addrs
	// suspect[i] is when controller i last let a try run out its time: a paused
	// controller's old connection stays ready until keepalive gives up on it, so
	// for suspectFor it is tried only when no other one is ready.
	suspect map[int]time.Time
}

// ParseAddrs splits a comma-separated --controller value.
func ParseAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Dial prepares connections to every address (gRPC connects lazily).
func Dial(addrs []string, t tlsconf.Config) (*Client, error) {
	if len(addrs) == 0 {
		return nil, errors.New("no controller address: pass --controller HOST:PORT or set STARLANE_CONTROLLER")
	}
	creds, err := Credentials(t)
	if err != nil {
		return nil, err
	}
	c := &Client{addrs: addrs, creds: creds, AttemptTimeout: DefaultAttemptTimeout, extra: map[string]*grpc.ClientConn{}, suspect: map[int]time.Time{}}
	for _, a := range addrs {
		cc, err := grpc.NewClient(a, DialOptions(creds)...)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("controller address %q: %w", a, err)
		}
		c.conns = append(c.conns, cc)
	}
	return c, nil
}

// Credentials returns gRPC transport credentials for the TLS settings.
func Credentials(t tlsconf.Config) (credentials.TransportCredentials, error) {
	cfg, err := t.Client()
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return insecure.NewCredentials(), nil
	}
	return peekTLS{credentials.NewTLS(cfg)}, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	var errs []error
	for _, cc := range c.conns {
		errs = append(errs, cc.Close())
	}
	c.mu.Lock()
	for _, cc := range c.extra {
		errs = append(errs, cc.Close())
	}
	c.mu.Unlock()
	return errors.Join(errs...)
}

// NewRequestID returns a fresh request ID for a mutating call. Reuse it when
// retrying the same logical operation.
func NewRequestID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "req-" + hex.EncodeToString(b)
}

// Retryable reports whether err means "try again, maybe elsewhere": no leader,
// controller down, or this attempt timed out.
func Retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	}
	return false
}

// pick returns the controller to try: the current one if its connection is ready;
// otherwise the first ready one after it, waiting up to connectGrace for one to
// become ready (every connection is asked to connect, so they do so in parallel);
// failing that, the current one (a try on it fails fast if it refuses connections).
func (c *Client) pick(ctx context.Context) (int, *grpc.ClientConn) {
	c.mu.Lock()
	cur, conns := c.cur, c.conns
	now := time.Now()
	usable := func(i int) bool {
		return conns[i].GetState() == connectivity.Ready && now.Sub(c.suspect[i]) > suspectFor
	}
	if len(conns) == 1 || usable(cur) {
		c.mu.Unlock()
		return cur, conns[cur]
	}
	c.mu.Unlock()
	for _, cc := range conns {
		cc.Connect()
	}
	deadline := now.Add(connectGrace)
	for {
		c.mu.Lock()
		now = time.Now()
		for k := range conns {
			i := (cur + k) % len(conns)
			if usable(i) {
				if c.cur == cur {
					c.cur = i
				}
				c.mu.Unlock()
				return i, conns[i]
			}
		}
		c.mu.Unlock()
		if now.After(deadline) || ctx.Err() != nil {
			return cur, conns[cur]
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// markSuspect records that controller i let a try run out its time.
func (c *Client) markSuspect(i int) {
	c.mu.Lock()
	c.suspect[i] = time.Now()
	c.mu.Unlock()
}

// attemptTimeout is the deadline of one try: AttemptTimeout, and with a deadline
// on ctx at most a third of the time left, but not under minAttempt.
func (c *Client) attemptTimeout(ctx context.Context) time.Duration {
	d := c.AttemptTimeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, max(time.Until(dl)/3, minAttempt))
	}
	return d
}

// next moves to the next controller unless another caller already did.
func (c *Client) next(from int) {
	c.mu.Lock()
	if c.cur == from {
		c.cur = (c.cur + 1) % len(c.conns)
	}
	c.mu.Unlock()
}

// prefer makes the controller at addr the first one tried if it is one of the
// configured ones, and returns a connection to it either way.
func (c *Client) prefer(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, a := range c.addrs {
		if a == addr {
			c.cur = i
			return c.conns[i], nil
		}
	}
	if cc := c.extra[addr]; cc != nil {
		return cc, nil
	}
	cc, err := grpc.NewClient(addr, DialOptions(c.creds)...)
	if err != nil {
		return nil, err
	}
	c.extra[addr] = cc
	return cc, nil
}

// Do runs fn against a controller, retrying retryable errors on the next
// controller until ctx ends. Mutating calls must carry a request ID set before Do,
// so that a retry after an unknown outcome is not applied twice.
func (c *Client) Do(ctx context.Context, fn func(ctx context.Context, cc *grpc.ClientConn) error) error {
	backoff := 20 * time.Millisecond
	start := time.Now()
	tok := c.Token
	if tok == "" && c.TokenFunc != nil {
		tok = c.TokenFunc()
	}
	if tok != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
	}
	tlsFails, strangers := 0, map[int]string{}
	for {
		i, cc := c.pick(ctx)
		d := c.attemptTimeout(ctx)
		tried := time.Now()
		actx, cancel := context.WithTimeout(ctx, d)
		err := fn(actx, cc)
		// The try ran out of its time: on this side, or on the controller's, whose
		// copy of the deadline (sent with the call) can fire and answer first.
		if status.Code(err) == codes.DeadlineExceeded && ctx.Err() == nil && (actx.Err() != nil || time.Since(tried) >= d*9/10) {
			c.markSuspect(i)
		}
		cancel()
		// A TLS failure seen on every controller in turn is a setup mistake,
		// not an outage: say what is wrong now instead of retrying to the
		// deadline.
		if why := tlsProblem(err); why != "" {
			if tlsFails++; tlsFails >= len(c.conns) {
				return fmt.Errorf("%w: %s (%s)", ErrTLS, why, status.Convert(err).Message())
			}
		} else {
			tlsFails = 0
		}
		// An address that answers as something else (a dashboard's HTTP/1.1,
		// a node's gRPC) will not turn into a controller: try the others, and
		// once every one has answered so, say which address is wrong.
		if why := notController(err); why != "" {
			strangers[i] = why
			if len(strangers) == len(c.conns) {
				return &NotControllerError{Addr: c.addrs[i], Why: why, All: len(c.conns) > 1}
			}
			c.markSuspect(i)
			c.next(i)
			continue
		}
		if err == nil || !Retryable(err) || ctx.Err() != nil {
			if err != nil && ctx.Err() != nil && Retryable(err) {
				return &unansweredError{tried: c.addrs, last: err}
			}
			return err
		}
		c.next(i)
		if i == len(c.conns)-1 || len(c.conns) == 1 {
			// A full round failed: back off before the next one.
			if c.Waiting != nil && time.Since(start) >= waitingAfter {
				c.waitingOnce.Do(func() { c.Waiting(err) })
			}
			select {
			case <-ctx.Done():
				return &unansweredError{tried: c.addrs, last: err}
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 500*time.Millisecond)
		}
	}
}

// unansweredError is Do's error when the call's time ran out with no controller
// answering: it says which were tried and, in words, what the last one said
// (not gRPC's "rpc error: code = … desc = …"), and unwraps to that error, whose
// status code callers still read.
type unansweredError struct {
	tried []string
	last  error
}

func (e *unansweredError) Error() string {
	why := Describe(e.last)
	if status.Code(e.last) == codes.DeadlineExceeded {
		why = "the last try ran out of time"
	}
	return fmt.Sprintf("no controller answered in time (tried %s): %s", strings.Join(e.tried, ", "), why)
}

// NotControllerError is Do's error when every address answered, but not as a
// controller: a mistaken --controller that waiting would not mend.
type NotControllerError struct {
	Addr, Why string
	All       bool // more than one address was given and none is a controller
}

func (e *NotControllerError) Error() string {
	which := e.Addr + " is not a controller's API address"
	if e.All {
		which = "none of the addresses is a controller's API address (the last, " + e.Addr + ")"
	}
	return which + ": " + e.Why + "; give the controllers' API addresses (`starlane dev` prints them as controller c1, c2, c3, and writes them to DATA_DIR/cluster.json as controller_addrs)"
}

// notController says why err shows that the address answered as something
// other than a controller, or "" if it does not.
func notController(err error) string {
	st := status.Convert(err)
	msg := st.Message()
	switch {
	case st.Code() == codes.Unavailable && strings.Contains(msg, "HTTP/1.1 header"):
		return "it answers in HTTP/1.1, not gRPC (a dashboard or metrics address?)"
	case st.Code() == codes.Unimplemented && strings.HasPrefix(msg, "unknown service starlane.v1."):
		return "it speaks gRPC but serves no " + strings.TrimPrefix(msg, "unknown service ") + " (a node's address?)"
	}
	return ""
}

// Describe says in words why a call got no answer, without gRPC's transport
// text ("connection error: desc = transport: Error while dialing: ..."); other
// errors are their status message.
func Describe(err error) string {
	st := status.Convert(err)
	msg := st.Message()
	if st.Code() == codes.Unavailable {
		switch {
		case strings.Contains(msg, "connection refused"):
			return "nothing accepts connections there (the process is stopped, still starting, or listens elsewhere)"
		case strings.Contains(msg, "no route to host"), strings.Contains(msg, "network is unreachable"), strings.Contains(msg, "i/o timeout"):
			return "its host cannot be reached over the network"
		case strings.Contains(msg, "no such host"):
			return "its host name does not resolve"
		case strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"):
			return "the connection was closed before it answered"
		}
	}
	if st.Code() == codes.DeadlineExceeded {
		return "no answer in time"
	}
	return msg
}

func (e *unansweredError) Unwrap() error { return e.last }

// Cluster runs fn with a ClusterService client, with Do's retries.
func (c *Client) Cluster(ctx context.Context, fn func(ctx context.Context, cl pb.ClusterServiceClient) error) error {
	return c.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		return fn(ctx, pb.NewClusterServiceClient(cc))
	})
}

// Node runs fn with a NodeService client, with Do's retries.
func (c *Client) Node(ctx context.Context, fn func(ctx context.Context, cl pb.NodeServiceClient) error) error {
	return c.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		return fn(ctx, pb.NewNodeServiceClient(cc))
	})
}
