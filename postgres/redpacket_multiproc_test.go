package postgres

import "github.com/socialpay/socialpay/internal/proctest"

// redpacketWorkers are the redpacket store's worker processes (see multiproc_test.go).
var redpacketWorkers = map[string]proctest.Worker{}
