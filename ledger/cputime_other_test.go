//go:build !unix

package ledger_test

func processCPU() int64 { return 0 }
