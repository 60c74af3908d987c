package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/starlane/starlane/internal/boltcheck"
	"github.com/starlane/starlane/internal/wal"
)

// Store is a shard's durable state: one bbolt file with the latest checkpoints,
// the player name table, the term and the input log up to the newest checkpoint,
// and — once attached to a NodeLog — the ticks since then in the node's log (the
// tail, also kept in memory). Ticks are appended from one goroutine at a time;
// reads may run concurrently and see the file and the durable tail as one log.
type Store struct {
	db   *bolt.DB
	path string
	gen  uint64 // generation of the log: Install and Wipe start a new one

	nlog       *NodeLog
	stream     *wal.Stream
	streamName string

	tailMu   sync.Mutex
	tailCond *sync.Cond
	tail     []tailRec // appended to the node log, not yet in the file, tick order
	tailDur  uint64    // the highest tick of the tail the node log made durable
	tailErr  error     // the node log failed to write an entry
	inFlight int       // entries appended whose commit is not reported yet
}

type tailRec struct {
	tick uint64
	data []byte
}

var (
	bucketLog    = []byte("log")
	bucketCkpt   = []byte("checkpoints")
	bucketMeta   = []byte("meta")
	bucketPlayer = []byte("players")
	keyNextID    = []byte("next_player")
	keyFormat    = []byte("format")
	keyTerm      = []byte("term")
	keyGen       = []byte("log_gen")
	keyWALDir    = []byte("wal_dir")
	keyWALStream = []byte("wal_stream")
)

// storeFormat is the on-disk layout version of a shard store.
const storeFormat = 1

// ErrStoreLocked means another process has the store open.
var ErrStoreLocked = errors.New("shard store is in use by another process")

// ErrStoreCorrupt means the store file is damaged: its structure failed the check
// on open, or bbolt panicked or faulted reading it. The store is not used again;
// Open moves such a file aside (Quarantine) and the surface continues from
// another copy.
var ErrStoreCorrupt = errors.New("store corrupt")

// ErrDiskFull means a write found no space left on the store's file system. It
// is a state, not a defect: the node retries once there is room again.
var ErrDiskFull = errors.New("disk full")

// checkBudget bounds the structure check of a store when it opens. A shard's
// store holds two checkpoints and the log between them, a few megabytes read in
// milliseconds; a check that takes longer than this is cut short (logged) rather
// than holding up the surface.
const checkBudget = 10 * time.Second

// classify marks write errors that mean a full file system with ErrDiskFull.
func classify(err error) error {
	if err != nil && (errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)) && !errors.Is(err, ErrDiskFull) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// protect runs fn against the store and turns what bbolt does on a damaged file —
// an assertion panic, or a memory fault reading a page past its mapping — into
// ErrStoreCorrupt instead of a crash of the whole node.
func (s *Store) protect(fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrStoreCorrupt, s.path, r)
		}
	}()
	return classify(fn())
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	return s.protect(func() error { return s.db.View(fn) })
}

func (s *Store) update(fn func(*bolt.Tx) error) error {
	return s.protect(func() error { return s.db.Update(fn) })
}

// Quarantine moves a damaged store file aside, next to where it was, with the
// time in its name (never deleting it: an operator may want to look at it or
// recover from it), and returns the new path.
func Quarantine(path string, now time.Time) (string, error) {
	return quarantineAs(path, path+".corrupt-"+now.UTC().Format("20060102T150405Z"))
}

// quarantineTerm moves a damaged store aside as Quarantine does, naming in the
// new name the primary term it was opened for (term 0: as a standby), so that
// only a fresh start of that same term is held back by it (see Shard.openTerm).
func quarantineTerm(path string, now time.Time, term uint64) (string, error) {
	kind := "standby"
	if term != 0 {
		kind = "term" + strconv.FormatUint(term, 10)
	}
	return quarantineAs(path, path+".corrupt-"+now.UTC().Format("20060102T150405Z")+"-"+kind)
}

