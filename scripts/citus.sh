#!/usr/bin/env bash
# scripts/citus.sh — socialpay's cells on a local Citus cluster (a
# coordinator and two workers on this machine), where CI cannot go: Citus
# is not a Debian package, so CI skips the Citus tests (they need
# SOCIALPAY_TEST_CITUS) and this script runs them.
#
#   scripts/citus.sh test     # the Citus tests: cells as distributed schemas,
#                             # the cell suite and the ledger's whole suite on two cells
#   FULL=1 scripts/citus.sh test   # and the whole postgres package on the coordinator
#   scripts/citus.sh bench    # the cells scenario on plain PostgreSQL and on Citus,
#                             # beside pgbench tpcb-like (docs/scaling.md)
#
# The cluster comes from ../shared/scripts/citus-local.sh (CITUS_LOCAL; also
# looked for in ../../shared for a worktree one level down), which
# builds Citus from its public source and starts three servers on ports
# 5440-5442. If Citus is not installed yet, CITUS_SRC must name a checkout of
# github.com/citusdata/citus at v13.2.2 outside this repository; nothing of
# Citus is kept here.
#
# bench: the Citus runs go through the coordinator, and with the load
# generator's -direct through the node holding each cell (as a bank's
# service for a cell would). PG_DSN (default postgres://root@127.0.0.1:5432/bench) is the plain
# server's scratch database, CITUS_DB (default bench) the cluster's; pgbench
# -i replaces their pgbench_* tables. SCHEMA (default cells_bench) prefixes
# the cells' schemas (<SCHEMA>_cell_<i>), which every run drops and
# recreates. CLIENTS (8), T (30 s), ACCOUNTS (10000), CELLS (4) and CROSS
# (0.1) shape the runs. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CITUS_LOCAL:-}" ]; then
	for f in ../shared/scripts/citus-local.sh ../../shared/scripts/citus-local.sh; do
		[ -x "$f" ] && CITUS_LOCAL=$f && break
	done
fi
CITUS_LOCAL=${CITUS_LOCAL:?set CITUS_LOCAL to citus-local.sh (it builds and starts the cluster)}
COORD="postgres://root@127.0.0.1:5440"
mode=${1:-}
case $mode in test | bench) ;; *)
	sed -n '2,24p' "$0"
	exit 2
	;;
esac

if [ ! -f "$(pg_config --pkglibdir)/citus.so" ]; then
	if [ -z "${CITUS_SRC:-}" ]; then
		echo "Citus is not installed: set CITUS_SRC to a checkout of citusdata/citus at v13.2.2 (outside this repository)" >&2
		exit 1
	fi
	"$CITUS_LOCAL" build "$CITUS_SRC"
fi
if ! pg_isready -q -h 127.0.0.1 -p 5440 || ! pg_isready -q -h 127.0.0.1 -p 5441 || ! pg_isready -q -h 127.0.0.1 -p 5442; then
	"$CITUS_LOCAL" start >&2
fi

if [ "$mode" = test ]; then
	export SOCIALPAY_TEST_CITUS="$COORD/test?sslmode=disable"
	# Every test and subtest's result and message, as each ends.
	go test -count=1 -timeout 60m -run 'TestCitus' -v ./postgres | grep --line-buffered -vE '^ *=== (RUN|PAUSE|CONT|NAME)'
	if [ -n "${FULL:-}" ]; then
		# The whole package on the coordinator, its tables local there.
		SOCIALPAY_TEST_PG="$COORD/test?sslmode=disable" go test -count=1 -timeout 60m ./postgres
	fi
	exit 0
fi

