package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"

	"github.com/klauspost/compress/zstd"

	"github.com/starlane/starlane/sim/savefile"
)

// Saves: a fixed header, then the zstd-compressed state. The header carries the format
// version, the prototype bundle's hash and a checksum of the compressed body, so that a
// save from a newer Starlane, for another mod set, truncated or corrupted is refused with
// a message saying which. Only state is saved: lanes, networks, targets and active sets
// are rebuilt on load from the entities, exactly as they were.
//
// Format history:
//
//	1  first format
//	2  production statistics keep their last-minute rings (version 1 kept totals only)
//	3  export ports keep an item filter (older saves: no filter)
//	4  bridge sequence spaces: export ports keep their space and destination, import
//	   ports what they lost, the surface its marks by space (older saves: unbound ports
//	   whose marks the first space continues)
//	5  modules, beacons, fluids and rockets: module slots and productivity bars of
//	   machines, drills and labs, beacons, fluid entities and the contents of every
//	   fluid box, rocket silos; free-slot lists for the new kinds; work counters of
//	   machines, drills and labs in 1/100 work units (older saves: none of these, work × 100)
//	6  chests keep their inventory limit, the slots inserters may fill, and inserters
//	   their item filter (older saves: every slot, no filter)

// SaveVersion is the save format this build writes.
const SaveVersion = 6

var saveMagic = [8]byte{'S', 'T', 'A', 'R', 'L', 'A', 'N', 'E'}

const headerSize = savefile.HeaderSize

// DefaultMaxStateBytes is the largest decompressed state a save or checkpoint
// may hold unless the caller sets another limit (LoadLimited): a megabase's
// state is tens of MB, so this refuses a decompression bomb long before it
// exhausts a machine.
const DefaultMaxStateBytes = 512 << 20

// ErrNewerSave is returned for saves written by a newer format version.
var ErrNewerSave = errors.New("save is from a newer Starlane")

// SaveInfo is what a save's header says.
type SaveInfo struct {
	Version    uint32
	BundleHash string
	Tick       uint64
	Name       string
	Planet     string
}

// Save writes the surface to w.
func (s *Surface) Save(w io.Writer) error { return s.save(w, SaveVersion) }

func (s *Surface) save(w io.Writer, version uint32) error {
	body := s.encodeState(version)
	// EncodeAll writes one frame that declares its content size, which readers
	// check against their limit before inflating anything.
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	zbuf := bytes.NewBuffer(zw.EncodeAll(body, nil))
	zw.Close()
	var hdr [headerSize]byte
	copy(hdr[:8], saveMagic[:])
	binary.LittleEndian.PutUint32(hdr[8:], version)
	binary.LittleEndian.PutUint32(hdr[12:], crc32.ChecksumIEEE(zbuf.Bytes()))
	binary.LittleEndian.PutUint64(hdr[16:], uint64(zbuf.Len()))
	hashBytes, err := hexDecode(s.b.Hash())
	if err != nil {
		return err
	}
	copy(hdr[24:], hashBytes)
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write save: %w", err)
	}
	if _, err := w.Write(zbuf.Bytes()); err != nil {
		return fmt.Errorf("write save: %w", err)
	}
	return nil
}

// FullHash hashes the complete state (everything a save holds). It is much more expensive
// than Hash and meant to be compared every few hundred ticks or on demand.
func (s *Surface) FullHash() uint64 {
	h := fnv.New64a()
	h.Write(s.encodeState(SaveVersion))
	return h.Sum64()
}

func hexDecode(s string) ([]byte, error) {
	if len(s) != 64 {
		return nil, fmt.Errorf("bundle hash %q is not 64 hex digits", s)
	}
	out := make([]byte, 32)
	for i := 0; i < 32; i++ {
		var v byte
		for _, c := range []byte{s[2*i], s[2*i+1]} {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= c - '0'
			case c >= 'a' && c <= 'f':
				v |= c - 'a' + 10
			default:
				return nil, fmt.Errorf("bundle hash %q is not hex", s)
			}
		}
		out[i] = v
	}
	return out, nil
}

