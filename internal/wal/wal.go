// Package wal is a write-ahead log shared by many writers: append-only segment
// files of checksummed frames, written and fsynced by one committer goroutine that
// puts everything queued since its last commit into one frame (group commit), so
// one fdatasync makes the appends of every writer durable at once.
//
// A writer is a Stream (a name); its entries carry a generation and a tick and
// opaque data. The log keeps a segment until every stream that wrote to it has
// released its entries there (the stream's owner stored them elsewhere) or closed.
// Segments found when the log opens are recovered by the caller (Scan) and then
// dropped (DropRecovered).
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Entry is one appended record of a stream.
type Entry struct {
	Stream string
	Gen    uint64
	Tick   uint64
	Data   []byte
}

// Stage names a point of a group commit, for fault injection in tests.
type Stage int

// The stages of a commit a hook is called at.
const (
	BeforeWrite  Stage = iota // the frame is encoded, nothing written
	MidWrite                  // half of the frame is written
	BeforeSync                // the frame is written, not synced
	AfterSync                 // synced, no writer told yet
	MidCallbacks              // half of the writers were told
	numStages
)

// NumStages is the number of Stage values.
const NumStages = int(numStages)

// Options tune a log.
type Options struct {
	// Interval is the shortest time between two commits: appends arriving
	// meanwhile wait and share the next fsync (one per node tick). 0 commits as
	// soon as the previous commit is done.
	Interval time.Duration
	// IdleDelay is how long entries appended with AppendLazy may wait for their
	// commit while no other entry needs one (0: no longer than any other).
	IdleDelay time.Duration
	// SegmentBytes is the size past which the log starts a new segment (64 MiB).
	SegmentBytes int64
	// Hook, if set, is called at each stage of every commit (tests kill the
	// process there).
	Hook func(Stage)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	kindDeclare = 1 // stream id, name
	kindAppend  = 2 // stream id, gen, tick, data
	frameHeader = 8 // u32 length, u32 crc32c of the payload
	maxFrame    = 1 << 30
	segSuffix   = ".wal"
)

// ErrClosed means the log was closed.
var ErrClosed = errors.New("write-ahead log closed")

// Log is an open write-ahead log directory.
type Log struct {
	dir string
	opt Options

	mu        sync.Mutex
	cond      *sync.Cond
	kick      chan struct{} // an entry that cannot wait arrived, or Close
	urgent    bool          // the queue holds an entry that cannot wait
	firstAt   time.Time     // when the queue last became non-empty
	queue     []pending
	streams   map[uint32]*Stream
	nextID    uint32
	closed    bool
	failure   error
	recovered []string // segment files found at Open

	// committer-owned
	f        *os.File
	segN     uint64
	segSize  int64
	segs     []*segment // closed segments still kept, oldest first
	active   *segment
	lastDone time.Time
	done     chan struct{}
	buf      []byte
}

type segment struct {
	path string
	max  map[uint32]uint64 // per stream, the highest tick written in it
}

type pending struct {
	st   *Stream
	gen  uint64
	tick uint64
	data []byte
	done func(error)
	decl bool // a declaration of st (its first frame in a segment)
}

// Stream is one writer of a log.
type Stream struct {
	l        *Log
	id       uint32
	name     string
	released uint64 // guarded by l.mu
	closed   bool   // guarded by l.mu
	declared uint64 // segment number it was last declared in (committer)
}

// Open opens (creating if needed) the log in dir. Segments already there are
// left for Scan and DropRecovered; new entries go to a new segment.
func Open(dir string, opt Options) (*Log, error) {
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create write-ahead log dir: %w", err)
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, opt: opt, streams: map[uint32]*Stream{}, nextID: 1, recovered: segs, done: make(chan struct{})}
	l.cond = sync.NewCond(&l.mu)
	l.kick = make(chan struct{}, 1)
	if len(segs) > 0 {
		n, _ := segNumber(segs[len(segs)-1])
		l.segN = n
	}
	if err := l.roll(); err != nil {
		return nil, err
	}
	go l.committer()
	return l, nil
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

func segName(n uint64) string { return fmt.Sprintf("%016d%s", n, segSuffix) }

func segNumber(path string) (uint64, bool) {
	b := filepath.Base(path)
	if !strings.HasSuffix(b, segSuffix) {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(b, segSuffix), 10, 64)
	return n, err == nil
}

