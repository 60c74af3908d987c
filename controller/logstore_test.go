package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hashicorp/raft-wal/migrate"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

func listSurfaceNames(t *testing.T, cl *ctlclient.Client) []string {
	t.Helper()
	var names []string
	err := cl.Cluster(ctxT(t, 30*time.Second), func(ctx context.Context, c pb.ClusterServiceClient) error {
		r, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{})
		names = nil
		for _, s := range r.GetSurfaces() {
			names = append(names, s.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestMigrateBoltLog starts a controller on a data dir laid out by earlier
// versions (the Raft log in raft.db, raft-boltdb): it moves the log into
// raft-wal/, keeps raft.db aside, and serves every surface written before; a
// second start uses the WAL as it is.
func TestMigrateBoltLog(t *testing.T) {
	tc := newCluster(t, 1, true, nil)
	cl := tc.client()
	var want []string
	for i := 0; i < 12; i++ {
		name := fmt.Sprintf("s%02d", i)
		want = append(want, name)
		if err := cl.Cluster(ctxT(t, 30*time.Second), func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: name})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	tc.kill(0)

	// Turn the data dir into the old layout: the same log and term in raft.db.
	data := tc.cfgs[0].DataDir
	walDir := filepath.Join(data, walDirName)
	w, err := openWALDir(walDir, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	old, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(data, boltLogName), BoltOptions: boltOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate.CopyLogs(context.Background(), old, w, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	if err := migrate.CopyStable(context.Background(), old, w, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	old.Close()
	w.Close()
	if err := os.RemoveAll(walDir); err != nil {
		t.Fatal(err)
	}

	tc.start(0)
	tc.waitLeader(10 * time.Second)
	if got := listSurfaceNames(t, tc.client()); !slices.Equal(got, want) {
		t.Fatalf("after the migration the controller serves %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(data, boltLogName)); !os.IsNotExist(err) {
		t.Errorf("raft.db is still in place after the migration (stat: %v)", err)
	}
	kept, _ := filepath.Glob(filepath.Join(data, boltLogName+".migrated-*"))
	if len(kept) != 1 {
		t.Errorf("the migrated raft.db was not kept aside: %v", kept)
	}
	tc.kill(0)
	tc.start(0)
	tc.waitLeader(10 * time.Second)
	if got := listSurfaceNames(t, tc.client()); !slices.Equal(got, want) {
		t.Fatalf("after a restart on the migrated log the controller serves %v, want %v", got, want)
	}
}

// TestDataDirLocked: a second controller on a data dir in use fails at once
// with a message saying so, instead of waiting on the file lock.
func TestDataDirLocked(t *testing.T) {
	tc := newCluster(t, 1, true, nil)
	cfg := tc.cfgs[0]
	cfg.BindAddr = "127.0.0.1:0"
	done := make(chan error, 1)
	go func() {
		c, err := New(cfg)
		if err == nil {
			c.Shutdown(false)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "in use by another controller") {
			t.Fatalf("second controller on the same data dir: %v, want a refusal naming the dir in use", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second controller on the same data dir hangs")
	}
}
