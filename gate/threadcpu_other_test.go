//go:build !linux

package gate_test

import "time"

// threadCPU is not measured outside Linux: the benchmarks then report wall time only.
func threadCPU() (time.Duration, bool) { return 0, false }
