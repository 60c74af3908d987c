package controller

import (
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// slowStore is an in-memory log whose appends take a while, like an
// fdatasync, and can be held (an append then waits until released).
type slowStore struct {
	*raft.InmemStore
	mu   sync.Mutex
	rng  *rand.Rand
	max  time.Duration
	hold chan struct{} // non-nil: appends wait until it is closed
}

func (s *slowStore) StoreLogs(logs []*raft.Log) error {
	s.mu.Lock()
	var wait time.Duration
	if s.max > 0 {
		wait = time.Duration(s.rng.Int64N(int64(s.max)))
	}
	hold := s.hold
	s.mu.Unlock()
	time.Sleep(wait)
	if hold != nil {
		<-hold
	}
	return s.InmemStore.StoreLogs(logs)
}

func (s *slowStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

func (s *slowStore) setHold(ch chan struct{}) {
	s.mu.Lock()
	s.hold = ch
	s.mu.Unlock()
}

// countFSM records the indexes it applied.
type countFSM struct {
	mu      sync.Mutex
	applied []uint64
}

func (f *countFSM) Apply(l *raft.Log) interface{} { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *countFSM) ApplyBatch(logs []*raft.Log) []interface{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range logs {
		f.applied = append(f.applied, l.Index)
	}
	return make([]interface{}, len(logs))
}

func (f *countFSM) has(idx uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, i := range f.applied {
		if i == idx {
			return true
		}
	}
	return false
}

func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, fmt.Errorf("no snapshots here") }
func (f *countFSM) Restore(r io.ReadCloser) error       { return r.Close() }

type llNode struct {
	r     *raft.Raft
	store *slowStore
	fsm   *countFSM
	trans *raft.InmemTransport
}

// TestLeaderWritesBesideReplication: the leader sends a new entry to the
// followers while its own write of it is still under way, and nobody applies
// the entry (the leader does not answer its client, no follower learns it is
// committed) until the leader's own copy is written — though a majority of
// followers has it already. Then every member applies it.
func TestLeaderWritesBesideReplication(t *testing.T) {
	t.Parallel()
	const n = 3
	var nodes []*llNode
	var servers []raft.Server
	for i := 0; i < n; i++ {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("l%d", i)))
		servers = append(servers, raft.Server{ID: raft.ServerID(addr), Address: addr, Suffrage: raft.Voter})
		nodes = append(nodes, &llNode{store: &slowStore{InmemStore: raft.NewInmemStore()}, fsm: &countFSM{}, trans: tr})
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	for i, nd := range nodes {
		conf := raft.DefaultConfig()
		conf.LocalID = servers[i].ID
		conf.HeartbeatTimeout = 100 * time.Millisecond
		conf.ElectionTimeout = 100 * time.Millisecond
		conf.LeaderLeaseTimeout = 50 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		conf.BatchApplyCh = true
		conf.Logger = hclog.NewNullLogger()
		var rp atomic.Pointer[raft.Raft]
		ll, err := newLeaderLog(nd.store, leadsCluster(&rp), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := raft.NewRaft(conf, gatedFSM{BatchingFSM: nd.fsm, log: ll}, ll, nd.store.InmemStore, raft.NewInmemSnapshotStore(), &commitCap{Transport: nd.trans, durable: ll.Durable})
		if err != nil {
			t.Fatal(err)
		}
		rp.Store(r)
		nd.r = r
		t.Cleanup(func() {
			ll.abandon()
			r.Shutdown().Error()
			ll.Close()
		})
	}
	if err := nodes[0].r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}
	var leader *llNode
	waitFor(t, 10*time.Second, "a leader", func() bool {
		for _, nd := range nodes {
			if nd.r.State() == raft.Leader {
				leader = nd
				return true
			}
		}
		return false
	})
	if err := leader.r.Apply([]byte("first"), 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}

	hold := make(chan struct{})
	var release sync.Once
	unhold := func() { release.Do(func() { close(hold) }) }
	t.Cleanup(unhold) // before the members' shutdown (cleanups run last first)
	leader.store.setHold(hold)
	idx := leader.r.LastIndex() + 1
	f := leader.r.Apply([]byte("x"), 10*time.Second)
	waitFor(t, 5*time.Second, "both followers to have the entry on disk while the leader's write waits", func() bool {
		for _, nd := range nodes {
			if nd == leader {
				continue
			}
			if last, _ := nd.store.LastIndex(); last < idx {
				return false
			}
		}
		return true
	})
	if last, _ := leader.store.LastIndex(); last >= idx {
		t.Fatalf("the leader's store has index %d though its write is held", last)
	}
	time.Sleep(100 * time.Millisecond) // replication, commit and heartbeats get every chance to apply it
	for i, nd := range nodes {
		if nd.fsm.has(idx) {
			t.Fatalf("member %d applied index %d before the leader's copy was durable", i, idx)
		}
	}
	// One goroutine waits on the future (its Error is not safe to call from two).
	answered := errCh(f)
	select {
	case <-answered:
		t.Fatal("the leader answered its client before its own copy was durable")
	case <-time.After(50 * time.Millisecond):
	}

	unhold()
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "every member to apply the entry", func() bool {
		for _, nd := range nodes {
			if !nd.fsm.has(idx) {
				return false
			}
		}
		return true
	})
}

func errCh(f raft.Future) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f.Error() }()
	return ch
}
