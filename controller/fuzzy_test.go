package controller

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/starlane/starlane/proto/starlane/v1"
)

// chaosTransport wraps raft's in-memory transport and drops or delays outgoing
// RPCs, in the spirit of hashicorp/raft's fuzzy tests.
type chaosTransport struct {
	*raft.InmemTransport
	mu      sync.Mutex
	rng     *rand.Rand
	drop    float64 // probability an RPC is lost
	maxWait time.Duration
}

var errDropped = errors.New("chaos: message dropped")

func (c *chaosTransport) set(drop float64, maxWait time.Duration) {
	c.mu.Lock()
	c.drop, c.maxWait = drop, maxWait
	c.mu.Unlock()
}

func (c *chaosTransport) disturb() error {
	c.mu.Lock()
	drop := c.rng.Float64() < c.drop
	var wait time.Duration
	if c.maxWait > 0 {
		wait = time.Duration(c.rng.Int64N(int64(c.maxWait)))
	}
	c.mu.Unlock()
	time.Sleep(wait)
	if drop {
		return errDropped
	}
	return nil
}

func (c *chaosTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

func (c *chaosTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if err := c.disturb(); err != nil {
		return err
	}
	return c.InmemTransport.AppendEntries(id, target, args, resp)
}

func (c *chaosTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	if err := c.disturb(); err != nil {
		return err
	}
	return c.InmemTransport.RequestVote(id, target, args, resp)
}

func (c *chaosTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if err := c.disturb(); err != nil {
		return err
	}
	return c.InmemTransport.RequestPreVote(id, target, args, resp)
}

// recordingFSM records every command it applies, to compare the nodes' histories.
type recordingFSM struct {
	*FSM
	mu      sync.Mutex
	applied []appliedEntry
}

type appliedEntry struct {
	Index uint64
	Data  string
}

func (r *recordingFSM) Apply(l *raft.Log) interface{} { return r.ApplyBatch([]*raft.Log{l})[0] }

func (r *recordingFSM) ApplyBatch(logs []*raft.Log) []interface{} {
	r.mu.Lock()
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			r.applied = append(r.applied, appliedEntry{l.Index, string(l.Data)})
		}
	}
	r.mu.Unlock()
	return r.FSM.ApplyBatch(logs)
}

func (r *recordingFSM) history() []appliedEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]appliedEntry(nil), r.applied...)
}

type fuzzyNode struct {
	id    raft.ServerID
	r     *raft.Raft
	fsm   *recordingFSM
	inmem *raft.InmemTransport
	trans *chaosTransport
}

