package ctlclient

import (
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
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
