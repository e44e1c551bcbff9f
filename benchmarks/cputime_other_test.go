//go:build !unix

package benchmarks

import "time"

// processCPU is not available here: no CPU metric is reported.
func processCPU() (time.Duration, bool) { return 0, false }