// TestFuzzyRaftCluster runs a five-member Raft group of controller FSMs while
// messages are dropped and delayed, members and the leader are cut off and
// healed, and clients keep writing. Afterwards every member must have applied the
// same commands in the same order, every acknowledged write must be in the state,
// and no term may have had two leaders.
func TestFuzzyRaftCluster(t *testing.T) {
	t.Parallel()
	run := 8 * time.Second
	if testing.Short() {
		run = 2 * time.Second
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	const n = 5
	var (
		nodes   []*fuzzyNode
		termsMu sync.Mutex
		leaders = map[uint64]raft.ServerID{}
		dupTerm atomic.Value
	)
	var servers []raft.Server
	for i := 0; i < n; i++ {
		id := raft.ServerID(fmt.Sprintf("f%d", i))
		addr, inmem := raft.NewInmemTransport(raft.ServerAddress(id))
		servers = append(servers, raft.Server{ID: id, Address: addr, Suffrage: raft.Voter})
		nodes = append(nodes, &fuzzyNode{id: id, inmem: inmem, fsm: &recordingFSM{FSM: NewFSM(nil)},
			trans: &chaosTransport{InmemTransport: inmem, rng: rand.New(rand.NewPCG(seed, uint64(i)+2))}})
	}
	connectAll := func(cut map[int]bool) {
		for i, a := range nodes {
			a.inmem.DisconnectAll()
			for j, b := range nodes {
				if i != j && !cut[i] && !cut[j] {
					a.inmem.Connect(b.inmem.LocalAddr(), b.inmem)
				}
			}
		}
	}
	connectAll(nil)
	for _, nd := range nodes {
		conf := raft.DefaultConfig()
		conf.LocalID = nd.id
		conf.HeartbeatTimeout = 100 * time.Millisecond
		conf.ElectionTimeout = 100 * time.Millisecond
		conf.LeaderLeaseTimeout = 50 * time.Millisecond
		conf.CommitTimeout = 5 * time.Millisecond
		conf.BatchApplyCh = true
		conf.SnapshotThreshold = 1 << 30 // keep full logs so histories compare entry by entry
		conf.Logger = hclog.NewNullLogger()
		// As in a controller: the leader's log writes run beside replication
		// (leaderlog.go), each taking up to 2 ms here like an fdatasync.
		store := raft.NewInmemStore()
		var rp atomic.Pointer[raft.Raft]
		ll, err := newLeaderLog(&slowStore{InmemStore: store, rng: rand.New(rand.NewPCG(seed, uint64(len(nodes))+100)), max: 2 * time.Millisecond}, leadsCluster(&rp), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ll.Close()
		r, err := raft.NewRaft(conf, gatedFSM{BatchingFSM: nd.fsm, log: ll}, ll, store, raft.NewInmemSnapshotStore(), &commitCap{Transport: nd.trans, durable: ll.Durable})
		if err != nil {
			t.Fatal(err)
		}
		rp.Store(r)
		nd.r = r
		id := nd.id
		r.RegisterObserver(raft.NewObserver(nil, false, func(o *raft.Observation) bool {
			// Runs on Raft's own goroutine as the state changes, so the term read
			// here is the term the node won.
			if st, ok := o.Data.(raft.RaftState); ok && st == raft.Leader {
				term := r.CurrentTerm()
				termsMu.Lock()
				if prev, ok := leaders[term]; ok && prev != id {
					dupTerm.Store(fmt.Sprintf("term %d had leaders %s and %s", term, prev, id))
				}
				leaders[term] = id
				termsMu.Unlock()
			}
			return false
		}))
		defer r.Shutdown()
	}
	if err := nodes[0].r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}

	leader := func() *fuzzyNode {
		for _, nd := range nodes {
			if nd.r.State() == raft.Leader {
				return nd
			}
		}
		return nil
	}

	// Writers: create uniquely named surfaces and toggle replicas; remember what
	// the cluster acknowledged.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ackMu sync.Mutex
	acked := map[string]bool{}
	var seq atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l := leader()
				if l == nil {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				k := seq.Add(1)
				name := fmt.Sprintf("s%d", k)
				cmd := &pb.Command{RequestId: name, UnixMs: k, Op: &pb.Command_CreateSurface{CreateSurface: &pb.CreateSurfaceCmd{Surface: &pb.Surface{Name: name, Replicas: 1}}}}
				if k%3 == 0 {
					cmd.Op = &pb.Command_SetSurfaceReplicas{SetSurfaceReplicas: &pb.SetSurfaceReplicasCmd{Name: fmt.Sprintf("s%d", k-1), Replicas: 2}}
				}
				data, _ := proto.Marshal(cmd)
				f := l.r.Apply(data, 200*time.Millisecond)
				if f.Error() == nil {
					if res := f.Response().(*pb.CommandResult); res.Code == 0 && cmd.GetCreateSurface() != nil {
						ackMu.Lock()
						acked[name] = true
						ackMu.Unlock()
					}
				}
			}
		}()
	}

	// Chaos: drops and delays on every link, plus partitions of random members
	// and of the leader.
	for _, nd := range nodes {
		nd.trans.set(0.05, 3*time.Millisecond)
	}
	// The chaos runs for run, and on a machine so loaded that elections keep
	// failing (or never start), on until enough writes got through and enough
	// terms had a leader to make the checks below mean something (up to a minute
	// more).
	deadline, hard := time.Now().Add(run), time.Now().Add(run+time.Minute)
	ackedCount := func() int {
		ackMu.Lock()
		defer ackMu.Unlock()
		return len(acked)
	}
	minTerms := 3
	if testing.Short() {
		minTerms = 2
	}
	termCount := func() int {
		termsMu.Lock()
		defer termsMu.Unlock()
		return len(leaders)
	}
	// Enough writes and enough elections: on a loaded machine a round's cut may
	// heal before anyone times out, so the chaos goes on until both are there.
	for round := 0; time.Now().Before(deadline) || (ackedCount() < 50 || termCount() < minTerms) && time.Now().Before(hard); round++ {
		cut := map[int]bool{}
		choice := rng.IntN(5)
		if round == 0 {
			choice = 0 // always exercise at least one leader isolation
			for end := time.Now().Add(10 * time.Second); leader() == nil && time.Now().Before(end); {
				time.Sleep(20 * time.Millisecond)
			}
		}
		switch choice {
		case 0, 3: // leader cut off from everyone
			if l := leader(); l != nil {
				for i, nd := range nodes {
					if nd == l {
						cut[i] = true
					}
				}
			}
		case 1: // a minority of two
			cut[rng.IntN(n)], cut[rng.IntN(n)] = true, true
		case 2: // heavy loss on one member
			nodes[rng.IntN(n)].trans.set(0.5, 10*time.Millisecond)
		}
		connectAll(cut)
		time.Sleep(time.Duration(200+rng.IntN(400)) * time.Millisecond)
		if round == 0 {
			// The first isolation lasts until another leader is elected (a slow run,
			// under -race say, still gets at least one election).
			for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				if l := leader(); l != nil && !cut[slices.Index(nodes, l)] {
					break
				}
			}
		}
		for _, nd := range nodes {
			nd.trans.set(0.05, 3*time.Millisecond)
		}
		connectAll(nil)
		time.Sleep(time.Duration(100+rng.IntN(200)) * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	// Heal completely and let everyone catch up on one final write.
	for _, nd := range nodes {
		nd.trans.set(0, 0)
	}
	connectAll(nil)
	// A new leader may still commit entries an old one replicated, so wait until
	// every member has applied the same last index and that stays so.
	for end, stable := time.Now().Add(30*time.Second), 0; stable < 3; {
		if time.Now().After(end) {
			var idx []uint64
			for _, nd := range nodes {
				idx = append(idx, nd.r.AppliedIndex())
			}
			t.Fatalf("members did not converge after healing: applied %v", idx)
		}
		l := leader()
		if l == nil || l.r.Barrier(time.Second).Error() != nil {
			stable = 0
			time.Sleep(20 * time.Millisecond)
			continue
		}
		time.Sleep(200 * time.Millisecond)
		same := l.r.State() == raft.Leader
		for _, nd := range nodes {
			same = same && nd.r.AppliedIndex() == l.r.LastIndex()
		}
		if same {
			stable++
		} else {
			stable = 0
		}
	}

	if v := dupTerm.Load(); v != nil {
		t.Fatal(v)
	}
	ref := nodes[0].fsm.history()
	if len(ref) < 50 {
		t.Fatalf("only %d commands applied; the chaos left no room for progress", len(ref))
	}
	for _, nd := range nodes[1:] {
		if diff := cmp.Diff(ref, nd.fsm.history()); diff != "" {
			t.Fatalf("%s applied a different command history than %s:\n%s", nd.id, nodes[0].id, diff)
		}
		if diff := cmp.Diff(stateOf(nodes[0].fsm.FSM), stateOf(nd.fsm.FSM), protocmp.Transform()); diff != "" {
			t.Fatalf("%s state differs:\n%s", nd.id, diff)
		}
	}
	st := stateOf(nodes[0].fsm.FSM)
	have := map[string]bool{}
	for _, s := range st.Surfaces {
		have[s.Name] = true
	}
	ackMu.Lock()
	defer ackMu.Unlock()
	for name := range acked {
		if !have[name] {
			t.Errorf("acknowledged write %s was lost", name)
		}
	}
	termsMu.Lock()
	defer termsMu.Unlock()
	t.Logf("%d commands applied, %d acknowledged creates, %d terms with a leader", len(ref), len(acked), len(leaders))
	if len(leaders) < minTerms {
		t.Errorf("only %d terms had a leader: the chaos did not force elections", len(leaders))
	}
}