func quarantineAs(path, to string) (string, error) {
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("move the damaged store %s aside: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return to, nil
}

// Batch is the input log record of one tick: the inputs applied at Tick, in order,
// and the state hash right before them (the hash after Tick-1), which lets a replay
// check that it follows the same history.
type Batch struct {
	Tick     uint64
	PrevHash uint64
	Inputs   []Input
}

// Checkpoint is a saved simulation state at Tick with its hash.
type Checkpoint struct {
	Tick uint64
	Hash uint64
	Data []byte
}

// quarantinedFor reports whether dir holds a store moved aside that a fresh
// start of term must not replace: one moved aside when it was opened as that
// term's primary, or one whose term is not known (moved aside with the node's
// whole log, or by a version that did not name it). A store moved aside in an
// earlier term, or as a standby's copy, says nothing about a later term: the
// controller started that one from a save on purpose.
func quarantinedFor(dir string, term uint64) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "shard.db.corrupt-*"))
	for _, p := range m {
		_, kind, ok := strings.Cut(strings.TrimPrefix(filepath.Base(p), "shard.db.corrupt-"), "-")
		switch {
		case !ok:
			return true
		case kind == "standby":
		case kind == "term"+strconv.FormatUint(term, 10):
			return true
		case !strings.HasPrefix(kind, "term"):
			return true
		}
	}
	return false
}

// OpenStore opens (creating if needed) the store file at path. An existing file
// is checked first (boltcheck): a damaged one is ErrStoreCorrupt, never a panic.
// Ticks of it that are still only in the node log it was attached to (its node
// was killed) are moved into the file first, so the store holds its whole log.
func OpenStore(path string) (*Store, error) {
	st, err := openStoreFile(path)
	if err != nil {
		return nil, err
	}
	var dir, name string
	err = st.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		dir, name = string(m.Get(keyWALDir)), string(m.Get(keyWALStream))
		return nil
	})
	if err == nil && dir != "" {
		var es []wal.Entry
		err = wal.Scan(dir, func(e wal.Entry) error {
			if e.Stream == name {
				e.Data = append([]byte(nil), e.Data...)
				es = append(es, e)
			}
			return nil
		})
		if err == nil {
			_, err = st.merge(es)
		}
	}
	if err != nil {
		st.db.Close()
		return nil, err
	}
	return st, nil
}

// openStoreFile opens the bbolt file alone.
func openStoreFile(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, classify(fmt.Errorf("create shard dir: %w", err))
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := createStoreFile(path); err != nil {
			return nil, classify(fmt.Errorf("create shard store %s: %w", path, err))
		}
	}
	if err := boltcheck.Check(path, checkBudget); errors.Is(err, boltcheck.ErrCorrupt) {
		return nil, fmt.Errorf("%w: %s: %v", ErrStoreCorrupt, path, err)
	} else if err != nil && !errors.Is(err, boltcheck.ErrBudget) {
		return nil, fmt.Errorf("check shard store %s: %w", path, err)
	}
	// The freelist is rebuilt on open instead of being written at every commit (one
	// commit per tick): about a fifth less CPU and a third less time per tick's write
	// (BenchmarkStoreWriteTick), at the cost of a scan when the store opens.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrStoreLocked)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("open shard store %s: %w", path, err))
	}
	st := &Store{db: db, path: path}
	st.tailCond = sync.NewCond(&st.tailMu)
	err = st.update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLog, bucketCkpt, bucketMeta, bucketPlayer} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keyGen); len(v) == 8 {
			st.gen = binary.BigEndian.Uint64(v)
		}
		if v := m.Get(keyFormat); v != nil {
			if f := binary.BigEndian.Uint32(v); f > storeFormat {
				return fmt.Errorf("shard store %s has format %d, this build reads up to %d: upgrade this node", path, f, storeFormat)
			}
			return nil
		}
		return m.Put(keyFormat, binary.BigEndian.AppendUint32(nil, storeFormat))
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// createStoreFile creates an empty bbolt file at path, whole or not at all. bbolt
// creates its file and only then writes its first pages: a node killed in between
// (placing a new surface) left an empty shard.db, which the next start took for a
// damaged store and moved aside, failing a surface that had never held a tick.
// The file is made under another name and renamed into place once synced.
func createStoreFile(path string) error {
	tmp := path + ".new" // a leftover of a creation killed halfway is replaced
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond,
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := db.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close moves the durable tail into the file and closes it. If that fails, the
// tail stays in the node log for the next store opened at this path.
func (s *Store) Close() error {
	var ferr error
	if s.stream != nil {
		ferr = s.flush(nil, keepCheckpoints)
		if derr := s.nlog.detach(s, ferr == nil); derr != nil {
			ferr = errors.Join(ferr, derr)
		}
		s.stream = nil
	}
	return errors.Join(ferr, s.db.Close())
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

func tickKey(t uint64) []byte { return binary.BigEndian.AppendUint64(nil, t) }

func encodeBatch(b *Batch) []byte {
	n := 8 + binary.MaxVarintLen64
	for _, in := range b.Inputs {
		n += 2*binary.MaxVarintLen32 + len(in.Data)
	}
	buf := make([]byte, 0, n)
	buf = binary.LittleEndian.AppendUint64(buf, b.PrevHash)
	buf = binary.AppendUvarint(buf, uint64(len(b.Inputs)))
	for _, in := range b.Inputs {
		buf = binary.AppendUvarint(buf, uint64(in.Player))
		buf = binary.AppendUvarint(buf, uint64(len(in.Data)))
		buf = append(buf, in.Data...)
	}
	return buf
}

// decodeBatch decodes a log record; it copies, so v may be bbolt memory.
func decodeBatch(tick uint64, v []byte) (Batch, error) {
	b := Batch{Tick: tick}
	bad := func(what string) (Batch, error) {
		return Batch{}, fmt.Errorf("input log record for tick %d is corrupt (%s)", tick, what)
	}
	if len(v) < 8 {
		return bad("short")
	}
	b.PrevHash = binary.LittleEndian.Uint64(v)
	v = v[8:]
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)) {
		return bad("count")
	}
	v = v[k:]
	b.Inputs = make([]Input, 0, n)
	for i := uint64(0); i < n; i++ {
		p, k := binary.Uvarint(v)
		if k <= 0 || p > 1<<32-1 {
			return bad("player")
		}
		v = v[k:]
		l, k := binary.Uvarint(v)
		if k <= 0 || l > uint64(len(v)-k) {
			return bad("length")
		}
		v = v[k:]
		b.Inputs = append(b.Inputs, Input{Player: uint32(p), Data: append([]byte(nil), v[:l]...)})
		v = v[l:]
	}
	if len(v) != 0 {
		return bad("trailing bytes")
	}
	return b, nil
}

