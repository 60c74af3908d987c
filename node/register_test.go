package node

import (
	"fmt"
	"strings"
	"testing"

	"github.com/starlane/starlane/ctlclient"
)

// TestRegisterErrorBlamesTLSNotTheAddress: a node whose handshake failed
// reached the controller, so it must not be told to check --controller.
func TestRegisterErrorBlamesTLSNotTheAddress(t *testing.T) {
	t.Parallel()
	tlsErr := fmt.Errorf("%w: the controller refused the certificate given as --tls-cert as expired", ctlclient.ErrTLS)
	got := registerError([]string{"127.0.0.1:7400"}, tlsErr).Error()
	if strings.Contains(got, "check --controller") || !strings.Contains(got, "refused the certificate given as --tls-cert as expired") {
		t.Errorf("registerError = %q; want the TLS reason without blaming the address", got)
	}
}
