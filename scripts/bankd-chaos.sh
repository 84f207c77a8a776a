#!/usr/bin/env bash
# scripts/bankd-chaos.sh — examples/bankd's TestChaos, long: three bankd
# processes on one PostgreSQL schema under a mixed workload for DURATION
# (default 5m), one of them SIGKILLed KILLS times (default 8) and
# restarted, then every acknowledged operation checked in the stores, sent
# again on another instance (same answer, no money moved), every wallet
# and escrow balanced against the answers, the lookup budgets, each
# feature's Reconcile and Check, and ledger.Verify. CI runs a short one.
#
#   scripts/bankd-chaos.sh
#   DURATION=20m KILLS=30 SEED=42 scripts/bankd-chaos.sh
#   RACE=1 scripts/bankd-chaos.sh      # the test process under the race detector
#
# PostgreSQL as `go test` reaches it (SOCIALPAY_TEST_PG, default the local
# server); the test makes its own schema and drops it.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-count=1 -timeout 0 -v -run '^TestChaos$')
if [ -n "${RACE:-}" ]; then
	flags+=(-race)
fi
go test "${flags[@]}" ./examples/bankd -args \
	-chaos.duration="${DURATION:-5m}" -chaos.kills="${KILLS:-8}" -chaos.seed="${SEED:-0}"
