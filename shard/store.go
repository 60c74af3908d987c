package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/starlane/starlane/internal/boltcheck"
)

// Store is a shard's durable state in one bbolt file: the input log (one record per
// tick), the latest checkpoints, and the player name table. Writes happen from one
// goroutine (the shard's log writer); reads may run concurrently.
type Store struct {
	db   *bolt.DB
	path string
}

var (
	bucketLog    = []byte("log")
	bucketCkpt   = []byte("checkpoints")
	bucketMeta   = []byte("meta")
	bucketPlayer = []byte("players")
	keyNextID    = []byte("next_player")
	keyFormat    = []byte("format")
	keyTerm      = []byte("term")
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
	to := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
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

// hasQuarantined reports whether dir holds a store moved aside by Quarantine.
func hasQuarantined(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "shard.db.corrupt-*"))
	return len(m) > 0
}

// OpenStore opens (creating if needed) the store file at path. An existing file
// is checked first (boltcheck): a damaged one is ErrStoreCorrupt, never a panic.
func OpenStore(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, classify(fmt.Errorf("create shard dir: %w", err))
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
	err = st.update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLog, bucketCkpt, bucketMeta, bucketPlayer} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
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

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

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

// write is one log-writer transaction: batches in tick order, then checkpoints,
// then truncation behind the oldest of the keep newest checkpoints. bbolt fsyncs on
// commit, so when write returns everything in it is durable.
func (s *Store) write(batches []*Batch, cps []*Checkpoint, keep int) error {
	return s.update(func(tx *bolt.Tx) error {
		lb := tx.Bucket(bucketLog)
		for _, b := range batches {
			if err := lb.Put(tickKey(b.Tick), encodeBatch(b)); err != nil {
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

// LogRange returns the first and last tick in the input log (0, 0 when empty).
func (s *Store) LogRange() (first, last uint64, err error) {
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
	return first, last, err
}

// Batches calls fn for each logged tick in [from, to], in order. A gap in that range
// is an error: the caller asked for history the log no longer (or never) had.
func (s *Store) Batches(from, to uint64, fn func(Batch) error) error {
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		want := from
		for k, v := c.Seek(tickKey(from)); k != nil && want <= to; k, v = c.Next() {
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
		if want <= to {
			return fmt.Errorf("input log ends before tick %d", want)
		}
		return nil
	})
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
	return s.update(func(tx *bolt.Tx) error {
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
}

// install replaces the log and checkpoints with one checkpoint (a standby starting
// over from its primary's state). Players are kept: they come from the primary.
func (s *Store) install(cp *Checkpoint) error {
	return s.update(func(tx *bolt.Tx) error {
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
