// Package sim is the deterministic factory simulation one shard runs per surface:
// prototypes, map generation, entities, belts, power, research, player actions,
// saves and state hashing. It knows nothing of networks, Raft or nodes, and uses
// integer math only so that every peer computes the same state from the same inputs.
package sim
