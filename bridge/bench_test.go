package bridge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/starlane/starlane/shard"
)

// portSim is a synthetic simulation with one export port ("out", entity 1) and one
// import port ("in", entity 2) and nothing else. Each tick it exports up to rate stacks
// within its credit. It lets the benchmark push far more stacks through a bridge than a
// factory's port can (one inventory, 48 stacks, per tick).
type portSim struct {
	tick   uint64
	rate   int
	seq    uint64
	acked  uint64
	credit int64
	outbox []portEntry
	out    int64
	hwm    uint64
	in     int64
	room   int64
	hash   uint64
	space  uint64
	dest   string
}

type portEntry struct{ seq, tick uint64 }

func (p *portSim) Step(inputs []shard.Input) {
	p.tick++
	for _, in := range inputs {
		if len(in.Data) == 0 {
			continue
		}
		switch in.Data[0] {
		case 'B':
			space, n := binary.Uvarint(in.Data[1:])
			if p.space == 0 {
				p.space, p.dest = space, string(in.Data[1+n:])
			}
		case 'D':
			first, n := binary.Uvarint(in.Data[1:])
			count, _ := binary.Uvarint(in.Data[1+n:])
			for seq := first; seq < first+count; seq++ {
				if seq == p.hwm+1 {
					p.hwm++
					p.in++
				}
			}
		case 'A':
			seq, n := binary.Uvarint(in.Data[1:])
			credit, _ := binary.Varint(in.Data[1+n:])
			i := sort.Search(len(p.outbox), func(i int) bool { return p.outbox[i].seq > seq })
			p.outbox = append(p.outbox[:0], p.outbox[i:]...)
			p.acked = max(p.acked, seq)
			p.credit = credit
		}
	}
	for k := 0; k < p.rate && int64(len(p.outbox)) < p.credit; k++ {
		p.seq++
		p.outbox = append(p.outbox, portEntry{p.seq, p.tick})
		p.out++
	}
	p.hash = p.hash*0x100000001b3 ^ p.seq ^ p.hwm<<32 ^ p.tick
}

func (p *portSim) Tick() uint64 { return p.tick }
func (p *portSim) Hash() uint64 { return p.hash }

func (p *portSim) Save(w io.Writer) error {
	var buf []byte
	for _, v := range []uint64{p.tick, uint64(p.rate), p.seq, p.acked, uint64(p.credit), uint64(p.out), p.hwm, uint64(p.in), uint64(p.room), p.hash, p.space, uint64(len(p.dest))} {
		buf = binary.AppendUvarint(buf, v)
	}
	buf = append(buf, p.dest...)
	buf = binary.AppendUvarint(buf, uint64(len(p.outbox)))
	for _, e := range p.outbox {
		buf = binary.AppendUvarint(buf, e.seq)
		buf = binary.AppendUvarint(buf, e.tick)
	}
	_, err := w.Write(buf)
	return err
}

func loadPortSim(r io.Reader) (shard.Simulation, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	next := func() uint64 {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			err = errors.New("short portSim state")
			return 0
		}
		data = data[n:]
		return v
	}
	p := &portSim{}
	p.tick, p.rate, p.seq, p.acked = next(), int(next()), next(), next()
	p.credit, p.out, p.hwm, p.in, p.room, p.hash = int64(next()), int64(next()), next(), int64(next()), int64(next()), next()
	p.space = next()
	if dl := next(); err == nil && dl <= uint64(len(data)) {
		p.dest, data = string(data[:dl]), data[dl:]
	}
	n := next()
	for i := uint64(0); i < n && err == nil; i++ {
		p.outbox = append(p.outbox, portEntry{next(), next()})
	}
	return p, err
}

func (p *portSim) BridgePort(name string) (uint32, bool, error) {
	switch name {
	case "out":
		return 1, true, nil
	case "in":
		return 2, false, nil
	}
	return 0, false, fmt.Errorf("no port %q", name)
}

func (p *portSim) BridgeOutbox(_ uint32, after uint64, fn func(seq, tick uint64, item string, count int32) bool) {
	i := sort.Search(len(p.outbox), func(i int) bool { return p.outbox[i].seq > after })
	for _, e := range p.outbox[i:] {
		if !fn(e.seq, e.tick, "iron-plate", 100) {
			return
		}
	}
}

func (p *portSim) BridgeExportState(uint32) (uint64, uint64, int64) { return p.seq, p.acked, p.credit }
func (p *portSim) BridgeImportState(uint32) (uint64, int64)         { return p.hwm, p.room }
func (p *portSim) BridgePortSpace(uint32) (uint64, string)          { return p.space, p.dest }
func (p *portSim) BridgeImportMark(uint64) (uint64, bool)           { return p.hwm, p.hwm > 0 }
func (p *portSim) BridgeImportLost(uint32) int64                    { return 0 }
func (p *portSim) BridgePortFilter(uint32) []string                 { return nil }
func (p *portSim) CheckItems([]string) error                        { return nil }
func (p *portSim) BridgeCounts(port uint32) (map[string]int64, map[string]int64) {
	if port == 1 {
		return map[string]int64{"iron-plate": p.out * 100}, map[string]int64{"iron-plate": int64(p.acked) * 100}
	}
	return map[string]int64{"iron-plate": p.in * 100}, nil
}