// segments lists the segment files of dir, oldest first.
func segments(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read write-ahead log dir: %w", err)
	}
	var out []string
	for _, e := range ents {
		if _, ok := segNumber(e.Name()); ok && !e.IsDir() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// roll starts a new segment file (committer or Open).
func (l *Log) roll() error {
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			return err
		}
		l.segs = append(l.segs, l.active)
	}
	l.segN++
	path := filepath.Join(l.dir, segName(l.segN))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create write-ahead log segment: %w", err)
	}
	if d, err := os.Open(l.dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	l.f, l.segSize = f, 0
	l.active = &segment{path: path, max: map[uint32]uint64{}}
	return nil
}

// Stream registers a writer called name.
func (l *Log) Stream(name string) *Stream {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &Stream{l: l, id: l.nextID, name: name}
	l.nextID++
	l.streams[s.id] = s
	return s
}

// Append queues an entry; done is called from the committer once it is durable
// (nil error) or could not be written. Entries of one stream are written in the
// order they were appended. done must not block.
func (s *Stream) Append(gen, tick uint64, data []byte, done func(error)) {
	s.append(gen, tick, data, done, false)
}

// AppendLazy is Append for an entry no one waits for yet (an idle tick of a
// surface nothing watches): it may wait up to Options.IdleDelay for a commit
// that other entries need, so that a node of idle surfaces does not fdatasync
// every tick.
func (s *Stream) AppendLazy(gen, tick uint64, data []byte, done func(error)) {
	s.append(gen, tick, data, done, true)
}

func (s *Stream) append(gen, tick uint64, data []byte, done func(error), lazy bool) {
	l := s.l
	l.mu.Lock()
	if l.closed || s.closed {
		l.mu.Unlock()
		done(ErrClosed)
		return
	}
	if l.failure != nil {
		err := l.failure
		l.mu.Unlock()
		done(err)
		return
	}
	l.queue = append(l.queue, pending{st: s, gen: gen, tick: tick, data: data, done: done})
	if len(l.queue) == 1 {
		l.firstAt = time.Now()
		l.cond.Signal()
	}
	if !lazy && !l.urgent {
		l.urgent = true
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
}

// Hurry makes the next commit come without the idle delay: someone waits for
// an entry appended with AppendLazy.
func (s *Stream) Hurry() {
	l := s.l
	l.mu.Lock()
	if len(l.queue) > 0 && !l.urgent {
		l.urgent = true
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	l.mu.Unlock()
}

// Release says the stream's entries up to tick are stored elsewhere and need not
// be kept in the log.
func (s *Stream) Release(tick uint64) {
	s.l.mu.Lock()
	s.released = max(s.released, tick)
	s.l.mu.Unlock()
}

// Close ends the stream: none of its entries need to be kept any more (its owner
// stored them elsewhere). Appends after Close fail with ErrClosed.
func (s *Stream) Close() {
	s.l.mu.Lock()
	s.closed = true
	delete(s.l.streams, s.id)
	s.l.mu.Unlock()
}

// Close stops the committer after the queued entries are written.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.cond.Signal()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	l.mu.Unlock()
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failure
}

func (l *Log) hook(s Stage) {
	if l.opt.Hook != nil {
		l.opt.Hook(s)
	}
}

// committer writes everything queued as one frame, fsyncs, and tells the writers.
func (l *Log) committer() {
	defer close(l.done)
	defer func() {
		if l.f != nil {
			l.f.Close()
		}
	}()
	var batch []pending
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.closed {
			l.cond.Wait()
		}
		if len(l.queue) == 0 && l.closed {
			l.mu.Unlock()
			return
		}
		var wait time.Duration
		if !l.closed {
			// One commit per interval: what arrives meanwhile shares it. Entries
			// that can wait, alone in the queue, wait longer.
			wait = l.opt.Interval - time.Since(l.lastDone)
			if !l.urgent {
				wait = max(wait, l.opt.IdleDelay-time.Since(l.firstAt))
			}
		}
		if wait > 0 {
			l.mu.Unlock()
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-l.kick:
				timer.Stop()
			}
			continue
		}
		batch, l.queue = l.queue, batch[:0]
		l.urgent = false
		select {
		case <-l.kick:
		default:
		}
		l.mu.Unlock()
		l.lastDone = time.Now()
		err, fatal := l.commit(batch)
		if fatal {
			l.mu.Lock()
			if l.failure == nil {
				l.failure = err
			}
			l.mu.Unlock()
		}
		half := len(batch) / 2
		for i, p := range batch {
			if i == half {
				l.hook(MidCallbacks)
			}
			p.done(err)
		}
		clear(batch)
		l.collect()
	}
}

