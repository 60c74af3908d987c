package bridge

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// reasons map what gRPC and the TLS stack say of a failed bridge stream to the
// short reason `bridge list` shows. Order matters: the first match wins.
var reasons = []struct{ says, means string }{
	{"certificate signed by unknown authority", "TLS: unknown CA"},
	{"remote error: tls: unknown certificate authority", "TLS: peer does not trust our CA"},
	{"certificate is valid for", "TLS: name mismatch"},
	{"doesn't contain any IP SANs", "TLS: name mismatch"},
	{"certificate has expired", "TLS: certificate expired"},
	{"remote error: tls: bad certificate", "TLS: certificate refused"},
	{"remote error: tls: certificate required", "TLS: no client certificate"},
	{"first record does not look like a TLS handshake", "TLS: peer speaks plaintext"},
	{"error reading server preface", "TLS: peer expects TLS"},
	{"connection refused", "peer unreachable"},
	{"no route to host", "peer unreachable"},
	{"network is unreachable", "peer unreachable"},
	{"no such host", "peer unreachable (unknown host)"},
	{"i/o timeout", "peer unreachable (timeout)"},
	{"connection reset", "connection reset"},
	{"broken pipe", "connection reset"},
}

// maxReason bounds a reason passed through from a peer.
const maxReason = 160

// Reason turns a bridge stream's error into a short reason for status: "peer
// unreachable", "TLS: unknown CA", the receiver's own refusal ("port missing",
// a stale epoch), never the raw text of a gRPC status with its transport
// details. The full error goes to the node's log.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	st, isStatus := status.FromError(err)
	msg := err.Error()
	if isStatus {
		msg = st.Message()
	}
	for _, r := range reasons {
		if strings.Contains(msg, r.says) {
			return r.means
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (isStatus && st.Code() == codes.DeadlineExceeded):
		return "peer timed out"
	case errors.Is(err, context.Canceled) || (isStatus && st.Code() == codes.Canceled):
		return "stream closed"
	case isStatus && st.Code() == codes.Unavailable:
		return "peer unreachable"
	case isStatus && st.Code() == codes.Unimplemented:
		return "peer runs a Starlane without bridges of this version"
	case isStatus && (st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied):
		return "peer refused: " + clip(msg)
	}
	return clip(msg)
}

func clip(s string) string {
	if len(s) > maxReason {
		return s[:maxReason] + "…"
	}
	return s
}