type portCodec struct{}

func (portCodec) BindInput(_ uint32, space uint64, dest string) []byte {
	return append(binary.AppendUvarint([]byte{'B'}, space), dest...)
}
func (portCodec) DeliverSpaceInput(_ uint32, _, _, first uint64, items []string, _ []int32) []byte {
	return binary.AppendUvarint(binary.AppendUvarint([]byte{'D'}, first), uint64(len(items)))
}
func (portCodec) AckSpaceInput(_ uint32, _, seq uint64, credit int64) []byte {
	return binary.AppendVarint(binary.AppendUvarint([]byte{'A'}, seq), credit)
}
func (portCodec) FilterInput(uint32, []string) []byte { return nil }

// timedOutlet measures the sender's work on the source's tick goroutine.
type timedOutlet struct {
	shard.Outlet
	mu    sync.Mutex
	total time.Duration
	ticks int
}

func (o *timedOutlet) Capture(sim shard.Simulation, t uint64) any {
	start := time.Now()
	v := o.Outlet.Capture(sim, t)
	o.mu.Lock()
	o.total += time.Since(start)
	o.ticks++
	o.mu.Unlock()
	return v
}

// wrappedShard lets the benchmark wrap the sender's outlet to time it.
type wrappedShard struct {
	*shard.Shard
	timer *timedOutlet
}

func (w *wrappedShard) AddOutlet(o shard.Outlet) {
	w.timer.Outlet = o
	w.Shard.AddOutlet(w.timer)
}
func (w *wrappedShard) RemoveOutlet(shard.Outlet) { w.Shard.RemoveOutlet(w.timer) }

// BenchmarkBridgeThroughput pushes a synthetic source's stacks through one bridge
// between two shards ticking at 60 UPS, over gRPC on loopback, for ten seconds, and
// reports the sustained rate, the export-to-apply latency and the sender's cost on the
// source's tick. Run it with -benchtime 1x.
func BenchmarkBridgeThroughput(b *testing.B) {
	const perTick = 2000 // 120,000 stacks/s at 60 UPS
	for i := 0; i < b.N; i++ {
		dirA, dirB := b.TempDir(), b.TempDir()
		open := func(dir, name string, rate int) *shard.Shard {
			sh, err := shard.Open(shard.Config{Name: name, Dir: dir, Epoch: 1, CheckpointEvery: 600,
				New:  func() (shard.Simulation, error) { return &portSim{rate: rate, room: 1 << 30}, nil },
				Load: loadPortSim})
			if err != nil {
				b.Fatal(err)
			}
			sh.Start()
			return sh
		}
		a, bs := open(dirA, "a", perTick), open(dirB, "b", 0)
		srv := NewServer()
		addr := serve(b, srv)
		d := &dialer{}
		cfg := Config{Node: "bench", Codec: portCodec{}, MaxBatch: 4096}
		route := Route{Bridge: "ab", FromSurface: "a", FromPort: "out", FromEpoch: 1, ToSurface: "b", ToPort: "in", ToEpoch: 1, ToAddress: addr}
		r, err := NewReceiver(cfg, bs, route)
		if err != nil {
			b.Fatal(err)
		}
		srv.Add("ab", r)
		timer := &timedOutlet{}
		s, err := NewSender(cfg, &wrappedShard{a, timer}, route, d.dial)
		if err != nil {
			b.Fatal(err)
		}
		applied := func() (n int64) {
			_ = bs.Inspect(func(sim shard.Simulation) { n = sim.(*portSim).in })
			return n
		}
		time.Sleep(3 * time.Second) // warm up: streams open, credit granted
		r.Stats()
		timer.mu.Lock()
		timer.total, timer.ticks = 0, 0
		timer.mu.Unlock()
		start, n0 := time.Now(), applied()
		time.Sleep(10 * time.Second)
		elapsed, n1 := time.Since(start), applied()
		st := r.Stats()
		timer.mu.Lock()
		captureUS := float64(timer.total.Microseconds()) / float64(max(timer.ticks, 1))
		timer.mu.Unlock()
		s.Stop()
		r.Stop()
		a.Stop()
		bs.Stop()
		d.close()
		rate := float64(n1-n0) / elapsed.Seconds()
		b.ReportMetric(rate, "stacks/s")
		b.ReportMetric(st.LatencyTicksP50, "latency-p50-ticks")
		b.ReportMetric(st.LatencyTicksP99, "latency-p99-ticks")
		b.ReportMetric(captureUS, "sender-us/tick")
	}
}

// BenchmarkSenderCapture measures the sender's work on the source's tick when the tick
// exported 2,000 stacks (120,000 stacks/s at 60 UPS): reading the new outbox entries.
func BenchmarkSenderCapture(b *testing.B) {
	const perTick = 2000
	p := &portSim{rate: perTick, credit: 1 << 30}
	p.Step(nil)
	s := &Sender{cfg: Config{Now: time.Now}}
	s.port.Store(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.capSeq = p.seq - perTick
		s.capFirst.Store(false)
		v := s.Capture(p, p.tick).(captureOut)
		if len(v.entries) != perTick {
			b.Fatalf("captured %d entries", len(v.entries))
		}
	}
}
