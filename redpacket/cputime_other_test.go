//go:build !unix

package redpacket_test

func processCPU() int64 { return 0 }
