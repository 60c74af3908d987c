//go:build !linux

package shard

import "time"

// threadCPU is not measured on this platform: the simulation's CPU time is then
// reported as its wall time.
func threadCPU() (time.Duration, bool) { return 0, false }