// write makes batches (in tick order) and checkpoints durable and returns when
// they are: the batches go to the node log (one group commit), the checkpoints
// into the file with the log before them, truncating the log behind the oldest of
// the keep newest checkpoints. A store without a node log writes it all to its
// file in one transaction (bbolt fsyncs on commit).
func (s *Store) write(batches []*Batch, cps []*Checkpoint, keep int) error {
	if s.stream == nil {
		recs := make([]tailRec, len(batches))
		for i, b := range batches {
			recs[i] = tailRec{b.Tick, encodeBatch(b)}
		}
		return s.writeFile(recs, cps, keep)
	}
	for _, b := range batches {
		s.appendAsync(b, nil, false)
	}
	if len(batches) > 0 {
		if err := s.waitDurable(batches[len(batches)-1].Tick); err != nil {
			return err
		}
	}
	if len(cps) == 0 {
		return nil
	}
	return s.flush(cps, keep)
}

// appendAsync appends the batch of the next tick to the node log and returns at
// once; done (if set) is called from the node log's committer once the batch is
// durable, or with the error that kept it from being written.
//
// A lazy batch (an idle tick no one watches) may wait for the node log's idle
// delay instead of forcing a commit of its own.
func (s *Store) appendAsync(b *Batch, done func(tick uint64, err error), lazy bool) {
	rec := tailRec{b.Tick, encodeBatch(b)}
	s.tailMu.Lock()
	s.tail = append(s.tail, rec)
	s.inFlight++
	gen := s.gen
	s.tailMu.Unlock()
	appendFn := s.stream.Append
	if lazy {
		appendFn = s.stream.AppendLazy
	}
	appendFn(gen, rec.tick, rec.data, func(err error) {
		err = classify(err)
		s.tailMu.Lock()
		s.inFlight--
		if err != nil && s.tailErr == nil {
			s.tailErr = err
		}
		if err == nil && s.tailErr == nil && gen == s.gen {
			s.tailDur = max(s.tailDur, rec.tick)
		}
		s.tailCond.Broadcast()
		s.tailMu.Unlock()
		if done != nil {
			done(rec.tick, err)
		}
	})
}

// waitDurable waits until the tail is durable up to tick, or an append failed.
func (s *Store) waitDurable(tick uint64) error {
	s.stream.Hurry()
	s.tailMu.Lock()
	defer s.tailMu.Unlock()
	for s.tailDur < tick && s.tailErr == nil && s.inFlight > 0 {
		s.tailCond.Wait()
	}
	if s.tailErr != nil {
		return fmt.Errorf("write the input log: %w", s.tailErr)
	}
	if s.tailDur < tick {
		return fmt.Errorf("input log: tick %d was never appended", tick)
	}
	return nil
}