const hexDigits = "0123456789abcdef"

func hexEncode(p []byte) string {
	out := make([]byte, 2*len(p))
	for i, b := range p {
		out[2*i], out[2*i+1] = hexDigits[b>>4], hexDigits[b&15]
	}
	return string(out)
}

// readSave reads and checks a save's header and returns its body, holding at
// most about max bytes of state however the save lies. The compressed body is
// read as it arrives (a header claiming gigabytes allocates nothing up front),
// and the state is decompressed into a buffer of the size the zstd frame
// declares, refused when that is over max and cut off one byte past it (a bomb
// that declares little and inflates much). Saves without a declared size (older
// builds) are cut off at max.
func readSave(r io.Reader, max int64) (SaveInfo, []byte, error) {
	var info SaveInfo
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return info, nil, fmt.Errorf("not a Starlane save: it ends before its header (%d bytes)", headerSize)
	} else if err != nil {
		return info, nil, fmt.Errorf("not a Starlane save (header: %w)", err)
	}
	h, err := savefile.Parse(hdr[:], SaveVersion)
	info.Version, info.BundleHash = h.Version, h.BundleHash
	if errors.Is(err, savefile.ErrNewer) {
		return info, nil, fmt.Errorf("%w: the save has format version %d, this build reads versions 1 to %d; upgrade Starlane to load it",
			ErrNewerSave, info.Version, SaveVersion)
	}
	if err != nil {
		return info, nil, err
	}
	sum, n := h.BodySum, h.BodyLen
	if n > uint64(max) {
		return info, nil, fmt.Errorf("corrupt save: body length %d exceeds the %d byte limit", n, max)
	}
	var zb bytes.Buffer
	if _, err := zb.ReadFrom(io.LimitReader(r, int64(n))); err != nil {
		return info, nil, fmt.Errorf("read save: %w", err)
	}
	z := zb.Bytes()
	if uint64(len(z)) != n {
		return info, nil, fmt.Errorf("truncated save: want %d bytes of body, got %d", n, len(z))
	}
	if crc32.ChecksumIEEE(z) != sum {
		return info, nil, errors.New("corrupt save: body checksum mismatch")
	}
	body, err := inflate(z, max)
	if err != nil {
		return info, nil, fmt.Errorf("corrupt save: %w", err)
	}
	return info, body, nil
}

// inflate decompresses a save body into a buffer of exactly its size, never
// holding more than max bytes of state (see readSave). A frame that declares
// its size is refused when that is over max and when it inflates to anything
// else; one that does not (saves of older builds) is measured first by
// decompressing into nothing, then decoded into a buffer of that size.
func inflate(z []byte, max int64) ([]byte, error) {
	var fh zstd.Header
	if err := fh.Decode(z); err != nil {
		return nil, err
	}
	zr, err := zstd.NewReader(bytes.NewReader(z), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)),
		zstd.WithDecoderMaxWindow(uint64(min(max, zstd.MaxWindowSize))))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	size := int64(fh.FrameContentSize)
	if !fh.HasFCS {
		n, err := io.Copy(io.Discard, io.LimitReader(zr, max+1))
		if err != nil {
			return nil, err
		}
		if n > max {
			return nil, fmt.Errorf("the state inflates past the %d byte limit", max)
		}
		if err := zr.Reset(bytes.NewReader(z)); err != nil {
			return nil, err
		}
		size = n
	} else if fh.FrameContentSize > uint64(max) {
		return nil, fmt.Errorf("the state declares %d bytes, over the %d byte limit", fh.FrameContentSize, max)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(zr, body); err != nil {
		return nil, fmt.Errorf("the state is shorter than the %d bytes it declares: %w", size, err)
	}
	if n, _ := io.Copy(io.Discard, io.LimitReader(zr, 1)); n > 0 {
		return nil, fmt.Errorf("the state inflates past the %d bytes it declares", size)
	}
	return body, nil
}