PG_DSN=${PG_DSN:-postgres://root@127.0.0.1:5432/bench?sslmode=disable}
CITUS_DSN="$COORD/${CITUS_DB:-bench}?sslmode=disable"
CLIENTS=${CLIENTS:-8}
T=${T:-30}
ACCOUNTS=${ACCOUNTS:-10000}
CELLS=${CELLS:-4}
CROSS=${CROSS:-0.1}
SCHEMA=${SCHEMA:-cells_bench}
if [ "$SCHEMA" = socialpay_bench ]; then
	echo "SCHEMA=socialpay_bench is scripts/bench.sh's: pick another" >&2
	exit 2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$TMP/socialpay-bench
go build -o "$BIN" ./examples/bench

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
tpcb() {
	pgbench -i -q -s "$CLIENTS" "$1" >/dev/null 2>&1
	pgbench -c "$CLIENTS" -j 2 -T "$T" "$1" 2>/dev/null | tps
}
# cells DSN CELLS CROSS [FLAG…]: one run of the cells scenario; prints its
# summary and cells lines to stderr and its payments/s.
cells() {
	local out dsn=$1 n=$2 cross=$3
	shift 3
	out=$("$BIN" -store postgres -dsn "$dsn" -schema "$SCHEMA" -reset -clients "$CLIENTS" -duration "${T}s" -warmup 5s \
		-progress 1h -accounts "$ACCOUNTS" -scenario cells -cells "$n" -cross "$cross" -verify "$@")
	echo "$out" | grep -E '^(summary|cells|verify)' >&2
	echo "$out" | sed -n 's/^summary .* transfers\/s=\([0-9.]*\) .*/\1/p'
}
sharded="$CITUS_DSN&citus.enable_schema_based_sharding=on"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql "$PG_DSN" -Atc 'select version()' | cut -d, -f1); $(psql "$CITUS_DSN" -Atc 'select citus_version()' | cut -d' ' -f1-2)" >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
results=()
add() { results+=("$1|$2|$3"); }
pg1=$(tpcb "$PG_DSN"); echo "pgbench tpcb-like, PostgreSQL: $pg1 tps" >&2
add "PostgreSQL, 1 cell" "$(cells "$PG_DSN" 1 0)" pg
add "PostgreSQL, $CELLS cells, all within" "$(cells "$PG_DSN" "$CELLS" 0)" pg
add "PostgreSQL, $CELLS cells, $CROSS across" "$(cells "$PG_DSN" "$CELLS" "$CROSS")" pg
add "PostgreSQL, $CELLS cells, all across" "$(cells "$PG_DSN" "$CELLS" 1)" pg
pg2=$(tpcb "$PG_DSN"); echo "pgbench tpcb-like, PostgreSQL (after): $pg2 tps" >&2
ci1=$(tpcb "$CITUS_DSN"); echo "pgbench tpcb-like, Citus coordinator (local tables): $ci1 tps" >&2
add "Citus via coordinator, $CELLS cells, $CROSS across" "$(cells "$sharded" "$CELLS" "$CROSS")" citus
add "Citus on the cells' nodes, $CELLS cells, all within" "$(cells "$sharded" "$CELLS" 0 -direct)" citus
add "Citus on the cells' nodes, $CELLS cells, $CROSS across" "$(cells "$sharded" "$CELLS" "$CROSS" -direct)" citus
add "Citus on the cells' nodes, $CELLS cells, all across" "$(cells "$sharded" "$CELLS" 1 -direct)" citus
ci2=$(tpcb "$CITUS_DSN"); echo "pgbench tpcb-like, Citus coordinator (after): $ci2 tps" >&2
echo "placement: $(psql "$CITUS_DSN" -Atc "select string_agg(distinct format('%s:%s', table_name::text, nodeport), ' ') from citus_shards where table_name::text like '${SCHEMA}_cell_%.accounts'")" >&2
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

printf '%s\n' "${results[@]}" | awk -F'|' -v p1="$pg1" -v p2="$pg2" -v c1="$ci1" -v c2="$ci2" -v c="$CLIENTS" '
BEGIN {
	pg = (p1 + p2) / 2; ci = (c1 + c2) / 2
	printf "pgbench tpcb-like, %d clients, PostgreSQL:           %8.0f tps (%.0f before, %.0f after)\n", c, pg, p1, p2
	printf "pgbench tpcb-like, %d clients, Citus coordinator:    %8.0f tps (%.0f before, %.0f after)\n", c, ci, c1, c2
}
{ printf "%-52s %6.0f payments/s  %5.2fx pgbench tpcb-like on PostgreSQL\n", $1 ":", $2, $2 / pg }'
