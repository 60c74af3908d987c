package controller

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/starlane/starlane/ctlclient"
	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// fullDisk is a Raft log store whose log appends fail with ENOSPC while full
// is set, as raft-wal's do when a new segment finds no room (Raft's term and
// vote, in a small file of their own, still fit).
type fullDisk struct {
	logStore
	full *atomic.Bool
}

func (d fullDisk) err() error {
	if d.full.Load() {
		return fmt.Errorf("write segment: %w", syscall.ENOSPC)
	}
	return nil
}

func (d fullDisk) StoreLogs(ls []*raft.Log) error {
	if err := d.err(); err != nil {
		return err
	}
	return d.logStore.StoreLogs(ls)
}

func (d fullDisk) IsMonotonic() bool { return true } // raft-wal's, below

func (d fullDisk) StoreLog(l *raft.Log) error { return d.StoreLogs([]*raft.Log{l}) }

// TestFullDiskSaysWhyNoLeader: a lone controller whose disk fills up loses
// leadership at its next log write and cannot keep it; a read then says that
// its disk is full and to free space (at once, not after the whole timeout),
// never only that no leader is known. Freed space, it leads and writes again.
func TestFullDiskSaysWhyNoLeader(t *testing.T) {
	t.Parallel()
	var full atomic.Bool
	tc := newCluster(t, 1, false, func(i int, c *Config) {
		c.wrapStore = func(s logStore) logStore { return fullDisk{logStore: s, full: &full} }
	})
	tc.waitLeader(15 * time.Second)
	cl := tc.client()
	create := func(ctx context.Context, name string) error {
		return cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: ctlclient.NewRequestID(), Name: name})
			return err
		})
	}
	if err := create(ctxT(t, 10*time.Second), "before"); err != nil {
		t.Fatal(err)
	}

	full.Store(true)
	// The write meets the full disk itself ("disk full: the leading controller
	// cannot write its Raft log"), or, when leadership was lost to the full disk
	// first (a slower build), the refusal that says why no leader is known.
	if err := create(ctxT(t, 10*time.Second), "during"); status.Code(err) != codes.ResourceExhausted ||
		!strings.Contains(err.Error(), "disk full") && !strings.Contains(err.Error(), "c1's disk is full") {
		t.Fatalf("write on a full disk: %v", err)
	}
	var last error
	waitFor(t, 15*time.Second, "a read to say the disk is full", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		last = cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.ListSurfaces(ctx, &pb.ListSurfacesRequest{})
			return err
		})
		return last != nil && strings.Contains(last.Error(), "c1's disk is full") &&
			strings.Contains(last.Error(), "free space in its data dir") && time.Since(start) < 2*time.Second
	})
	t.Logf("read on a full disk: %v", last)

	full.Store(false)
	waitFor(t, 20*time.Second, "writes to work again once space is freed", func() bool {
		return create(ctxT(t, 3*time.Second), fmt.Sprintf("after-%d", time.Now().UnixNano())) == nil
	})
}

// TestFullDiskOnTheLeaderOfThree: the leader of three writes its log beside
// replication (leaderlog.go), so its disk filling up shows after it has sent
// the entries on. The write the client made is either answered by the cluster
// or refused, the leader hands over to a controller with room, writes go on
// there, and the full controller catches up once space is freed.
func TestFullDiskOnTheLeaderOfThree(t *testing.T) {
	t.Parallel()
	full := make([]atomic.Bool, 3)
	tc := newCluster(t, 3, false, func(i int, c *Config) {
		c.wrapStore = func(s logStore) logStore { return fullDisk{logStore: s, full: &full[i]} }
	})
	old := tc.waitLeader(15 * time.Second)
	cl := tc.client()
	create := func(ctx context.Context, name string) error {
		id := ctlclient.NewRequestID() // the same on the client's retries: a retried write is answered, not refused as a duplicate
		return cl.Cluster(ctx, func(ctx context.Context, c pb.ClusterServiceClient) error {
			_, err := c.CreateSurface(ctx, &pb.CreateSurfaceRequest{RequestId: id, Name: name})
			return err
		})
	}
	if err := create(ctxT(t, 10*time.Second), "before"); err != nil {
		t.Fatal(err)
	}

	full[old].Store(true)
	if err := create(ctxT(t, 10*time.Second), "during"); err != nil && status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("write as the leader's disk fills: %v", err)
	}
	var n int
	waitFor(t, 15*time.Second, "writes to go on under another leader", func() bool {
		n++
		return create(ctxT(t, 3*time.Second), fmt.Sprintf("moved-%d", n)) == nil && tc.leader() != old
	})

	full[old].Store(false)
	want := tc.get(tc.leader()).Raft().LastIndex()
	waitFor(t, 20*time.Second, "the full controller to catch up once space is freed", func() bool {
		return tc.get(old).Raft().AppliedIndex() >= want
	})
}