// ReadSaveInfo reads a save's header and identity without building the surface.
func ReadSaveInfo(r io.Reader) (SaveInfo, error) {
	info, body, err := readSave(r, DefaultMaxStateBytes)
	if err != nil {
		return info, err
	}
	d := decoder{buf: body}
	info.Name, info.Planet = d.str(maxName), d.str(maxName)
	d.u()
	info.Tick = d.u()
	return info, d.err
}

// Load reads a save made with bundle b, with at most DefaultMaxStateBytes of
// state.
func Load(b *Bundle, r io.Reader) (*Surface, error) { return LoadLimited(b, r, DefaultMaxStateBytes) }

// LoadLimited reads a save made with bundle b whose state is at most max bytes.
func LoadLimited(b *Bundle, r io.Reader, max int64) (*Surface, error) {
	info, body, err := readSave(r, max)
	if err != nil {
		return nil, err
	}
	var rm *remap
	if info.BundleHash != b.Hash() {
		rm, err = legacyRemap(b, info.BundleHash)
		if err != nil {
			return nil, err
		}
		if rm == nil {
			return nil, fmt.Errorf("save was made with prototype bundle %s, this build has %s: load it with the same bundle",
				info.BundleHash[:12], b.ShortHash())
		}
	}
	s, err := decodeState(b, body, info.Version, rm)
	if err != nil {
		return nil, fmt.Errorf("corrupt save: %w", err)
	}
	return s, nil
}