// waitCovered waits until every appended tick up to tick is durable.
func (s *Store) waitCovered(tick uint64) error {
	if s.stream != nil {
		s.stream.Hurry()
	}
	s.tailMu.Lock()
	defer s.tailMu.Unlock()
	for {
		if s.tailErr != nil {
			return fmt.Errorf("write the input log: %w", s.tailErr)
		}
		if len(s.tail) == 0 || s.inFlight == 0 {
			return nil
		}
		if min(tick, s.tail[len(s.tail)-1].tick) <= s.tailDur {
			return nil
		}
		s.tailCond.Wait()
	}
}

// merge adds log entries of this store's generation that continue its log (a
// node log's entries after a crash), in one transaction, and returns how many.
// Entries the file already holds, of another generation, or after a gap (a
// commit cut off by a full disk) are left out.
func (s *Store) merge(es []wal.Entry) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		last := uint64(0)
		if k, _ := tx.Bucket(bucketLog).Cursor().Last(); k != nil {
			last = binary.BigEndian.Uint64(k)
		}
		if k, _ := tx.Bucket(bucketCkpt).Cursor().Last(); k != nil {
			last = max(last, binary.BigEndian.Uint64(k))
		} else if last == 0 {
			return nil // no state: nothing to continue
		}
		lb := tx.Bucket(bucketLog)
		for _, e := range es {
			if e.Gen != s.gen || e.Tick <= last {
				continue
			}
			if e.Tick != last+1 {
				break
			}
			if _, err := decodeBatch(e.Tick, e.Data); err != nil {
				break
			}
			if err := lb.Put(tickKey(e.Tick), e.Data); err != nil {
				return err
			}
			last++
			n++
		}
		return nil
	})
	return n, err
}

// setLogRef records which node log holds the store's tail, so that a store
// opened by a tool after a crash finds it (OpenStore).
func (s *Store) setLogRef(dir, name string) error {
	var same bool
	_ = s.view(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		same = string(m.Get(keyWALDir)) == dir && string(m.Get(keyWALStream)) == name
		return nil
	})
	if same {
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if err := m.Put(keyWALDir, []byte(dir)); err != nil {
			return err
		}
		return m.Put(keyWALStream, []byte(name))
	})
}

// newGen starts a new log generation in tx (Install, Wipe): entries of the old
// one still in the node log are never merged into the new copy.
func (s *Store) newGen(tx *bolt.Tx) error {
	return tx.Bucket(bucketMeta).Put(keyGen, binary.BigEndian.AppendUint64(nil, s.gen+1))
}

// gotNewGen drops the in-memory tail once the new generation is committed.
func (s *Store) gotNewGen() {
	s.tailMu.Lock()
	s.gen++
	s.tail, s.tailDur = nil, 0
	s.tailMu.Unlock()
	if s.stream != nil {
		s.stream.Release(^uint64(0))
	}
}

// waitIdle waits until every append was reported (durable or failed).
func (s *Store) waitIdle() {
	if s.stream == nil {
		return
	}
	s.stream.Hurry()
	s.tailMu.Lock()
	for s.inFlight > 0 {
		s.tailCond.Wait()
	}
	s.tailMu.Unlock()
}

// durableTailLocked returns the part of the tail the node log made durable.
func (s *Store) durableTailLocked() []tailRec {
	n := 0
	for n < len(s.tail) && s.tail[n].tick <= s.tailDur {
		n++
	}
	return s.tail[:n:n]
}

// flush moves the durable tail into the file with the checkpoints (each waits
// for the tail to be durable up to its tick, so the log the file holds never
// ends before its newest checkpoint's predecessor), in one transaction, and then
// tells the node log it need not keep those ticks.
func (s *Store) flush(cps []*Checkpoint, keep int) error {
	for _, cp := range cps {
		if err := s.waitCovered(cp.Tick); err != nil {
			return err
		}
	}
	s.tailMu.Lock()
	recs := s.durableTailLocked()
	gen := s.gen
	s.tailMu.Unlock()
	if len(recs) == 0 && len(cps) == 0 {
		return nil
	}
	if err := s.writeFile(recs, cps, keep); err != nil {
		return err
	}
	s.tailMu.Lock()
	if gen == s.gen && len(s.tail) >= len(recs) {
		s.tail = append(s.tail[:0:0], s.tail[len(recs):]...)
	}
	s.tailMu.Unlock()
	if len(recs) > 0 {
		s.stream.Release(recs[len(recs)-1].tick)
	}
	return nil
}

