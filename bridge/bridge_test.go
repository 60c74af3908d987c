package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/starlane/starlane/proto/starlane/v1"
	"github.com/starlane/starlane/shard"
	"github.com/starlane/starlane/sim"
)

// openShard runs a surface of the built-in closed "loop" map (2,000 plates).
func openShard(t *testing.T, dir, name string, epoch uint64) *shard.Shard {
	t.Helper()
	sh, err := shard.Open(shard.Config{Name: name, Dir: dir, Epoch: epoch, UPS: 240, CheckpointEvery: 300,
		New:  func() (shard.Simulation, error) { return sim.NewMap(sim.DefaultBundle(), "loop", 1, name) },
		Load: func(r io.Reader) (shard.Simulation, error) { return sim.Load(sim.DefaultBundle(), r) }})
	if err != nil {
		t.Fatal(err)
	}
	sh.Start()
	return sh
}

// serve starts a BridgeService on loopback.
func serve(t testing.TB, srv pb.BridgeServiceServer) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	pb.RegisterBridgeServiceServer(g, srv)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// dialer keeps one connection per address.
type dialer struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
}

func (d *dialer) dial(addr string) (pb.BridgeServiceClient, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conns == nil {
		d.conns = map[string]*grpc.ClientConn{}
	}
	c := d.conns[addr]
	if c == nil {
		var err error
		c, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		d.conns[addr] = c
	}
	return pb.NewBridgeServiceClient(c), nil
}

func (d *dialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
}

// census reads a surface's items and its port state at its confirmed tick, by opening
// the shard's store (the shard must be stopped).
type census struct {
	items        map[string]int64
	outbox       []outboxItem
	space        uint64 // the export port's sequence space
	s            *sim.Surface
	exported     map[string]int64
	delivered    map[string]int64
	tick         uint64
	bridgedOut   map[string]int64
	bridgedIn    map[string]int64
	createdTotal int64
}

type outboxItem struct {
	seq   uint64
	item  string
	count int32
}

// takeCensus rebuilds a stopped shard's surface at its last durable (confirmed) tick.
// The last confirmed states of all surfaces form a consistent cut, though their tick
// numbers differ (surfaces keep their own clocks): every delivery a surface applied came
// from an entry its source released only after confirming the tick that exported it, so
// that export is in the source's last confirmed state too.
func takeCensus(t *testing.T, dir, name string) census {
	t.Helper()
	return censusAt(t, dir, ^uint64(0))
}

