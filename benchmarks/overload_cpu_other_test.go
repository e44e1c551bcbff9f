//go:build !linux

package benchmarks

import "testing"

// cpuTimer resets b's timer; the function it returns stops it. Only Linux
// reports the CPU time per operation (see the Linux version).
func cpuTimer(b *testing.B) (stop func()) {
	b.ResetTimer()
	return b.StopTimer
}