func (s *Surface) encodeState(version uint32) []byte {
	var e encoder
	e.buf = make([]byte, 0, 1<<16)
	e.str(s.name)
	e.str(s.planet)
	e.u(s.seed)
	e.u(s.tick)
	for _, v := range s.rng.s {
		e.u(v)
	}
	e.u(s.hash)
	e.u(uint64(len(s.gen.patches)))
	for _, p := range s.gen.patches {
		e.u(uint64(p.Resource))
		e.i(int64(p.X))
		e.i(int64(p.Y))
		e.i(int64(p.W))
		e.i(int64(p.H))
		e.u(uint64(p.Amount))
	}
	// Research.
	f := &s.force
	e.i(int64(f.research))
	e.b(f.repeat)
	e.i(f.progress)
	e.u(uint64(len(f.done)))
	for _, d := range f.done {
		e.b(d)
	}
	e.i(int64(f.inserterBonus))
	e.i(int64(f.bulkBonus))

	// Touched chunks, in key order.
	keys := make([]chunkKey, 0, len(s.chunks))
	for k, c := range s.chunks {
		if c.mined {
			keys = append(keys, k)
		}
	}
	sortChunkKeys(keys)
	e.u(uint64(len(keys)))
	for _, k := range keys {
		c := s.chunks[k]
		e.i(int64(k.cx))
		e.i(int64(k.cy))
		for i := range c.amount {
			e.u(uint64(c.amount[i]))
		}
	}

	// Entities.
	e.u(uint64(len(s.ents)))
	for i := 1; i < len(s.ents); i++ {
		en := &s.ents[i]
		e.i(int64(en.proto))
		if en.proto < 0 {
			continue
		}
		e.u(uint64(en.dir))
		e.i(int64(en.x))
		e.i(int64(en.y))
		e.i(int64(en.slot))
	}
	labelIDs := make([]EntityID, 0, len(s.labels))
	for id := range s.labels {
		labelIDs = append(labelIDs, id)
	}
	sortIDs(labelIDs)
	e.u(uint64(len(labelIDs)))
	for _, id := range labelIDs {
		e.u(uint64(id))
		e.str(s.labels[id])
	}
	for k := range s.free {
		if version < 5 && Kind(k) >= KindBeacon {
			continue
		}
		e.u(uint64(len(s.free[k])))
		for _, v := range s.free[k] {
			e.i(int64(v))
		}
	}

	// Kind state, slot by slot.
	e.u(uint64(len(s.belts)))
	for i := range s.belts {
		s.encodeBeltNode(&e, int32(i))
	}
	e.u(uint64(len(s.splitters)))
	for i := range s.splitters {
		s.encodeSplitter(&e, int32(i))
	}
	e.u(uint64(len(s.ins)))
	for i := range s.ins {
		s.encodeInserter(&e, int32(i), version)
	}
	e.u(uint64(len(s.crafters)))
	for i := range s.crafters {
		s.encodeCrafter(&e, int32(i), version)
	}
	e.u(uint64(len(s.drills)))
	for i := range s.drills {
		s.encodeDrill(&e, int32(i), version)
	}
	e.u(uint64(len(s.labs)))
	for i := range s.labs {
		s.encodeLab(&e, int32(i), version)
	}
	e.u(uint64(len(s.chests)))
	for i := range s.chests {
		s.encodeContainer(&e, int32(i), version)
	}
	e.u(uint64(len(s.ports)))
	for i := range s.ports {
		s.encodePort(&e, int32(i))
		if version >= 3 {
			p := &s.ports[i]
			e.u(uint64(len(p.filter)))
			for _, f := range p.filter {
				e.u(uint64(f))
			}
			encodeCounts(&e, p.moved)
			encodeCounts(&e, p.acked)
		}
		if version >= 4 {
			p := &s.ports[i]
			e.u(p.space)
			e.str(p.dest)
			e.i(p.lost)
		}
	}
	if version >= 4 {
		e.u(uint64(len(s.marks)))
		for _, m := range s.marks {
			e.u(m.space)
			e.u(m.seq)
			e.u(m.used)
		}
	}
	e.u(uint64(len(s.poles)))
	for i := range s.poles {
		e.u(uint64(s.poles[i].ent))
	}
	e.u(uint64(len(s.gens)))
	for i := range s.gens {
		e.u(uint64(s.gens[i].ent))
		e.i(s.gens[i].energy)
	}
	if version >= 5 {
		e.u(uint64(len(s.beacons)))
		for i := range s.beacons {
			e.u(uint64(s.beacons[i].ent))
			encodeMods(&e, &s.beacons[i].mods)
		}
		s.encodeFluids(&e)
	}

	// Lanes (their layout is rebuilt from the belts; items are saved lane by lane).
	e.u(uint64(len(s.lanes)))
	for li := range s.lanes {
		l := &s.lanes[li]
		e.i(int64(l.length))
		e.u(uint64(l.n))
		for j := int32(0); j < l.n; j++ {
			e.u(uint64(s.itemAt(l, j)))
			e.i(int64(*s.gapAt(l, j)))
		}
	}
	e.u(uint64(len(s.nets)))
	for i := range s.nets {
		e.i(int64(s.nets[i].sat))
		e.i(s.nets[i].energy)
	}

	// Players.
	e.u(uint64(len(s.players)))
	for _, p := range s.players {
		e.u(uint64(p.id))
		e.str(p.name)
		e.i(int64(p.pos.X))
		e.i(int64(p.pos.Y))
		e.b(p.online)
		e.u(uint64(len(p.inv)))
		for _, st := range p.inv {
			e.u(uint64(st.Item))
			e.i(int64(st.Count))
		}
	}

	// Statistics.
	st := &s.stats
	e.i(st.researched)
	for _, c := range []*counter{&st.produced, &st.consumed, &st.lab} {
		for i := range c.total {
			e.i(c.total[i])
			if version >= 2 {
				e.i(c.cur[i])
				e.i(c.minute[i])
				for _, v := range c.ring[i] {
					e.i(v)
				}
			}
		}
	}
	for _, arr := range [][]int64{st.created, st.voided, st.spilled, st.bridgedOut, st.bridgedIn} {
		for _, v := range arr {
			e.i(v)
		}
	}
	return e.buf
}

// encodeCounts writes the non-zero entries of a per-item count list.
func encodeCounts(e *encoder, list []int64) {
	n := 0
	for _, v := range list {
		if v != 0 {
			n++
		}
	}
	e.u(uint64(n))
	for id, v := range list {
		if v != 0 {
			e.u(uint64(id))
			e.i(v)
		}
	}
}

