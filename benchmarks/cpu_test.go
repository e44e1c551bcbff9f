package benchmarks

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports the process's CPU time per operation (metric
// cpu-ns/op), user and system, every thread included: garbage collection
// and the goroutines an operation starts count, time spent waiting for a
// CPU does not. On a machine other work loads, this moves far less than
// wall time; run with -cpu 1 so that one operation's work is not spread
// over idle spinning threads.
type cpuMeter struct{ start time.Duration }

// startCPU starts measuring; call it after the sub-benchmark's setup, and
// stop it when the loop ends.
func startCPU() cpuMeter { return cpuMeter{start: processCPU()} }

// stop reports the CPU time per operation since startCPU.
func (m cpuMeter) stop(b *testing.B) {
	d := processCPU() - m.start
	b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
