package bridge

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestReasonIsShort: `bridge list` shows what went wrong in a few words, not
// gRPC's transport text.
func TestReasonIsShort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:7411: connect: connection refused"`), "peer unreachable"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`), "TLS: unknown CA"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: x509: certificate is valid for n1, not n2"`), "TLS: name mismatch"},
		{status.Error(codes.Unavailable, "connection error: desc = \"error reading server preface: EOF\""), "TLS: peer expects TLS"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "peer timed out"},
		{fmt.Errorf("receiver refused: %s", "surface b has no import port named in2"), "receiver refused: surface b has no import port named in2"},
		{context.Canceled, "stream closed"},
		{errors.New("the stream to the receiver broke"), "the stream to the receiver broke"},
	} {
		if got := Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q; want %q", tc.err, got, tc.want)
		}
	}
}
