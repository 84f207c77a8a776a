#!/usr/bin/env bash
# scripts/race.sh — the test suite with the race cases of every
# conformance suite and the two-process tests repeated ITERATIONS times
# each (default 10000) instead of CI's few hundred, on every store. Not
# part of CI: a full run takes tens of minutes.
#
#   ITERATIONS=10000 scripts/race.sh            # all packages
#   ITERATIONS=2000 scripts/race.sh ./postgres/  # one package
#   RACE=1 scripts/race.sh                      # under the race detector
#
# Tests reach PostgreSQL as `go test` does (SOCIALPAY_TEST_PG, default the
# local server); with CI set, a missing server fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOCIALPAY_RACE_ITERATIONS=${ITERATIONS:-10000}
flags=(-count=1 -timeout 0)
if [ -n "${RACE:-}" ]; then
	flags+=(-race)
fi
if [ $# -eq 0 ]; then
	set -- ./...
fi
echo "race cases x$SOCIALPAY_RACE_ITERATIONS: $*" >&2
go test "${flags[@]}" "$@"
