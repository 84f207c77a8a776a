#!/usr/bin/env bash
# scripts/bench.sh — socialpay on PostgreSQL side by side with pgbench, on
# the same server in the same run, as ratios.
#
#   DSN=postgres://root@127.0.0.1:5432/bench?sslmode=disable CLIENTS=8 T=30 scripts/bench.sh
#   SET=features scripts/bench.sh     # only the product scenarios
#
# It initialises pgbench's tables in the DSN's database (use a scratch
# database: pgbench -i replaces its pgbench_* tables), runs pgbench
# tpcb-like (and, for the ledger set, a single-row update script), then the
# load generator's scenarios at the same client count, each in a fresh
# schema, then pgbench again, and prints every scenario's rate against the
# mean of the pgbench runs before and after it.
#
# SET picks the scenarios: ledger (transfer, batch, hot and its variants),
# features (redpacket claims, with and without the ledger payments
# group-committed, redpacket-soldout taps, phone resolve+send, qr
# payment-code charges, campaign tries and winners, points earned and
# redeemed, bill-splitting pays) or all (default). The ledger set ends
# with drain -duplicates 4 -verify: every request sent four times at
# once at the payer's exact balance, checked afterwards. The feature scenarios warm up
# for WARMUP (default 10s) before their T seconds are measured, so that the
# tables their setup leaves empty are planned as in service (see the load
# generator's -warmup). ACCOUNTS (default 10000) sizes their setup. SCHEMA
# (default socialpay_bench) is the schema the runs drop and recreate.
# BENCH_BIN runs a load generator built beforehand (say, of another commit)
# instead of building ./examples/bench. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

DSN=${DSN:-postgres://root@127.0.0.1:5432/bench?sslmode=disable}
CLIENTS=${CLIENTS:-8}
T=${T:-30}
SET=${SET:-all}
WARMUP=${WARMUP:-10s}
ACCOUNTS=${ACCOUNTS:-10000}
SCHEMA=${SCHEMA:-socialpay_bench}
case $SET in ledger | features | all) ;; *)
	echo "SET=$SET: want ledger, features or all" >&2
	exit 2
	;;
esac
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
SINGLE=$TMP/single.sql
echo 'UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1;' >"$SINGLE"
BIN=${BENCH_BIN:-}
if [ -z "$BIN" ]; then
	BIN=$TMP/socialpay-bench
	go build -o "$BIN" ./examples/bench
fi
pgbench -i -q -s "$(( CLIENTS > 1 ? CLIENTS : 1 ))" "$DSN" >/dev/null 2>&1

tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
pg_tpcb() { pgbench -c "$CLIENTS" -j 2 -T "$T" "$DSN" 2>/dev/null | tps; }
pg_single() { pgbench -n -c "$CLIENTS" -j 2 -T "$T" -f "$SINGLE" "$DSN" 2>/dev/null | tps; }
# ours runs one scenario and prints its summary's transfers/s (the
# scenario's operations per second); the summary line goes to stderr.
ours() {
	local line
	line=$("$BIN" -store postgres -dsn "$DSN" -schema "$SCHEMA" -reset -clients "$CLIENTS" \
		-duration "${T}s" -progress 1h "$@" | grep '^summary')
	echo "$line" >&2
	echo "$line" | sed -n 's/.* transfers\/s=\([0-9.]*\) .*/\1/p'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(psql "$DSN" -Atc 'select version()' | cut -d, -f1)" >&2
echo "synchronous_commit=$(psql "$DSN" -Atc 'show synchronous_commit') shared_buffers=$(psql "$DSN" -Atc 'show shared_buffers')" >&2
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "${BENCH_BIN:-}" ]; then
	commit="$BENCH_BIN"
elif ! git diff --quiet HEAD -- . 2>/dev/null; then
	commit="$commit (working tree differs)"
fi
echo "load generator: $commit; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Each result: label, rate, baseline (tpcb or single), target or "".
results=()
add() { results+=("$1|$2|$3|$4"); }

tpcb1=$(pg_tpcb); echo "pgbench tpcb-like: $tpcb1 tps" >&2
if [ "$SET" != features ]; then
	single1=$(pg_single); echo "pgbench single-row update: $single1 tps" >&2
	add "transfer (1 per commit)" "$(ours -scenario transfer)" tpcb 0.8
	add "batch (100 per commit)" "$(ours -scenario batch -batch 100)" tpcb 10
	add "hot (1 per commit)" "$(ours -scenario hot)" single 0.8
	add "hot, group commit of single transfers" "$(ours -scenario hot -group)" single ""
	add "hot, batches of 100" "$(ours -scenario hot -batch 100)" single 5
	add "hot, 8 sub-accounts, 1 per commit" "$(ours -scenario hot -shards 8)" single ""
	add "hot, batches of 100, 8 sub-accounts" "$(ours -scenario hot -batch 100 -shards 8)" single ""
	add "drain, 4 duplicates of each request" "$(ours -scenario drain -duplicates 4 -verify)" tpcb ""
fi
if [ "$SET" != ledger ]; then
	feature() { ours -warmup "$WARMUP" -accounts "$ACCOUNTS" "$@"; }
	add "redpacket claims/s" "$(feature -scenario redpacket)" tpcb 0.9
	add "redpacket claims/s, payments grouped" "$(feature -scenario redpacket -group)" tpcb ""
	add "redpacket-soldout taps/s (fast path)" "$(feature -scenario redpacket-soldout)" tpcb ""
	add "phone resolve+send/s" "$(feature -scenario phone)" tpcb 0.8
	add "qr payment-code charges/s" "$(feature -scenario qr)" tpcb 0.9
	add "campaign tries/s (10% win)" "$(feature -scenario campaign)" tpcb ""
	add "campaign winners/s" "$(feature -scenario campaign-winners)" tpcb 0.9
	add "points earned/s" "$(feature -scenario points-earn)" tpcb ""
	add "points redeemed/s" "$(feature -scenario points-redeem)" tpcb ""
	add "bill-splitting pays/s" "$(feature -scenario collect)" tpcb ""
fi
tpcb2=$(pg_tpcb); echo "pgbench tpcb-like (after): $tpcb2 tps" >&2
single1=${single1:-0} single2=0
if [ "$SET" != features ]; then
	single2=$(pg_single); echo "pgbench single-row update (after): $single2 tps" >&2
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

printf '%s\n' "${results[@]}" | awk -F'|' -v t1="$tpcb1" -v t2="$tpcb2" -v s1="$single1" -v s2="$single2" -v c="$CLIENTS" '
BEGIN {
	tp = (t1 + t2) / 2; sg = (s1 + s2) / 2
	printf "pgbench tpcb-like, %d clients:            %10.0f tps (%.0f before, %.0f after)\n", c, tp, t1, t2
	if (sg > 0) printf "pgbench single-row update, %d clients:    %10.0f tps (%.0f before, %.0f after)\n", c, sg, s1, s2
}
{
	base = ($3 == "single") ? sg : tp
	name = ($3 == "single") ? "single-row" : "tpcb"
	target = ($4 == "") ? "" : sprintf(" (target %sx)", $4)
	printf "%-40s %10.0f/s  %7.2fx %s%s\n", $1 ":", $2, $2 / base, name, target
}'