// censusAt rebuilds a stopped shard's surface at tick at (or its newest durable tick,
// if earlier) from its store, the way a restart would, and takes the census there.
func censusAt(t *testing.T, dir string, at uint64) census {
	t.Helper()
	st, err := shard.OpenStore(filepath.Join(dir, "shard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, last, err := st.LogRange(); err == nil && last > 0 {
		at = min(at, last)
	}
	cp, err := st.LatestCheckpoint(at)
	if err != nil || cp == nil {
		t.Fatalf("no checkpoint at or before tick %d in %s: %v", at, dir, err)
	}
	s, err := sim.Load(sim.DefaultBundle(), bytes.NewReader(cp.Data))
	if err != nil {
		t.Fatal(err)
	}
	if at == ^uint64(0) {
		at = cp.Tick // no log after the checkpoint
	}
	err = st.Batches(cp.Tick+1, at, func(b shard.Batch) error {
		if b.PrevHash != s.Hash() {
			return fmt.Errorf("tick %d: the log does not follow the state", b.Tick)
		}
		s.Step(b.Inputs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return censusOf(s)
}

// censusOf takes the census of a surface's state.
func censusOf(s *sim.Surface) census {
	var c census
	c.items, c.tick = s.ItemTotals(), s.Tick()
	out, _, _ := s.BridgePort("out")
	in, _, _ := s.BridgePort("in")
	s.BridgeOutbox(out, 0, func(seq, _ uint64, item string, n int32) bool {
		c.outbox = append(c.outbox, outboxItem{seq, item, n})
		return true
	})
	c.space, _ = s.BridgePortSpace(out)
	c.s = s
	c.exported, _ = s.BridgeCounts(out)
	c.delivered, _ = s.BridgeCounts(in)
	p := s.Production()
	c.bridgedOut, c.bridgedIn = p.BridgedOut, p.BridgedIn
	for _, n := range p.Created {
		c.createdTotal += n
	}
	return c
}

// inflight sums the entries of a sender's outbox the receiver has not applied (above
// the receiver's mark for the sender's space).
func inflight(sender, receiver census) map[string]int64 {
	out := map[string]int64{}
	hwm, _ := receiver.s.BridgeImportMark(sender.space)
	for _, e := range sender.outbox {
		if e.seq > hwm {
			out[e.item] += int64(e.count)
		}
	}
	return out
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func deliveredSoFar(t *testing.T, sh *shard.Shard) int64 {
	var n int64
	_ = sh.Inspect(func(ss shard.Simulation) {
		s := ss.(*sim.Surface)
		in, _, _ := s.BridgePort("in")
		d, _ := s.BridgeCounts(in)
		for _, v := range d {
			n += v
		}
	})
	return n
}

// TestBridgeLoopConservesItems runs two surfaces whose bridges pass plates back and
// forth, with the streams cut and the shards restarted repeatedly, and checks that no
// plate is lost or duplicated: at the end, the plates in both surfaces plus those in
// flight equal the plates put in at the start.
func TestBridgeLoopConservesItems(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	const platesA, platesB = 2000, 2000
	cfg := Config{Node: "test", Codec: sim.BridgeCodec{}, Resend: 200 * time.Millisecond}
	d := &dialer{}
	defer d.close()
	srvA, srvB := NewServer(), NewServer()
	addrA, addrB := serve(t, srvA), serve(t, srvB)
	routeAB := Route{Bridge: "a-to-b", FromSurface: "a", FromPort: "out", FromEpoch: 1, ToSurface: "b", ToPort: "in", ToEpoch: 1, ToAddress: addrB}
	routeBA := Route{Bridge: "b-to-a", FromSurface: "b", FromPort: "out", FromEpoch: 1, ToSurface: "a", ToPort: "in", ToEpoch: 1, ToAddress: addrA}

	type ends struct {
		a, b     *shard.Shard
		sAB, sBA *Sender
		rAB, rBA *Receiver
	}
	start := func() ends {
		var e ends
		var err error
		e.a, e.b = openShard(t, dirA, "a", 1), openShard(t, dirB, "b", 1)
		if e.rAB, err = NewReceiver(cfg, e.b, routeAB); err != nil {
			t.Fatal(err)
		}
		if e.rBA, err = NewReceiver(cfg, e.a, routeBA); err != nil {
			t.Fatal(err)
		}
		srvB.Add("a-to-b", e.rAB)
		srvA.Add("b-to-a", e.rBA)
		if e.sAB, err = NewSender(cfg, e.a, routeAB, d.dial); err != nil {
			t.Fatal(err)
		}
		if e.sBA, err = NewSender(cfg, e.b, routeBA, d.dial); err != nil {
			t.Fatal(err)
		}
		return e
	}
	stop := func(e ends) {
		e.sAB.Stop()
		e.sBA.Stop()
		srvB.Remove("a-to-b", e.rAB)
		srvA.Remove("b-to-a", e.rBA)
		e.rAB.Stop()
		e.rBA.Stop()
		e.a.Stop()
		e.b.Stop()
	}
	rounds := 6
	if testing.Short() {
		rounds = 3
	}
	e := start()
	for round := 0; round < rounds; round++ {
		before := deliveredSoFar(t, e.b)
		waitFor(t, 20*time.Second, "plates to reach b", func() bool { return deliveredSoFar(t, e.b) > before+50 })
		// Stop both sides at an arbitrary moment and start again from their stores. This
		// is a clean stop (every executed tick is durable); the SIGKILL forms, where
		// unconfirmed ticks are lost, are TestBridgesSurviveFaults and node's
		// TestRandomKillsWithStandbys.
		stop(e)
		e = start()
	}
	waitFor(t, 20*time.Second, "plates to come back to a", func() bool { return deliveredSoFar(t, e.a) > 50 })
	stop(e)

	a, b := takeCensus(t, dirA, "a"), takeCensus(t, dirB, "b")
	flightAB, flightBA := inflight(a, b), inflight(b, a)
	total := a.items["iron-plate"] + b.items["iron-plate"] + flightAB["iron-plate"] + flightBA["iron-plate"]
	t.Logf("a holds %d (tick %d), b holds %d (tick %d), in flight a->b %d, b->a %d; a exported %d, b delivered %d",
		a.items["iron-plate"], a.tick, b.items["iron-plate"], b.tick, flightAB["iron-plate"], flightBA["iron-plate"],
		a.exported["iron-plate"], b.delivered["iron-plate"])
	if total != platesA+platesB {
		t.Fatalf("%d plates exist, %d were put in: the bridges lost or duplicated %d", total, platesA+platesB, total-platesA-platesB)
	}
	if b.delivered["iron-plate"] == 0 || a.delivered["iron-plate"] == 0 {
		t.Fatalf("nothing crossed: a->b %d, b->a %d", b.delivered["iron-plate"], a.delivered["iron-plate"])
	}
	// Per bridge: what left the source is what arrived plus what is in flight.
	if got := b.delivered["iron-plate"] + flightAB["iron-plate"]; got != a.exported["iron-plate"] {
		t.Errorf("a->b: exported %d, delivered %d + in flight %d", a.exported["iron-plate"], b.delivered["iron-plate"], flightAB["iron-plate"])
	}
}

// TestStalledReceiverBoundsMemory bridges two loop surfaces and then stalls the
// destination (its shard stops ticking, so it acknowledges nothing more). The source must
// keep at most the credit it was granted in its outbox, the sender must queue no more, and
// the plates back up in the source's export port instead of piling up anywhere.
func TestStalledReceiverBoundsMemory(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	cfg := Config{Node: "test", Codec: sim.BridgeCodec{}, Resend: 200 * time.Millisecond}
	d := &dialer{}
	defer d.close()
	srv := NewServer()
	addr := serve(t, srv)
	a, b := openShard(t, dirA, "a", 1), openShard(t, dirB, "b", 1)
	defer a.Stop()
	route := Route{Bridge: "ab", FromSurface: "a", FromPort: "out", FromEpoch: 1, ToSurface: "b", ToPort: "in", ToEpoch: 1, ToAddress: addr}
	r, err := NewReceiver(cfg, b, route)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	srv.Add("ab", r)
	s, err := NewSender(cfg, a, route, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitFor(t, 30*time.Second, "plates to cross", func() bool { return deliveredSoFar(t, b) > 30 })
	b.Stop()         // the destination stalls
	const slots = 48 // credit is at most the import port's slots
	exportPort := func() (n int64) {
		_ = a.Inspect(func(ss shard.Simulation) {
			sa := ss.(*sim.Surface)
			out, _, _ := sa.BridgePort("out")
			info, _ := sa.Entity(sim.EntityID(out))
			for _, st := range sa.Contents(sim.EntityID(info.ID)) {
				n += int64(st.Count)
			}
		})
		return n
	}
	waitFor(t, 30*time.Second, "plates to back up in the export port", func() bool { return exportPort() > 40 })
	var outbox []int
	for i := 0; i < 8; i++ {
		time.Sleep(250 * time.Millisecond)
		st := s.Stats()
		s.mu.Lock()
		q := len(s.queue)
		s.mu.Unlock()
		if st.OutboxEntries > slots || q > slots {
			t.Fatalf("with the destination stalled the source holds %d outbox entries and the sender queues %d; the bound is %d",
				st.OutboxEntries, q, slots)
		}
		outbox = append(outbox, int(st.OutboxEntries))
	}
	t.Logf("outbox entries while stalled: %v; plates backed up in the export port: %d", outbox, exportPort())
}

// receiverOn serves a receiver of route on a shard of surface b at epoch 7 and
// returns the shard, the receiver and a client of its server.
func receiverOn(t *testing.T, route Route) (*shard.Shard, *Receiver, pb.BridgeServiceClient) {
	t.Helper()
	b := openShard(t, t.TempDir(), "b", 7)
	t.Cleanup(func() { b.Stop() })
	srv := NewServer()
	addr := serve(t, srv)
	r, err := NewReceiver(Config{Codec: sim.BridgeCodec{}}, b, route)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	srv.Add(route.Bridge, r)
	d := &dialer{}
	t.Cleanup(d.close)
	client, err := d.dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	return b, r, client
}

// TestStaleEpochsAreRefused checks the receiver's fencing: a sender from an older epoch
// of the source (a fenced old primary) and a sender addressing another epoch of the
// destination are refused; a source epoch newer than the receiver knows is retried.
func TestStaleEpochsAreRefused(t *testing.T) {
	route := Route{Bridge: "ab", FromSurface: "a", FromPort: "out", FromEpoch: 5, ToSurface: "b", ToPort: "in", ToEpoch: 7}
	b, _, client := receiverOn(t, route)
	for _, tc := range []struct {
		name     string
		from, to uint64
		want     codes.Code
	}{
		{"old source primary", 4, 7, codes.FailedPrecondition},
		{"old destination epoch", 5, 6, codes.FailedPrecondition},
		{"newer destination epoch", 5, 8, codes.FailedPrecondition},
		{"source epoch not known yet", 6, 7, codes.Unavailable},
		{"no sequence space", 5, 7, codes.FailedPrecondition},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			st, err := client.Transfer(ctx)
			if err != nil {
				t.Fatal(err)
			}
			space := uint64(42)
			if tc.name == "no sequence space" {
				space = 0
			}
			st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Hello{Hello: &pb.BridgeHello{Bridge: "ab", FromSurface: "a", FromEpoch: tc.from, ToSurface: "b", ToEpoch: tc.to, Space: space}}})
			_, err = st.Recv()
			if status.Code(err) != tc.want {
				t.Fatalf("hello from epoch %d to epoch %d: %v, want %s", tc.from, tc.to, err, tc.want)
			}
		})
	}
	// The current epochs are accepted: the receiver answers with its high-water mark.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := client.Transfer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Hello{Hello: &pb.BridgeHello{Bridge: "ab", FromSurface: "a", FromEpoch: 5, ToSurface: "b", ToEpoch: 7, Space: 42}}})
	ack, err := st.Recv()
	if err != nil || ack.ToEpoch != 7 {
		t.Fatalf("current epochs: ack %v, %v", ack, err)
	}
	// A batch from a stale source epoch on an open stream ends it.
	platesBefore := plates(b)
	st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Batch{Batch: &pb.BridgeBatch{FromEpoch: 4, ToEpoch: 7, Space: 42,
		Entries: []*pb.BridgeEntry{{Seq: 1, Item: "iron-plate", Count: 1}}}}})
	for {
		if _, err := st.Recv(); err != nil {
			if status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("stale batch: %v, want FailedPrecondition", err)
			}
			break
		}
	}
	// Not right after the error: a submitted input applies a tick or more later. Let b
	// run on, then count: the stale batch's plate must not have arrived.
	at := b.Executed()
	waitFor(t, 10*time.Second, "b to run on", func() bool { return b.Executed() > at+60 })
	var hwm uint64
	var known bool
	_ = b.Inspect(func(ss shard.Simulation) { hwm, known = ss.(*sim.Surface).BridgeImportMark(42) })
	if known || hwm != 0 || plates(b) != platesBefore {
		t.Fatalf("a stale batch was applied: mark %d (known %v), %d plates on b, %d before", hwm, known, plates(b), platesBefore)
	}
}

