package shard

import (
	"context"
	"errors"
	"testing"
	"time"
)

// replicate copies the primary's executed ticks after the standby's position into
// the standby, as the replication stream does, and acknowledges them.
func replicate(t *testing.T, p, sb *Shard, name string, upto uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		pos, _, ok := sb.Position()
		if !ok {
			t.Fatal("standby has no state")
		}
		if pos >= upto {
			return
		}
		recs, err := p.ReadExecuted(ctx, pos+1, 64)
		if err != nil {
			t.Fatal(err)
		}
		rs := make([]Replicated, len(recs))
		for i, r := range recs {
			rs[i] = Replicated{Tick: r.Tick, PrevHash: r.PrevHash, Hash: r.Hash, Inputs: r.Inputs}
		}
		d, err := sb.Append(rs)
		if err != nil {
			t.Fatal(err)
		}
		p.Ack(name, d)
	}
}

func installLatest(t *testing.T, p, sb *Shard) {
	t.Helper()
	cp, err := p.Store().LatestCheckpoint(^uint64(0))
	if err != nil || cp == nil {
		t.Fatalf("primary checkpoint: %v %v", cp, err)
	}
	if err := sb.Install(cp); err != nil {
		t.Fatal(err)
	}
}

func TestStandbyFollowsConfirmsAndTakesOverWithTheSameHashes(t *testing.T) {
	t.Parallel()
	for _, hot := range []bool{true, false} {
		name := map[bool]string{true: "hot", false: "warm"}[hot]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Open(testConfig(t.TempDir()))
			if err != nil {
				t.Fatal(err)
			}
			p.SetStandbys([]string{"b"})
			p.Start()
			defer p.Stop()
			cfg := testConfig(t.TempDir())
			sb, err := OpenStandby(cfg, hot)
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Stop()
			if _, _, ok := sb.Position(); ok {
				t.Fatal("an empty standby claims a copy")
			}
			j, err := p.Join(JoinRequest{Name: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			installLatest(t, p, sb)
			for i := 0; i < 20; i++ {
				j.Session.Act([]byte{byte(i + 1)}, 0)
				time.Sleep(time.Millisecond)
			}
			if !waitFor(5*time.Second, func() bool { return p.Executed() >= 120 }) {
				t.Fatal("primary does not tick")
			}
			if c := p.Confirmed(); c > 0 {
				t.Fatalf("confirmed tick %d before the standby acknowledged anything", c)
			}
			replicate(t, p, sb, "b", 120)
			if !waitFor(5*time.Second, func() bool { return p.Confirmed() >= 120 }) {
				t.Fatalf("confirmed %d after the standby acknowledged 120", p.Confirmed())
			}
			// Stop the primary where the standby is, as a handoff does.
			last, err := p.Freeze()
			if err != nil {
				t.Fatal(err)
			}
			replicate(t, p, sb, "b", last)
			want, _ := p.HashAt(last)
			if err := sb.Promote(99); err != nil {
				t.Fatal(err)
			}
			sb.Start()
			if got, ok := sb.HashAt(last); !ok || got != want {
				t.Fatalf("promoted standby has hash %016x at tick %d, the primary had %016x", got, last, want)
			}
			if sb.Epoch() != 99 || sb.CheckEpoch(98) == nil {
				t.Fatalf("promoted standby should serve epoch 99 only, has %d", sb.Epoch())
			}
			if !waitFor(5*time.Second, func() bool { return sb.Confirmed() > last+10 }) {
				t.Fatal("promoted standby does not tick")
			}
			// The player keeps its ID on the new primary only if the table was copied;
			// here the copy of the table is the replication stream's job.
			if err := sb.Store().PutPlayers(map[string]uint32{"alice": j.Session.Player()}); err != nil {
				t.Fatal(err)
			}
			j2, err := sb.Join(JoinRequest{Name: "alice", ResumeTick: last})
			if err != nil {
				t.Fatal(err)
			}
			if j2.Checkpoint != nil || j2.Session.Player() != j.Session.Player() {
				t.Fatalf("the player should resume at %d as the same player: %+v", last, j2)
			}
		})
	}
}

