package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// recordFSM remembers every applied command. If gate is set, a batch with
// commands offers its first command on holding (without waiting for a reader)
// and then waits until gate is closed.
type recordFSM struct {
	gate    chan struct{}
	holding chan string

	mu      sync.Mutex
	applied map[string]uint64 // command data -> index
}

func (f *recordFSM) Apply(l *raft.Log) interface{} { return f.ApplyBatch([]*raft.Log{l})[0] }

func (f *recordFSM) ApplyBatch(logs []*raft.Log) []interface{} {
	out := make([]interface{}, len(logs))
	var cmds []*raft.Log
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) == 0 {
		return out
	}
	if f.gate != nil {
		select {
		case f.holding <- string(cmds[0].Data):
		default:
		}
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range logs {
		if l.Type == raft.LogCommand {
			f.applied[string(l.Data)] = l.Index
			out[i] = l.Index
		}
	}
	return out
}

func (f *recordFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (f *recordFSM) Restore(io.ReadCloser) error         { return errors.New("no snapshots") }

// singleRaft starts a one-member Raft group in memory and waits until it leads.
func singleRaft(t *testing.T, fsm raft.BatchingFSM) *raft.Raft {
	t.Helper()
	conf := raft.DefaultConfig()
	conf.LocalID = "r1"
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.BatchApplyCh = true
	conf.MaxAppendEntries = 512
	conf.Logger = nil
	conf.LogLevel = "off"
	store := raft.NewInmemStore()
	addr, trans := raft.NewInmemTransport("r1")
	r, err := raft.NewRaft(conf, fsm, store, store, raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown().Error() })
	if err := r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: "r1", Address: addr}}}).Error(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.LeaderCh():
	case <-time.After(5 * time.Second):
		t.Fatal("no leader")
	}
	return r
}

// Under concurrency every proposal gets its own entry and its own outcome.
func TestRoundsConcurrentProposalsGetTheirOwnOutcome(t *testing.T) {
	fsm := &recordFSM{applied: map[string]uint64{}}
	r := singleRaft(t, fsm)
	q := &rounds{r: r, max: 1}

	const writers, each = 32, 10
	type out struct {
		data  string
		index uint64
	}
	results := make(chan out, writers*each)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				data := fmt.Sprintf("w%d-%d", w, i)
				f, err := q.apply(context.Background(), []byte(data))
				if err != nil {
					t.Errorf("%s: %v", data, err)
					return
				}
				results <- out{data, f.Response().(uint64)}
			}
		}()
	}
	wg.Wait()
	close(results)

	fsm.mu.Lock()
	defer fsm.mu.Unlock()
	n := 0
	for res := range results {
		n++
		if got := fsm.applied[res.data]; got != res.index {
			t.Errorf("%s: the FSM applied it at index %d, the proposer was told %d", res.data, got, res.index)
		}
	}
	if n != writers*each || len(fsm.applied) != writers*each {
		t.Fatalf("%d outcomes, %d applied commands; want %d each", n, len(fsm.applied), writers*each)
	}
	if q.active != 0 || len(q.queue) != 0 {
		t.Errorf("after all proposals: %d rounds active, %d queued", q.active, len(q.queue))
	}
}

