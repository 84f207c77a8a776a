#!/usr/bin/env bash
# scripts/bench.sh — socialpay's ledger on PostgreSQL side by side with
# pgbench, on the same server in the same run, as ratios.
#
#   DSN=postgres://root@127.0.0.1:5432/bench?sslmode=disable CLIENTS=8 T=30 scripts/bench.sh
#
# It initialises pgbench's tables in the DSN's database (use a scratch
# database: pgbench -i replaces its pgbench_* tables), runs pgbench
# tpcb-like and a single-row update script, then the load generator's
# scenarios (each in a fresh schema), then pgbench again, and prints every
# scenario's transfers/s against the mean of the pgbench runs before and
# after it. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

DSN=${DSN:-postgres://root@127.0.0.1:5432/bench?sslmode=disable}
CLIENTS=${CLIENTS:-8}
T=${T:-30}
BIN=$(mktemp -d)/socialpay-bench
SINGLE=$(mktemp)
trap 'rm -f "$SINGLE"; rm -rf "$(dirname "$BIN")"' EXIT
echo 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1;' >"$SINGLE"

go build -o "$BIN" ./examples/bench
pgbench -i -q "$DSN" >/dev/null 2>&1

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
pg_tpcb() { pgbench -c "$CLIENTS" -j 2 -T "$T" "$DSN" 2>/dev/null | tps; }
pg_single() { pgbench -n -c "$CLIENTS" -j 2 -T "$T" -f "$SINGLE" "$DSN" 2>/dev/null | tps; }
ours() {
	local line
	line=$("$BIN" -store postgres -dsn "$DSN" -schema socialpay_bench -reset -clients "$CLIENTS" \
		-duration "${T}s" -progress 1h "$@" | grep '^summary')
	echo "$line" >&2
	echo "$line" | sed -n 's/.* transfers\/s=\([0-9.]*\) .*/\1/p'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql "$DSN" -Atc 'select version()' | cut -d, -f1)" >&2
echo "synchronous_commit=$(psql "$DSN" -Atc 'show synchronous_commit') shared_buffers=$(psql "$DSN" -Atc 'show shared_buffers')" >&2

tpcb1=$(pg_tpcb); echo "pgbench tpcb-like: $tpcb1 tps" >&2
single1=$(pg_single); echo "pgbench single-row update: $single1 tps" >&2
transfer=$(ours -scenario transfer)
batch=$(ours -scenario batch -batch 100)
hot=$(ours -scenario hot)
hotgroup=$(ours -scenario hot -group)
hotbatch=$(ours -scenario hot -batch 100)
hotshards=$(ours -scenario hot -shards 8)
hotboth=$(ours -scenario hot -batch 100 -shards 8)
tpcb2=$(pg_tpcb); echo "pgbench tpcb-like (after): $tpcb2 tps" >&2
single2=$(pg_single); echo "pgbench single-row update (after): $single2 tps" >&2

awk -v t1="$tpcb1" -v t2="$tpcb2" -v s1="$single1" -v s2="$single2" \
	-v transfer="$transfer" -v batch="$batch" -v hot="$hot" -v hotgroup="$hotgroup" \
	-v hotbatch="$hotbatch" -v hotshards="$hotshards" -v hotboth="$hotboth" -v c="$CLIENTS" 'BEGIN {
	tp = (t1 + t2) / 2; sg = (s1 + s2) / 2
	printf "pgbench tpcb-like, %d clients:            %8.0f tps (%.0f before, %.0f after)\n", c, tp, t1, t2
	printf "pgbench single-row update, %d clients:    %8.0f tps (%.0f before, %.0f after)\n", c, sg, s1, s2
	printf "transfer (1 per commit):                 %8.0f transfers/s  %5.2fx tpcb     (target 0.8x)\n", transfer, transfer / tp
	printf "batch (100 per commit):                  %8.0f transfers/s  %5.2fx tpcb     (target 10x)\n", batch, batch / tp
	printf "hot (1 per commit):                      %8.0f transfers/s  %5.2fx single-row (target 0.8x)\n", hot, hot / sg
	printf "hot, group commit of single transfers:   %8.0f transfers/s  %5.2fx single-row\n", hotgroup, hotgroup / sg
	printf "hot, 8 sub-accounts, 1 per commit:       %8.0f transfers/s  %5.2fx single-row\n", hotshards, hotshards / sg
	printf "hot, batches of 100:                     %8.0f transfers/s  %5.2fx single-row (target 5x)\n", hotbatch, hotbatch / sg
	printf "hot, batches of 100, 8 sub-accounts:     %8.0f transfers/s  %5.2fx single-row\n", hotboth, hotboth / sg
}'