func encodeBurner(e *encoder, b *burnerState) {
	e.u(uint64(b.fuel))
	e.i(int64(b.n))
	e.i(b.energy)
}

func sortChunkKeys(k []chunkKey) {
	sortSlice(k, func(a, b chunkKey) bool { return a.cy < b.cy || (a.cy == b.cy && a.cx < b.cx) })
}

func sortIDs(ids []EntityID) { sortSlice(ids, func(a, b EntityID) bool { return a < b }) }

// Per-record encoders, shared by saves, the full hash and per-entity digests.

func (s *Surface) encodeBeltNode(e *encoder, i int32) {
	n := &s.belts[i]
	e.u(uint64(n.ent))
	e.b(n.alive)
	e.u(uint64(n.kind))
	e.u(uint64(n.dir))
	e.i(int64(n.x))
	e.i(int64(n.y))
	e.b(n.out)
	e.i(int64(n.split))
	e.u(uint64(n.side))
}

func (s *Surface) encodeSplitter(e *encoder, i int32) {
	sp := &s.splitters[i]
	e.u(uint64(sp.ent))
	e.i(int64(sp.node[0]))
	e.i(int64(sp.node[1]))
	e.i(int64(sp.inPrio))
	e.i(int64(sp.outPrio))
	e.u(uint64(sp.filter))
	e.u(uint64(sp.toggle[0]))
	e.u(uint64(sp.toggle[1]))
}

func (s *Surface) encodeInserter(e *encoder, i int32, version uint32) {
	in := &s.ins[i]
	e.u(uint64(in.ent))
	e.u(uint64(in.state))
	e.i(int64(s.napMove(i)))
	e.u(uint64(in.hand))
	e.i(int64(in.handN))
	encodeBurner(e, &in.fuel)
	if version >= 6 && in.ent != 0 {
		e.u(uint64(in.fmode))
		if in.fmode != filterOff {
			for _, f := range in.filter {
				e.u(uint64(f))
			}
		}
	}
}

func (s *Surface) encodeCrafter(e *encoder, i int32, version uint32) {
	c := &s.crafters[i]
	e.u(uint64(c.ent))
	e.i(int64(c.recipe))
	for _, v := range c.in {
		e.i(int64(v))
	}
	for _, v := range c.out {
		e.i(int64(v))
	}
	e.i(workIn(c.work, version))
	e.b(c.crafting)
	encodeBurner(e, &c.fuel)
	if version >= 5 {
		encodeMods(e, &c.mods)
		e.i(int64(c.bonus))
		x := c.x
		if x == nil {
			x = &crafterExt{}
		}
		for _, a := range x.fout {
			e.i(int64(a))
		}
		st := &x.silo
		e.i(int64(st.parts))
		e.u(uint64(st.cargo))
		e.i(int64(st.launch))
		e.u(uint64(st.res))
		e.i(int64(st.resN))
	}
}

// workIn converts a work counter to a save version's units.
func workIn(w int64, version uint32) int64 {
	if version < 5 {
		return w / effOne
	}
	return w
}

func encodeMods(e *encoder, m *modSlots) {
	for _, id := range m {
		e.u(uint64(id))
	}
}

func (s *Surface) encodeDrill(e *encoder, i int32, version uint32) {
	d := &s.drills[i]
	e.u(uint64(d.ent))
	e.u(uint64(len(d.tiles)))
	for _, t := range d.tiles {
		e.i(int64(t.X))
		e.i(int64(t.Y))
	}
	e.i(int64(d.cur))
	e.i(workIn(s.napWork(i), version))
	e.u(uint64(d.held))
	e.b(d.done)
	encodeBurner(e, &d.fuel)
	if version >= 5 {
		encodeMods(e, &d.mods)
		e.i(int64(d.bonus))
		e.i(int64(d.extra))
		e.u(uint64(d.last))
	}
}

func (s *Surface) encodeLab(e *encoder, i int32, version uint32) {
	l := &s.labs[i]
	e.u(uint64(l.ent))
	for _, v := range l.packs {
		e.i(int64(v))
	}
	e.i(workIn(l.work, version))
	e.b(l.working)
	if version >= 5 {
		encodeMods(e, &l.mods)
		e.i(int64(l.bonus))
	}
}

