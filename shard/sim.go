package shard

import "io"

// Input is one sequenced input of a tick: who sent it (0 is the shard itself) and
// the encoded action. It is an alias of an unnamed struct so that a simulation can
// declare the identical type without importing this package.
type Input = struct {
	Player uint32
	Data   []byte
}

// Simulation is what the shard drives. It must be deterministic: the same state and
// the same inputs give the same next state and hash on every machine. It is used
// from one goroutine at a time.
type Simulation interface {
	// Step advances one tick, applying inputs in order.
	Step(inputs []Input)
	// Tick is the number of ticks simulated.
	Tick() uint64
	// Hash is a cheap state hash, compared every few ticks between peers.
	Hash() uint64
	// Save writes a checkpoint that Config.Load reads back.
	Save(w io.Writer) error
}

// EntityCounter is implemented by simulations that can report their size; the
// shard exports it as a metric.
type EntityCounter interface {
	EntityCount() int
}

// EntityHasher is implemented by simulations that can digest each entity; desync
// reports use it to name the entities that differ.
type EntityHasher interface {
	EntityHashes() map[uint32]uint64
}

// EntityDescriber is implemented by simulations that can say what an entity is
// ("transport-belt at 3,-4"), for desync reports.
type EntityDescriber interface {
	DescribeEntity(id uint32) string
}