// A stream from another node than the one the controller runs the source on is
// refused (it would replace the real sender's), and a batch with a count no
// export port sends ends the stream without spending its number.
func TestForgedSendersAndCountsAreRefused(t *testing.T) {
	route := Route{Bridge: "ab", FromSurface: "a", FromPort: "out", FromEpoch: 5, FromNode: "n1", ToSurface: "b", ToPort: "in", ToEpoch: 7}
	b, r, client := receiverOn(t, route)
	open := func(sender string) (pb.BridgeService_TransferClient, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		st, err := client.Transfer(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Hello{Hello: &pb.BridgeHello{Bridge: "ab", FromSurface: "a", FromEpoch: 5, ToSurface: "b", ToEpoch: 7, Space: 42, Sender: sender}}})
		_, err = st.Recv()
		return st, err
	}
	if _, err := open("evil"); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "comes from node n1") {
		t.Fatalf("a hello from another node: %v, want PermissionDenied", err)
	}
	for _, count := range []int32{2_000_000_000, -500, 0} {
		st, err := open("n1")
		if err != nil {
			t.Fatalf("the routed sender: %v", err)
		}
		st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Batch{Batch: &pb.BridgeBatch{FromEpoch: 5, ToEpoch: 7, Space: 42,
			Entries: []*pb.BridgeEntry{{Seq: 1, Item: "iron-plate", Count: count}}}}})
		for {
			if _, err := st.Recv(); err != nil {
				if status.Code(err) != codes.InvalidArgument {
					t.Fatalf("a batch of %d plates: %v, want InvalidArgument", count, err)
				}
				break
			}
		}
	}
	// The number was not spent: the real entry 1 still applies.
	st, err := open("n1")
	if err != nil {
		t.Fatal(err)
	}
	st.Send(&pb.BridgeSend{Msg: &pb.BridgeSend_Batch{Batch: &pb.BridgeBatch{FromEpoch: 5, ToEpoch: 7, Space: 42,
		Entries: []*pb.BridgeEntry{{Seq: 1, Item: "iron-plate", Count: 3}}}}})
	waitFor(t, 10*time.Second, "entry 1 to apply", func() bool {
		var hwm uint64
		_ = b.Inspect(func(ss shard.Simulation) { hwm, _ = ss.(*sim.Surface).BridgeImportMark(42) })
		return hwm == 1
	})
	var lost int64
	_ = b.Inspect(func(ss shard.Simulation) { lost = ss.(*sim.Surface).BridgeImportLost(r.port.Load()) })
	if lost != 0 {
		t.Errorf("%d entries counted lost", lost)
	}
}
