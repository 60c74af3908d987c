// Package shard is the lockstep runtime of one surface: it sequences inputs into
// tick batches, makes them durable in a bbolt input log, executes them on any
// Simulation, and releases a tick to the outside world (players, and later bridge
// peers) only once it is confirmed. It also takes checkpoints, truncates the log
// behind them, resumes from them after a restart, and runs player sessions with
// hash checks and desync reports. It knows nothing of factories or networks; see
// DESIGN.md beside this file.
package shard