// commit writes batch as one frame and fsyncs it. A failed write is cut off the
// file again; a failed fsync leaves the log failed (the kernel may have dropped
// the pages: nothing written since can be trusted to be durable).
func (l *Log) commit(batch []pending) (err error, fatal bool) {
	l.mu.Lock()
	failed := l.failure
	l.mu.Unlock()
	if failed != nil {
		return failed, false
	}
	if l.segSize >= l.opt.SegmentBytes {
		if err := l.roll(); err != nil {
			return err, true
		}
	}
	b := append(l.buf[:0], make([]byte, frameHeader)...)
	for _, p := range batch {
		st := p.st
		if st.declared != l.segN {
			st.declared = l.segN
			b = append(b, kindDeclare)
			b = binary.AppendUvarint(b, uint64(st.id))
			b = binary.AppendUvarint(b, uint64(len(st.name)))
			b = append(b, st.name...)
		}
		b = append(b, kindAppend)
		b = binary.AppendUvarint(b, uint64(st.id))
		b = binary.AppendUvarint(b, p.gen)
		b = binary.AppendUvarint(b, p.tick)
		b = binary.AppendUvarint(b, uint64(len(p.data)))
		b = append(b, p.data...)
		if p.tick > l.active.max[st.id] {
			l.active.max[st.id] = p.tick
		}
	}
	l.buf = b
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(b)-frameHeader))
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(b[frameHeader:], castagnoli))
	l.hook(BeforeWrite)
	if l.opt.Hook != nil {
		// Written in two parts so that a test can stop the process between them.
		if _, err = l.f.Write(b[:len(b)/2]); err == nil {
			l.hook(MidWrite)
			_, err = l.f.Write(b[len(b)/2:])
		}
	} else {
		_, err = l.f.Write(b)
	}
	if err != nil {
		// Not a failure of the log (a full disk): the frame is cut off again and
		// the next commit may fit. Its declarations went with it.
		for _, p := range batch {
			p.st.declared = 0
		}
		if terr := l.f.Truncate(l.segSize); terr != nil {
			return fmt.Errorf("write the write-ahead log: %w (and cutting the partial frame off: %v)", err, terr), true
		}
		if _, serr := l.f.Seek(l.segSize, io.SeekStart); serr != nil {
			return fmt.Errorf("write the write-ahead log: %w", err), true
		}
		return fmt.Errorf("write the write-ahead log: %w", err), false
	}
	l.hook(BeforeSync)
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("sync the write-ahead log: %w", err), true
	}
	l.hook(AfterSync)
	l.segSize += int64(len(b))
	return nil, false
}

// collect deletes closed segments no stream needs any more.
func (l *Log) collect() {
	l.mu.Lock()
	keep := l.segs[:0]
	var drop []string
	for i, sg := range l.segs {
		need := false
		for id, t := range sg.max {
			if st, ok := l.streams[id]; ok && st.released < t {
				need = true
				break
			}
		}
		if need || len(keep) > 0 {
			// Segments go oldest first, so that a scan never sees a hole.
			keep = append(keep, l.segs[i])
			continue
		}
		drop = append(drop, sg.path)
	}
	l.segs = keep
	l.mu.Unlock()
	for _, p := range drop {
		_ = os.Remove(p)
	}
}

// DropRecovered deletes the segments that were there when the log opened: the
// caller has stored what it needs of them (Scan) elsewhere.
func (l *Log) DropRecovered() error {
	l.mu.Lock()
	segs := l.recovered
	l.recovered = nil
	l.mu.Unlock()
	for _, p := range segs {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("drop recovered write-ahead log segment: %w", err)
		}
	}
	return nil
}