func (s *Surface) encodeContainer(e *encoder, i int32, version uint32) {
	c := &s.chests[i]
	e.u(uint64(c.ent))
	if c.ent == 0 {
		return
	}
	for _, st := range s.stacks[c.off : c.off+c.n] {
		e.u(uint64(st.Item))
		e.i(int64(st.Count))
	}
	e.b(c.inf != nil)
	if c.inf != nil {
		e.b(c.inf.RemoveUnfiltered)
		e.u(uint64(len(c.inf.Filters)))
		for _, f := range c.inf.Filters {
			e.str(f.Item)
			e.i(int64(f.Count))
			e.str(f.Mode)
		}
	}
	e.i(int64(c.port))
	if version >= 6 {
		e.i(int64(c.bar))
	}
}

func (s *Surface) encodePort(e *encoder, i int32) {
	p := &s.ports[i]
	e.u(uint64(p.ent))
	e.b(p.export)
	e.u(p.seq)
	e.i(p.credit)
	e.u(uint64(len(p.outbox)))
	for _, o := range p.outbox {
		e.u(o.Seq)
		e.u(o.Tick)
		e.u(uint64(o.Item))
		e.i(int64(o.Count))
	}
}

// EntityHashes returns a digest of every live entity's state (position, direction and
// what it holds, belt items included), by entity ID. Comparing two peers' digests names
// the entities a desync touched.
func (s *Surface) EntityHashes() map[uint32]uint64 {
	out := make(map[uint32]uint64, len(s.ents))
	var e encoder
	for id := 1; id < len(s.ents); id++ {
		en := &s.ents[id]
		if !en.alive() {
			continue
		}
		e.buf = e.buf[:0]
		e.i(int64(en.proto))
		e.u(uint64(en.dir))
		e.i(int64(en.x))
		e.i(int64(en.y))
		switch en.kind {
		case KindBelt, KindUnderground, KindSplitter:
			for _, st := range s.contents(EntityID(id)) {
				e.u(uint64(st.Item))
				e.i(int64(st.Count))
			}
			if en.kind == KindSplitter {
				s.encodeSplitter(&e, en.slot)
			}
		case KindInserter:
			s.encodeInserter(&e, en.slot, SaveVersion)
		case KindAssembler, KindFurnace, KindRocketSilo:
			s.encodeCrafter(&e, en.slot, SaveVersion)
		case KindDrill:
			s.encodeDrill(&e, en.slot, SaveVersion)
		case KindLab:
			s.encodeLab(&e, en.slot, SaveVersion)
		case KindBeacon:
			encodeMods(&e, &s.beacons[en.slot].mods)
		case KindPipe, KindPump, KindOffshorePump, KindBoiler, KindPumpjack:
			// The entity's own state and its segments' contents, so a desync in a
			// fluid system names the entities of the segments that differ.
			fe := &s.fents[en.slot]
			encodeBurner(&e, &fe.fuel)
			e.i(fe.work)
			e.i(int64(fe.held))
			encodeMods(&e, &fe.mods)
			e.i(int64(fe.bonus))
			for _, si := range fe.seg {
				if sg := s.seg(si); sg != nil {
					e.u(uint64(sg.Fluid))
					e.i(int64(sg.Amount))
				}
			}
		case KindSteamEngine:
			if sg := s.seg(s.gens[en.slot].seg); sg != nil {
				e.u(uint64(sg.Fluid))
				e.i(int64(sg.Amount))
			}
		case KindContainer, KindInfinityChest, KindBridgeExport, KindBridgeImport:
			s.encodeContainer(&e, en.slot, SaveVersion)
			if c := &s.chests[en.slot]; c.port >= 0 {
				s.encodePort(&e, c.port)
			}
		}
		h := fnv.New64a()
		h.Write(e.buf)
		out[uint32(id)] = h.Sum64()
	}
	return out
}
