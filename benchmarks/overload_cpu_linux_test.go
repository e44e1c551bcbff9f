//go:build linux

package benchmarks

import (
	"runtime"
	"syscall"
	"testing"
)

// rusageThread is Linux's RUSAGE_THREAD, which package syscall does not
// name: the resource usage of the calling thread only.
const rusageThread = 1

// cpuTimer resets b's timer and starts counting the CPU time of the
// benchmark's thread; the function it returns stops both and reports the
// CPU time per operation as the metric cpu-ns/op. On a machine shared with
// other work, wall time per operation counts the time the benchmark waited
// for a core; CPU time does not. The goroutine stays on its thread in
// between.
func cpuTimer(b *testing.B) (stop func()) {
	runtime.LockOSThread()
	b.ResetTimer()
	start, ok := threadCPU()
	return func() {
		end, ok2 := threadCPU()
		b.StopTimer()
		runtime.UnlockOSThread()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// threadCPU returns the CPU time, user and system, of the calling thread
// in nanoseconds.
func threadCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
