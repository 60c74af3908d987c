package ctlclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// ErrTLS marks a connection that failed for a TLS reason retrying cannot fix:
// an untrusted certificate, a name mismatch, an expired certificate on either
// side, a certificate the controller refused, or one side speaking TLS and the other not.
var ErrTLS = errors.New("TLS")

// tlsProblems maps what gRPC reports of a failed handshake to what a user can
// do about it. Order matters: the first match wins.
var tlsProblems = []struct{ says, means string }{
	{"certificate has expired or is not yet valid", "the controller's certificate has expired (or is not yet valid): make it a new one with `starlane tls cert NAME --role controller` and restart it, or check the clocks of both hosts"},
	{"remote error: tls: expired certificate", "the controller refused the certificate given as --tls-cert as expired (or not yet valid): make a new one with `starlane tls cert`, or check the clocks of both hosts"},
	{"certificate signed by unknown authority", "the controller's certificate is not signed by the CA given as --tls-ca; use the cluster's ca.pem"},
	{"failed to verify certificate", "the controller's certificate does not verify against --tls-ca"},
	{"certificate is valid for", "the controller's certificate does not name the address dialled; dial it by a name its certificate lists (starlane tls cert --host)"},
	{"remote error: tls: unknown certificate authority", "the controller does not trust this client's certificate: it is not signed by the cluster CA"},
	{"remote error: tls: bad certificate", "the controller refused this client's certificate (another CA, expired, or no Starlane role)"},
	{"remote error: tls: certificate required", "the controller requires a client certificate: pass --tls-cert and --tls-key (starlane tls cert NAME --role operator)"},
	{"first record does not look like a TLS handshake", "the controller speaks plaintext: drop --tls-ca/--tls-cert/--tls-key, or start it with TLS"},
	{"error reading server preface: EOF", "the controller closed the connection at once: it probably requires TLS; pass --tls-ca, --tls-cert and --tls-key"},
}

// tlsProblem explains err when it is a TLS failure, else returns "".
func tlsProblem(err error) string {
	if status.Code(err) != codes.Unavailable {
		return ""
	}
	msg := status.Convert(err).Message()
	for _, p := range tlsProblems {
		if strings.Contains(msg, p.says) {
			return p.means
		}
	}
	return ""
}

// PlainError turns a controller's gRPC status into a plain message a user can
// act on ("controller unavailable: …" when none answered), without gRPC's
// "rpc error: code = … desc = …". TLS failures and errors that carry no status
// are returned as they are.
func PlainError(err error) error {
	if err == nil || errors.Is(err, ErrTLS) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		return errors.New("controller unavailable: " + st.Message())
	}
	return errors.New(st.Message())
}

// peekTLS is the client's TLS credentials with one step added after the
// handshake: wait briefly for the server's first bytes. With TLS 1.3 a client's
// handshake ends before the server has checked the client's certificate, so a
// server that refuses it (expired, another CA) answers with an alert the client
// only sees if it reads; gRPC writes its preface first, and the write then fails
// as a broken pipe, which says nothing of the certificate and is retried until
// the deadline. A gRPC server sends its own preface at once, so the wait is
// short; what is read is given back to gRPC.
type peekTLS struct {
	credentials.TransportCredentials
}

// peekWait bounds the wait for the server's first bytes.
const peekWait = 2 * time.Second

func (p peekTLS) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := p.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		return conn, info, err
	}
	deadline := time.Now().Add(peekWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetReadDeadline(deadline)
	buf := make([]byte, 1)
	n, rerr := conn.Read(buf)
	conn.SetReadDeadline(time.Time{})
	if rerr != nil && n == 0 {
		var ne net.Error
		if !errors.As(rerr, &ne) || !ne.Timeout() {
			conn.Close()
			return nil, nil, fmt.Errorf("tls: the server closed the connection after the handshake: %w", rerr)
		}
	}
	return &peekedConn{Conn: conn, first: buf[:n]}, info, nil
}

func (p peekTLS) Clone() credentials.TransportCredentials {
	return peekTLS{p.TransportCredentials.Clone()}
}

// peekedConn reads what the peek took before the rest of the connection.
type peekedConn struct {
	net.Conn
	first []byte
}

func (c *peekedConn) Read(b []byte) (int, error) {
	if len(c.first) > 0 {
		n := copy(b, c.first)
		c.first = c.first[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
