package ctlclient

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
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
