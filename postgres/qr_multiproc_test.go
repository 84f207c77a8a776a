package postgres

import "github.com/socialpay/socialpay/internal/proctest"

// qrWorkers are the qr store's worker processes (see multiproc_test.go).
var qrWorkers = map[string]proctest.Worker{}