// writeFile is one bbolt transaction: log records in tick order, then
// checkpoints, then truncation behind the oldest of the keep newest checkpoints.
// bbolt fsyncs on commit, so when it returns everything in it is durable.
func (s *Store) writeFile(recs []tailRec, cps []*Checkpoint, keep int) error {
	return s.update(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bucketLog)
		for _, r := range recs {
			if err := lb.Put(tickKey(r.tick), r.data); err != nil {
				return err
			}
		}
		if len(cps) == 0 {
			return nil
		}
		cb := tx.Bucket(bucketCkpt)
		for _, cp := range cps {
			v := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(cp.Data)), cp.Hash)
			if err := cb.Put(tickKey(cp.Tick), append(v, cp.Data...)); err != nil {
				return err
			}
		}
		return truncate(tx, keep)
	})
}

// truncate keeps the newest keep checkpoints and the log after the oldest of them.
func truncate(tx *bolt.Tx, keep int) error {
	cb := tx.Bucket(bucketCkpt)
	var ticks [][]byte
	c := cb.Cursor()
	for k, _ := c.Last(); k != nil && len(ticks) < keep; k, _ = c.Prev() {
		ticks = append(ticks, append([]byte(nil), k...))
	}
	if len(ticks) < keep {
		return nil
	}
	oldest := ticks[len(ticks)-1]
	var drop [][]byte
	for k, _ := c.First(); k != nil && string(k) < string(oldest); k, _ = c.Next() {
		drop = append(drop, append([]byte(nil), k...))
	}
	for _, k := range drop {
		if err := cb.Delete(k); err != nil {
			return err
		}
	}
	drop = drop[:0]
	lc := tx.Bucket(bucketLog).Cursor()
	for k, _ := lc.First(); k != nil && string(k) <= string(oldest); k, _ = lc.Next() {
		drop = append(drop, append([]byte(nil), k...))
	}
	lb := tx.Bucket(bucketLog)
	for _, k := range drop {
		if err := lb.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// LatestCheckpoint returns the newest checkpoint at or before tick, or nil if
// there is none.
func (s *Store) LatestCheckpoint(atOrBefore uint64) (*Checkpoint, error) {
	var out *Checkpoint
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketCkpt).Cursor()
		k, v := c.Seek(tickKey(atOrBefore))
		if k == nil || binary.BigEndian.Uint64(k) > atOrBefore {
			k, v = c.Prev()
		}
		if k == nil {
			return nil
		}
		if len(v) < 8 {
			return fmt.Errorf("checkpoint at tick %d is corrupt", binary.BigEndian.Uint64(k))
		}
		out = &Checkpoint{Tick: binary.BigEndian.Uint64(k), Hash: binary.LittleEndian.Uint64(v), Data: append([]byte(nil), v[8:]...)}
		return nil
	})
	return out, err
}

// CheckpointTicks lists the ticks of the stored checkpoints, oldest first.
func (s *Store) CheckpointTicks() ([]uint64, error) {
	var out []uint64
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCkpt).ForEach(func(k, _ []byte) error {
			out = append(out, binary.BigEndian.Uint64(k))
			return nil
		})
	})
	return out, err
}

// durableTail returns the durable part of the tail (taken before the file is
// read: an entry that leaves the tail is in the file by then).
func (s *Store) durableTail() []tailRec {
	s.tailMu.Lock()
	defer s.tailMu.Unlock()
	return s.durableTailLocked()
}