// While a round is in Raft, later proposals wait outside Raft and then enter
// together as the next round.
func TestRoundsHoldProposalsUntilTheRoundIsApplied(t *testing.T) {
	fsm := &recordFSM{applied: map[string]uint64{}, gate: make(chan struct{}), holding: make(chan string, 1)}
	r := singleRaft(t, fsm)
	q := &rounds{r: r, max: 1}

	errs := make(chan error, 11)
	go func() {
		_, err := q.apply(context.Background(), []byte("first"))
		errs <- err
	}()
	if got := <-fsm.holding; got != "first" {
		t.Fatalf("FSM holds %q, want first", got)
	}
	last := r.LastIndex()
	for i := 0; i < 10; i++ {
		go func() {
			_, err := q.apply(context.Background(), []byte(fmt.Sprintf("later-%d", i)))
			errs <- err
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		q.mu.Lock()
		queued := len(q.queue)
		q.mu.Unlock()
		if queued == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 10 later proposals queued", queued)
		}
	}
	if got := r.LastIndex(); got != last {
		t.Fatalf("Raft's log grew from %d to %d while a round was in flight", last, got)
	}
	close(fsm.gate)
	for i := 0; i < 11; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	fsm.mu.Lock()
	defer fsm.mu.Unlock()
	if len(fsm.applied) != 11 {
		t.Fatalf("applied %d commands, want 11", len(fsm.applied))
	}
	for i := 0; i < 10; i++ {
		if idx := fsm.applied[fmt.Sprintf("later-%d", i)]; idx <= fsm.applied["first"] {
			t.Errorf("later-%d applied at %d, not after first (%d)", i, idx, fsm.applied["first"])
		}
	}
}

// A proposal whose caller gives up while it waits for its round is never
// proposed; one already in Raft still reports its real outcome.
func TestRoundsDropAbandonedProposals(t *testing.T) {
	fsm := &recordFSM{applied: map[string]uint64{}, gate: make(chan struct{}), holding: make(chan string, 1)}
	r := singleRaft(t, fsm)
	q := &rounds{r: r, max: 1}

	first := make(chan error, 1)
	go func() {
		_, err := q.apply(context.Background(), []byte("first"))
		first <- err
	}()
	if got := <-fsm.holding; got != "first" { // the round in flight, held in the FSM
		t.Fatalf("FSM holds %q, want first", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		_, err := q.apply(ctx, []byte("second"))
		second <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		q.mu.Lock()
		queued := len(q.queue)
		q.mu.Unlock()
		if queued == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second proposal never queued behind the first round")
		}
	}
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned proposal: err = %v, want context.Canceled", err)
	}
	close(fsm.gate)
	if err := <-first; err != nil {
		t.Fatalf("first proposal: %v", err)
	}
	// A later proposal starts a new round and is applied; the abandoned one never is.
	if _, err := q.apply(context.Background(), []byte("third")); err != nil {
		t.Fatal(err)
	}
	fsm.mu.Lock()
	defer fsm.mu.Unlock()
	if _, ok := fsm.applied["second"]; ok {
		t.Error("the abandoned proposal was applied")
	}
	if fsm.applied["first"] == 0 || fsm.applied["third"] == 0 {
		t.Errorf("applied = %v, want first and third", fsm.applied)
	}
}

// A proposal made as Raft shuts down ends with ErrRaftShutdown. With
// BatchApplyCh, ApplyLog can leave its entry in Raft's apply channel after the
// shutdown, where nothing ever answers it (hashicorp/raft#498): the leader's
// work waited in it and the controller's Shutdown waited for the leader's work
// forever (a test binary hung in Controller.Shutdown).
func TestProposalsEndWhenRaftShutsDown(t *testing.T) {
	fsm := &recordFSM{applied: map[string]uint64{}}
	r := singleRaft(t, fsm)
	stopped := make(chan struct{})
	q := &rounds{r: r, max: 1, stopped: stopped}
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	close(stopped)
	// ApplyLog after Shutdown picks at random between failing at once and
	// queueing the entry: twenty tries queue one nearly always.
	for i := range 20 {
		done := make(chan error, 1)
		go func() {
			_, err := q.apply(context.Background(), []byte(fmt.Sprintf("after-%d", i)))
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, raft.ErrRaftShutdown) {
				t.Fatalf("proposal %d after the shutdown: %v, want ErrRaftShutdown", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("proposal %d after the shutdown has no outcome after 5 s", i)
		}
	}
	if err := waitFuture(r.Barrier(time.Second), stopped); !errors.Is(err, raft.ErrRaftShutdown) {
		t.Fatalf("barrier after the shutdown: %v, want ErrRaftShutdown", err)
	}
}
