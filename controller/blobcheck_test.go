package controller

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	"github.com/starlane/starlane/internal/blobstore"
	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/sim"
)

// TestDamagedBlobIsRefusedSetAsideAndRefetched: a controller whose copy of a
// save was changed on disk does not hand it out; it ends the transfer with
// DataLoss naming itself, keeps the bad file in quarantine, and holds a good
// copy from a peer again within seconds. A node-style fetch through the
// controllers (the damaged one first) gets the good content from another.
func TestDamagedBlobIsRefusedSetAsideAndRefetched(t *testing.T) {
	t.Parallel()
	tc := newCluster(t, 3, false, func(i int, c *Config) {
		c.Catalog.SaveVersion = sim.SaveVersion
		c.Catalog.Bundles = []string{sim.DefaultBundle().Hash()}
	})
	leader := tc.waitLeader(15 * time.Second)
	ctx := ctxT(t, 60*time.Second)
	cc, err := grpc.NewClient(tc.get(leader).APIAddr(), ctlclient.DialOptions(mustCreds(t))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	data := testSave(t, 1)
	h := hashOf(data)
	if _, _, err := upload(ctx, cc, "base", data, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every controller to hold the save", func() bool {
		for i := range 3 {
			if _, ok := tc.get(i).blobs.Size(h); !ok {
				return false
			}
		}
		return true
	})

	victim := (leader + 1) % 3
	file := filepath.Join(tc.cfgs[victim].DataDir, "blobs", h)
	bad := append([]byte(nil), data...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(file, bad, 0o600); err != nil {
		t.Fatal(err)
	}

	vc, err := grpc.NewClient(tc.get(victim).APIAddr(), ctlclient.DialOptions(mustCreds(t))...)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	st, err := pb.NewBlobServiceClient(vc).FetchBlob(ctx, &pb.FetchBlobRequest{Sha256: h})
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for {
		m, err := st.Recv()
		if err == io.EOF {
			t.Fatalf("the damaged copy was streamed whole (%d bytes) without an error", len(got))
		}
		if err != nil {
			if status.Code(err) != codes.DataLoss || !strings.Contains(err.Error(), tc.cfgs[victim].ID+"'s copy") {
				t.Fatalf("fetch of a damaged copy: %v; want DataLoss naming %s", err, tc.cfgs[victim].ID)
			}
			break
		}
		got = append(got, m.Data...)
	}
	if len(got) == len(data) {
		t.Fatal("every byte of the damaged copy was sent before the error")
	}

	kept, _ := filepath.Glob(filepath.Join(tc.cfgs[victim].DataDir, "blobs", "quarantine", h+".*"))
	if len(kept) != 1 {
		t.Fatalf("quarantine holds %v; want the damaged copy", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != string(bad) {
		t.Fatal("the quarantined file is not the damaged copy")
	}
	waitFor(t, 10*time.Second, "the damaged controller to hold a good copy again", func() bool {
		b, err := tc.get(victim).blobs.ReadAll(h)
		return err == nil && hashOf(b) == h
	})

	// Damage it again: a fetch through the controllers, the damaged one
	// first, gets the good content and keeps nothing of the bad copy.
	if err := os.WriteFile(file, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	dst, err := blobstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	order := []int{victim, (victim + 1) % 3, (victim + 2) % 3}
	cl := tc.client(order...)
	if err := cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn) error {
		err := blobstore.Fetch(ctx, pb.NewBlobServiceClient(cc), dst, h, int64(len(data)))
		if blobstore.Elsewhere(err) {
			return status.Error(codes.Unavailable, err.Error())
		}
		return err
	}); err != nil {
		t.Fatalf("fetch with the damaged controller first: %v", err)
	}
	if b, err := dst.ReadAll(h); err != nil || hashOf(b) != h {
		t.Fatalf("fetched copy: %v", err)
	}
}