// LogRange returns the first and last tick in the input log (0, 0 when empty).
func (s *Store) LogRange() (first, last uint64, err error) {
	tail := s.durableTail()
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		if k, _ := c.First(); k != nil {
			first = binary.BigEndian.Uint64(k)
		}
		if k, _ := c.Last(); k != nil {
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if len(tail) > 0 {
		if first == 0 {
			first = tail[0].tick
		}
		last = max(last, tail[len(tail)-1].tick)
	}
	return first, last, err
}

// Batches calls fn for each logged tick in [from, to], in order. A gap in that range
// is an error: the caller asked for history the log no longer (or never) had.
func (s *Store) Batches(from, to uint64, fn func(Batch) error) error {
	tail := s.durableTail()
	fromFile := to
	if len(tail) > 0 && tail[0].tick <= to {
		fromFile = tail[0].tick - 1
	}
	want := from
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		for k, v := c.Seek(tickKey(from)); k != nil && want <= fromFile; k, v = c.Next() {
			t := binary.BigEndian.Uint64(k)
			if t != want {
				return fmt.Errorf("input log has no tick %d (next is %d)", want, t)
			}
			b, err := decodeBatch(t, v)
			if err != nil {
				return err
			}
			if err := fn(b); err != nil {
				return err
			}
			want++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range tail {
		if want > to {
			break
		}
		if r.tick < want {
			continue
		}
		if r.tick != want {
			return fmt.Errorf("input log has no tick %d (next is %d)", want, r.tick)
		}
		b, err := decodeBatch(r.tick, r.data)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		want++
	}
	if want <= to {
		return fmt.Errorf("input log ends before tick %d", want)
	}
	return nil
}

// PlayerID returns the ID of the player called name, allocating the next free one
// (starting at 1) the first time the name is seen.
func (s *Store) PlayerID(name string) (uint32, error) {
	var id uint32
	// A known name needs no write (and no fsync): players rejoining after a move or
	// a failover are looked up, not allocated.
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketPlayer).Get([]byte(name)); len(v) == 4 {
			id = binary.BigEndian.Uint32(v)
		}
		return nil
	})
	if err != nil || id != 0 {
		return id, err
	}
	err = s.update(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketPlayer)
		if v := pb.Get([]byte(name)); v != nil {
			id = binary.BigEndian.Uint32(v)
			return nil
		}
		m := tx.Bucket(bucketMeta)
		id = 1
		if v := m.Get(keyNextID); v != nil {
			id = binary.BigEndian.Uint32(v)
		}
		if err := m.Put(keyNextID, binary.BigEndian.AppendUint32(nil, id+1)); err != nil {
			return err
		}
		return pb.Put([]byte(name), binary.BigEndian.AppendUint32(nil, id))
	})
	return id, err
}

// Term returns the primary term recorded with the state (0 if none).
func (s *Store) Term() (uint64, error) {
	var t uint64
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyTerm); len(v) == 8 {
			t = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return t, err
}

// SetTerm records the primary term the state belongs to.
func (s *Store) SetTerm(t uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyTerm, binary.BigEndian.AppendUint64(nil, t))
	})
}

// Wipe discards the state: log, checkpoints, players and term.
func (s *Store) Wipe() error {
	err := s.update(func(tx *bolt.Tx) error {
		if err := s.newGen(tx); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketLog, bucketCkpt, bucketPlayer} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if err := m.Delete(keyTerm); err != nil {
			return err
		}
		return m.Delete(keyNextID)
	})
	if err == nil {
		s.gotNewGen()
	}
	return err
}

// install replaces the log and checkpoints with one checkpoint (a standby starting
// over from its primary's state). Players are kept: they come from the primary.
func (s *Store) install(cp *Checkpoint) error {
	s.waitIdle()
	err := s.update(func(tx *bolt.Tx) error {
		if err := s.newGen(tx); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketLog, bucketCkpt} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		v := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(cp.Data)), cp.Hash)
		return tx.Bucket(bucketCkpt).Put(tickKey(cp.Tick), append(v, cp.Data...))
	})
	if err == nil {
		s.gotNewGen()
	}
	return err
}

// Players returns the player name table.
func (s *Store) Players() (map[string]uint32, error) {
	out := map[string]uint32{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPlayer).ForEach(func(k, v []byte) error {
			if len(v) == 4 {
				out[string(k)] = binary.BigEndian.Uint32(v)
			}
			return nil
		})
	})
	return out, err
}

// PutPlayers adds entries to the player name table (a standby copying its
// primary's), keeping the next free ID past every ID it holds.
func (s *Store) PutPlayers(names map[string]uint32) error {
	if len(names) == 0 {
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		pb, m := tx.Bucket(bucketPlayer), tx.Bucket(bucketMeta)
		next := uint32(1)
		if v := m.Get(keyNextID); len(v) == 4 {
			next = binary.BigEndian.Uint32(v)
		}
		for name, id := range names {
			if err := pb.Put([]byte(name), binary.BigEndian.AppendUint32(nil, id)); err != nil {
				return err
			}
			next = max(next, id+1)
		}
		return m.Put(keyNextID, binary.BigEndian.AppendUint32(nil, next))
	})
}
