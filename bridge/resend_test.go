package bridge

import (
	"testing"
	"time"

	"github.com/starlane/starlane/shard"
)

// TestResendOverOneMessage queues more unacknowledged entries than one message holds
// (4,096) before the receiver exists, so the sender's first stream resends them in two
// messages. Every entry must be applied within seconds, without waiting for the resend
// timer. Failed on the old main: the second message was marked as a resend too, the
// receiver started over from its mark on it and dropped it as a gap, and the entries
// waited for the next resend a full Resend period later (here: a minute).
func TestResendOverOneMessage(t *testing.T) {
	const entries = 6000
	open := func(name string, p *portSim) *shard.Shard {
		sh, err := shard.Open(shard.Config{Name: name, Dir: t.TempDir(), Epoch: 1, UPS: 120, CheckpointEvery: 600,
			New: func() (shard.Simulation, error) { return p, nil }, Load: loadPortSim})
		if err != nil {
			t.Fatal(err)
		}
		sh.Start()
		t.Cleanup(func() { sh.Stop() })
		return sh
	}
	// The source exports its whole credit on its first tick, and nothing more until
	// acknowledged; the destination has room for all of it.
	a := open("a", &portSim{rate: entries, credit: entries})
	b := open("b", &portSim{room: entries})
	srv := NewServer()
	addr := serve(t, srv)
	d := &dialer{}
	defer d.close()
	cfg := Config{Node: "test", Codec: portCodec{}, Resend: time.Minute}
	route := Route{Bridge: "ab", FromSurface: "a", FromPort: "out", FromEpoch: 1, ToSurface: "b", ToPort: "in", ToEpoch: 1, ToAddress: addr}
	s, err := NewSender(cfg, a, route, d.dial)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	waitFor(t, 10*time.Second, "the sender to queue the outbox", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.queue) >= entries
	})
	r, err := NewReceiver(cfg, b, route)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	srv.Add("ab", r)
	applied := func() (n uint64) {
		_ = b.Inspect(func(sim shard.Simulation) { n = sim.(*portSim).hwm })
		return n
	}
	deadline := time.Now().Add(15 * time.Second)
	for applied() < entries && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := applied(); n < entries {
		t.Fatalf("%d of %d entries applied 15 s after the receiver came up (sender: %v; receiver: %v)", n, entries, s.Stats(), r.Stats())
	}
}
