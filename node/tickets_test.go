package node_test

import (
	"context"
	"testing"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/proctest"
	"github.com/starlane/starlane/internal/tlsconf"
	"github.com/starlane/starlane/player"
)

// ticketsFrom returns a player ticket source from the cluster's controllers,
// with the tests' operator token (nodes admit players with a ticket only).
func ticketsFrom(t testing.TB, ctl string) func(ctx context.Context, name string) (string, error) {
	t.Helper()
	cl, err := ctlclient.Dial(ctlclient.ParseAddrs(ctl), tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	cl.Token = proctest.Token
	ts := &player.Tickets{Ctl: cl}
	return ts.Get
}