// ErrCorrupt means a segment holds a frame that fails its check with valid
// frames after it: not the torn tail of an unfinished commit, which nothing
// follows, but damage to frames that were durable (their writers were told so).
// What the damaged frames held is lost, and which streams they belonged to
// cannot be told.
var ErrCorrupt = errors.New("the write-ahead log is damaged")

// CorruptError says where Scan found a segment damaged; it matches ErrCorrupt.
type CorruptError struct {
	Segment string // the segment file's path
	Offset  int    // the byte where the first frame that fails its check starts
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: segment %s: the frame at byte %d fails its check and valid frames follow it", ErrCorrupt, filepath.Base(e.Segment), e.Offset)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Scan calls fn for every entry in the segments of dir, oldest first. A frame
// that is cut short or fails its checksum ends its segment (a commit the process
// did not finish; its writers were never told it was durable) when nothing valid
// follows it; when valid frames follow, the segment is damaged and Scan returns
// an error wrapping ErrCorrupt after the entries before the damage.
func Scan(dir string, fn func(Entry) error) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	for _, p := range segs {
		if err := scanSegment(p, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanSegment(path string, fn func(Entry) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // dropped meanwhile
		}
		return fmt.Errorf("read write-ahead log segment: %w", err)
	}
	names := map[uint64]string{}
	whole := data
	for len(data) >= frameHeader {
		n := binary.LittleEndian.Uint32(data[0:4])
		if n > maxFrame || int(n) > len(data)-frameHeader ||
			crc32.Checksum(data[frameHeader:frameHeader+int(n)], castagnoli) != binary.LittleEndian.Uint32(data[4:8]) {
			at := len(whole) - len(data)
			if validFrameAfter(whole, at) {
				return &CorruptError{Segment: path, Offset: at}
			}
			return nil // the torn tail of the last commit
		}
		payload := data[frameHeader : frameHeader+int(n)]
		data = data[frameHeader+int(n):]
		if err := scanFrame(payload, names, fn); err != nil {
			return fmt.Errorf("write-ahead log segment %s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// validFrameAfter reports whether a frame that passes its check starts in data
// after the bad frame at byte at: at the bad frame's end if its length is
// plausible, else anywhere after it (frames up to searchFrame bytes, so that a
// search through a damaged segment checksums no more than about its own size).
// A frame of zero bytes never counts (zeros left by a torn write would pass).
func validFrameAfter(data []byte, at int) bool {
	valid := func(off int, most uint32) bool {
		if off+frameHeader > len(data) {
			return false
		}
		n := binary.LittleEndian.Uint32(data[off : off+4])
		if n == 0 || n > most || int(n) > len(data)-off-frameHeader {
			return false
		}
		return crc32.Checksum(data[off+frameHeader:off+frameHeader+int(n)], castagnoli) == binary.LittleEndian.Uint32(data[off+4:off+8])
	}
	if n := int(binary.LittleEndian.Uint32(data[at : at+4])); n <= maxFrame && at+frameHeader+n < len(data) && valid(at+frameHeader+n, maxFrame) {
		return true
	}
	for off := at + 1; off+frameHeader <= len(data); off++ {
		if valid(off, searchFrame) {
			return true
		}
	}
	return false
}

// searchFrame is the largest frame validFrameAfter looks for byte by byte.
const searchFrame = 64 << 10

func scanFrame(p []byte, names map[uint64]string, fn func(Entry) error) error {
	bad := errors.New("malformed frame")
	uv := func() (uint64, bool) {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, false
		}
		p = p[k:]
		return v, true
	}
	for len(p) > 0 {
		kind := p[0]
		p = p[1:]
		id, ok := uv()
		if !ok {
			return bad
		}
		switch kind {
		case kindDeclare:
			n, ok := uv()
			if !ok || n > uint64(len(p)) {
				return bad
			}
			names[id] = string(p[:n])
			p = p[n:]
		case kindAppend:
			gen, ok1 := uv()
			tick, ok2 := uv()
			n, ok3 := uv()
			if !ok1 || !ok2 || !ok3 || n > uint64(len(p)) {
				return bad
			}
			name, known := names[id]
			if !known {
				return bad
			}
			e := Entry{Stream: name, Gen: gen, Tick: tick, Data: p[:n:n]}
			p = p[n:]
			if err := fn(e); err != nil {
				return err
			}
		default:
			return bad
		}
	}
	return nil
}
