//go:build unix

package transfer_test

import "syscall"

// processCPU returns the CPU time this process has used, in nanoseconds.
// On a shared, busy machine wall-clock ns/op swings with the neighbours'
// load; CPU time per operation is the steadier measure of our own cost.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
