package qr

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// reportCPU adds a "cpu-ns/op" metric: the CPU time of the benchmark's own
// thread per operation, so that the rate per core can be read even when
// other processes share the machine (wall-clock ns/op then overstates it).
func reportCPU(b *testing.B) func() {
	runtime.LockOSThread()
	start := threadCPU()
	return func() {
		used := threadCPU() - start
		runtime.UnlockOSThread()
		if b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
