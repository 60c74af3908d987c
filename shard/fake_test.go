package shard

import (
	"encoding/binary"
	"errors"
	"hash/fnv"
	"io"
	"sort"
	"time"
)

// fakeSim is the tiny simulation the runtime is tested with: each player owns a
// counter that its inputs add to, and one entity per player mirrors the counter.
type fakeSim struct {
	tick     uint64
	counters map[uint32]uint64
	hash     uint64
	// stall, if set, is called before each step (tests slow ticks).
	stall func(t uint64)
}

func newFake() *fakeSim {
	f := &fakeSim{counters: map[uint32]uint64{}}
	f.hash = f.computeHash()
	return f
}

func (f *fakeSim) Step(in []Input) {
	if f.stall != nil {
		f.stall(f.tick + 1)
	}
	f.tick++
	for _, i := range in {
		var v uint64
		for _, b := range i.Data {
			v += uint64(b)
		}
		f.counters[i.Player] += v
	}
	f.hash = f.computeHash()
}

func (f *fakeSim) computeHash() uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], f.tick)
	h.Write(b[:])
	for _, id := range f.ids() {
		binary.LittleEndian.PutUint64(b[:], uint64(id)<<32^f.counters[id])
		h.Write(b[:])
	}
	return h.Sum64()
}

func (f *fakeSim) ids() []uint32 {
	ids := make([]uint32, 0, len(f.counters))
	for id := range f.counters {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func (f *fakeSim) Tick() uint64 { return f.tick }
func (f *fakeSim) Hash() uint64 { return f.hash }

func (f *fakeSim) Save(w io.Writer) error {
	buf := binary.AppendUvarint(nil, f.tick)
	buf = binary.AppendUvarint(buf, uint64(len(f.counters)))
	for _, id := range f.ids() {
		buf = binary.AppendUvarint(buf, uint64(id))
		buf = binary.AppendUvarint(buf, f.counters[id])
	}
	_, err := w.Write(buf)
	return err
}

func loadFake(r io.Reader) (Simulation, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	f := newFake()
	next := func() uint64 {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			err = errors.New("corrupt fake save")
			return 0
		}
		data = data[n:]
		return v
	}
	f.tick = next()
	n := next()
	for i := uint64(0); i < n && err == nil; i++ {
		id := next()
		f.counters[uint32(id)] = next()
	}
	f.hash = f.computeHash()
	return f, err
}

func (f *fakeSim) EntityCount() int { return len(f.counters) }

func (f *fakeSim) EntityHashes() map[uint32]uint64 {
	out := map[uint32]uint64{}
	for id, v := range f.counters {
		out[id] = v*31 + 7
	}
	return out
}

func (f *fakeSim) DescribeEntity(id uint32) string {
	return "counter of player " + string(rune('0'+id%10))
}

// testConfig returns a shard config over the fake simulation in dir.
func testConfig(dir string) Config {
	return Config{
		Name: "test", Dir: dir,
		New:  func() (Simulation, error) { return newFake(), nil },
		Load: loadFake, Epoch: 5, UPS: 600, CheckpointEvery: 50,
		JoinInput: func(p uint32, name string) []byte { return []byte{1} },
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return cond()
}

type bytesBuf struct{ b []byte }

func (w *bytesBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func bytesReader(b []byte) io.Reader { return &sliceReader{b: b} }

type sliceReader struct{ b []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
