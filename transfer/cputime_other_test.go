//go:build !unix

package transfer_test

func processCPU() int64 { return 0 }
