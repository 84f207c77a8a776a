package postgres

import "github.com/socialpay/socialpay/internal/proctest"

// transferWorkers are the transfer store's worker processes (see multiproc_test.go).
var transferWorkers = map[string]proctest.Worker{}