func TestHotStandbyDetectsADesync(t *testing.T) {
	t.Parallel()
	// The report rebuilds the primary's state at the desync from its checkpoint
	// before it. With one every 50 ticks (two kept), at 600 UPS that one was gone
	// 170 ms after the standby installed it, and a slow run reported "no
	// checkpoint at or before tick 20"; one every 6000 ticks keeps it for 10 s.
	pcfg := testConfig(t.TempDir())
	pcfg.CheckpointEvery = 6000
	p := openStarted(t, pcfg)
	cfg := testConfig(t.TempDir())
	cfg.HashEvery = 10
	sb, err := OpenStandby(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop()
	installLatest(t, p, sb)
	if !waitFor(5*time.Second, func() bool { return p.Executed() >= 40 }) {
		t.Fatal("primary does not tick")
	}
	ctx := context.Background()
	pos, _, _ := sb.Position()
	recs, _ := p.ReadExecuted(ctx, pos+1, 30)
	rs := make([]Replicated, len(recs))
	for i, r := range recs {
		rs[i] = Replicated{Tick: r.Tick, PrevHash: r.PrevHash, Hash: r.Hash, Inputs: r.Inputs}
		if r.Tick == pos+15 {
			rs[i].Inputs = append(rs[i].Inputs, Input{Player: 9, Data: []byte{1}}) // what the primary did not do
		}
	}
	_, err = sb.Append(rs)
	var m *Mismatch
	if !errors.As(err, &m) || m.Tick%10 != 0 || m.Tick < pos+15 || m.Primary == m.Standby {
		t.Fatalf("want a mismatch at the next compared tick after %d, got %v", pos+15, err)
	}
	if sb.StandbyDesyncs() != 1 {
		t.Fatalf("desyncs = %d", sb.StandbyDesyncs())
	}
	state, err := sb.SaveState()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.ReportStandby("n2", Desync{Tick: m.Tick, Server: m.Primary, ClientHash: m.Standby}, state)
	if err != nil || len(rep.Entities) == 0 {
		t.Fatalf("report: %+v %v", rep, err)
	}
	sb.Resync()
	if _, _, ok := sb.Position(); ok {
		t.Fatal("after a desync the standby must ask for a checkpoint")
	}
	installLatest(t, p, sb)
	pos, _, _ = sb.Position()
	replicate(t, p, sb, "b", pos+30)
}

func TestReplicatedTicksMustFollowTheCopy(t *testing.T) {
	t.Parallel()
	p := openStarted(t, testConfig(t.TempDir()))
	sb, err := OpenStandby(testConfig(t.TempDir()), false)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop()
	installLatest(t, p, sb)
	if !waitFor(5*time.Second, func() bool { return p.Executed() >= 20 }) {
		t.Fatal("primary does not tick")
	}
	pos, _, _ := sb.Position()
	recs, _ := p.ReadExecuted(context.Background(), pos+2, 5)
	if _, err := sb.Append([]Replicated{{Tick: recs[0].Tick, PrevHash: recs[0].PrevHash}}); !errors.Is(err, ErrDiverged) {
		t.Fatalf("a gap must be refused, got %v", err)
	}
}

func TestStandbyResumesFromItsStoreAfterARestart(t *testing.T) {
	t.Parallel()
	for _, hot := range []bool{true, false} {
		p := openStarted(t, testConfig(t.TempDir()))
		dir := t.TempDir()
		sb, err := OpenStandby(testConfig(dir), hot)
		if err != nil {
			t.Fatal(err)
		}
		installLatest(t, p, sb)
		if !waitFor(5*time.Second, func() bool { return p.Executed() >= 130 }) {
			t.Fatal("primary does not tick")
		}
		replicate(t, p, sb, "b", 130)
		// A checkpoint the primary took later is kept too (if the primary, running on,
		// still keeps one at or before the standby's tick).
		if cp, _ := p.Store().LatestCheckpoint(130); cp != nil {
			if err := sb.StoreCheckpoint(cp); err != nil {
				t.Fatal(err)
			}
		}
		sb.Stop()
		sb, err = OpenStandby(testConfig(dir), hot)
		if err != nil {
			t.Fatal(err)
		}
		tick, hash, ok := sb.Position()
		want, _ := p.HashAt(tick)
		if !ok || tick < 129 || hash != want {
			t.Fatalf("hot=%v: reopened standby at tick %d hash %016x (ok %v); the primary had %016x", hot, tick, hash, ok, want)
		}
		replicate(t, p, sb, "b", 140)
		sb.Stop()
	}
}

func TestFreshTermDiscardsAnOldCopyButARestartKeepsIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Term, cfg.Fresh = 10, true
	s := openStarted(t, cfg)
	if !waitFor(5*time.Second, func() bool { return s.Durable() >= 60 }) {
		t.Fatal("no progress")
	}
	s.Stop()
	// The same term again (a restart): resume.
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Executed() < 60 {
		t.Fatalf("restart in the same term started over at %d", s.Executed())
	}
	s.Stop()
	// A later fresh term (the surface was placed anew): discard.
	cfg.Term = 20
	s, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Executed() != 0 {
		t.Fatalf("a fresh term resumed an old copy at tick %d", s.Executed())
	}
	s.Stop()
	// A term that must come from this node's copy, with no copy: refuse.
	cfg2 := testConfig(t.TempDir())
	cfg2.Term = 30
	if _, err := Open(cfg2); !errors.Is(err, ErrNoState) {
		t.Fatalf("want ErrNoState, got %v", err)
	}
}

// TestMoveBackAndForthInPlace hands a surface between two shards repeatedly, as live
// migration does: the old primary freezes, the new one holds its last tick and is
// promoted, the old one is demoted in place and follows. Hashes stay continuous
// and every tick is confirmed once, by the shard that ran it.
func TestMoveBackAndForthInPlace(t *testing.T) {
	t.Parallel()
	a, err := Open(testConfig(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	a.Start()
	b, err := OpenStandby(testConfig(t.TempDir()), true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	installLatest(t, a, b)
	primary, standby := a, b
	hashes := map[uint64]uint64{}
	epoch := uint64(10)
	for i := 0; i < 6; i++ {
		if i > 0 {
			primary.SetStandbys([]string{"s"})
		}
		target := primary.Executed() + 25
		if !waitFor(5*time.Second, func() bool { return primary.Executed() >= target }) {
			t.Fatalf("move %d: the primary does not tick", i)
		}
		last, err := primary.Freeze()
		if err != nil {
			t.Fatal(err)
		}
		replicate(t, primary, standby, "s", last)
		for tk := last - 20; tk <= last; tk++ {
			h, ok := primary.HashAt(tk)
			if !ok {
				t.Fatalf("no hash at %d", tk)
			}
			if old, seen := hashes[tk]; seen && old != h {
				t.Fatalf("tick %d had hash %016x, now %016x", tk, old, h)
			}
			hashes[tk] = h
		}
		if err := primary.Demote(true); err != nil {
			t.Fatal(err)
		}
		epoch++
		if err := standby.Promote(epoch); err != nil {
			t.Fatal(err)
		}
		standby.Start()
		if h, _ := standby.HashAt(last); h != hashes[last] {
			t.Fatalf("move %d: the new primary is at %016x after tick %d, the old one was at %016x", i, h, last, hashes[last])
		}
		if pos, _, ok := primary.Position(); !ok || pos != last {
			t.Fatalf("move %d: the demoted primary holds %d (ok %v), want %d", i, pos, ok, last)
		}
		primary, standby = standby, primary
	}
}
