#!/usr/bin/env bash
# scripts/bankd-bench.sh — red-packet claims through bankd (examples/bankd)
# next to the library called directly, on the same store in the same run.
# Each of ROUNDS rounds (default 3) runs the load generator's redpacket
# scenario (the library in the load generator's process), its
# http-redpacket scenario (one HTTP request per claim to a bankd on the
# same store) and redpacket again, each at CLIENTS clients (default 8) for
# T seconds (default 30) after WARMUP seconds (default 10), and prints
# bankd's claims/s over the mean of the two direct runs around it (on a
# shared machine the neighbours' load drifts within minutes).
#
#   DSN=postgres://root@127.0.0.1:5432/bench?sslmode=disable scripts/bankd-bench.sh
#   STORE=memory scripts/bankd-bench.sh        # both on memory stores
#   PPROF=127.0.0.1:6060 scripts/bankd-bench.sh # bankd serves net/http/pprof there; its CPU
#                                               # profile of the last round's load is bankd.pprof
#
# Both sides have USERS users (default 200; bankd's group holds at most
# 500) and the same packets: 10 shares of 0.10 CNY, 1,024 open at once.
# On PostgreSQL each side has a fresh schema (SCHEMA_direct and
# SCHEMA_bankd, default bankd_bench_*, dropped first; use a scratch
# database), a pool of CLIENTS+4 connections, and its tables analyzed
# after the warm-up; pgbench tpcb-like (scale CLIENTS, its pgbench_*
# tables replaced: one more reason for a scratch database) runs for T
# seconds at CLIENTS clients before the first round and after the last,
# for context (PGBENCH=0: not). Every run is checked (-verify; a failed
# check stops the script) and every round's line says the load average:
# the machine is shared. BANKD_BIN and BENCH_BIN run binaries built
# beforehand. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

STORE=${STORE:-postgres}
DSN=${DSN:-postgres://root@127.0.0.1:5432/bench?sslmode=disable}
CLIENTS=${CLIENTS:-8}
T=${T:-30}
WARMUP=${WARMUP:-10}
ROUNDS=${ROUNDS:-3}
PGBENCH=${PGBENCH:-1}
USERS=${USERS:-200}
SCHEMA=${SCHEMA:-bankd_bench}
case $STORE in memory | postgres) ;; *)
	echo "STORE=$STORE: want memory or postgres" >&2
	exit 2
	;;
esac
TMP=$(mktemp -d)
BANKD_PID=
cleanup() {
	if [ -n "$BANKD_PID" ]; then kill "$BANKD_PID" 2>/dev/null || true; fi
	rm -rf "$TMP"
}
trap cleanup EXIT
BENCH=${BENCH_BIN:-$TMP/bench}
BANKD=${BANKD_BIN:-$TMP/bankd}
[ -n "${BENCH_BIN:-}" ] || go build -o "$BENCH" ./examples/bench
[ -n "${BANKD_BIN:-}" ] || go build -o "$BANKD" ./examples/bankd

# Users and their bearer tokens, for bankd and for the load generator.
BANKD_TOKENS=$(for i in $(seq -w 0 $((USERS - 1))); do printf 'u%s=bench-token-%s-%s,' "$i" "$i" "$RANDOM"; done)
export BANKD_TOKENS=${BANKD_TOKENS%,}
export BANKD_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
pooled() { # the DSN with a pool of CLIENTS+4 connections
	case $1 in *\?*) echo "$1&pool_max_conns=$((CLIENTS + 4))" ;; *) echo "$1?pool_max_conns=$((CLIENTS + 4))" ;; esac
}

# claims_per_s runs the load generator and prints its claims/s; its
# summary line goes to stderr. With PROFILE set, bankd's CPU profile of
# the measured T seconds (after the warm-up) is written there.
claims_per_s() {
	local out=$TMP/bench.out line
	"$BENCH" -clients "$CLIENTS" -duration "${T}s" -warmup "${WARMUP}s" -accounts "$USERS" -progress 1h -verify "$@" >"$out" &
	local pid=$!
	if [ -n "${PROFILE:-}" ]; then
		until grep -q '^warmup ' "$out" || ! kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
		curl -fsS -o "$PROFILE" "http://$PPROF/debug/pprof/profile?seconds=$T" || true
	fi
	# A command substitution runs without set -e: a failed run (its
	# -verify included) must fail here, not print a rate.
	if ! wait "$pid"; then
		cat "$out" >&2
		return 1
	fi
	line=$(grep '^summary ' "$out")
	echo "$line" >&2
	grep '^verify ' "$out" >&2 || true
	sed -n 's/.* claims\/s=\([0-9.]*\) .*/\1/p' <<<"$line"
}

start_bankd() {
	local args=(-addr 127.0.0.1:0 -maintain 0 -log-level warn)
	if [ "$STORE" = postgres ]; then
		PGOPTIONS='-c client_min_messages=warning' psql "$DSN" -qc "drop schema if exists ${SCHEMA}_bankd cascade" >/dev/null
		args+=(-dsn "$(pooled "$DSN")" -schema "${SCHEMA}_bankd")
	fi
	if [ -n "${PPROF:-}" ]; then args+=(-pprof "$PPROF"); fi
	"$BANKD" "${args[@]}" >"$TMP/bankd.out" 2>"$TMP/bankd.err" &
	BANKD_PID=$!
	for _ in $(seq 1 100); do
		URL=$(sed -n 's/^bankd listening on \(http:\/\/[^ ]*\).*/\1/p' "$TMP/bankd.out")
		if [ -n "$URL" ] && curl -fsS "$URL/readyz" >/dev/null 2>&1; then return; fi
		sleep 0.1
	done
	echo "bankd did not start:" >&2
	cat "$TMP/bankd.err" >&2
	exit 1
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
	"(model $(sed -n 's/^model\s*: //p' /proc/cpuinfo | head -1)); store=$STORE clients=$CLIENTS T=${T}s users=$USERS" >&2
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); load average: $(load)" >&2
# pgbench_tps runs pgbench tpcb-like and prints its tps.
pgbench_tps() { pgbench -c "$CLIENTS" -j 2 -T "$T" "$DSN" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
if [ "$STORE" = postgres ] && [ "$PGBENCH" = 1 ]; then
	echo "$(psql "$DSN" -Atc 'select version()' | cut -d, -f1); synchronous_commit=$(psql "$DSN" -Atc 'show synchronous_commit')" >&2
	pgbench -i -q -s "$CLIENTS" "$DSN" >/dev/null 2>&1
	echo "pgbench tpcb-like (before): $(pgbench_tps) tps; load average: $(load)"
fi
direct_claims_per_s() {
	local args=(-scenario redpacket -store "$STORE" -seed "$1")
	if [ "$STORE" = postgres ]; then args+=(-dsn "$DSN" -schema "${SCHEMA}_direct" -reset); fi
	# On memory stores, packets for 150,000 claims a second, not the load
	# generator's guess of a million: its setup and -verify took minutes.
	if [ "$STORE" = memory ]; then args+=(-ops $((150000 * (T + WARMUP)))); fi
	claims_per_s "${args[@]}"
}
ratios=()
for round in $(seq 1 "$ROUNDS"); do
	before=$(direct_claims_per_s "$round")
	start_bankd
	PROFILE=
	if [ -n "${PPROF:-}" ] && [ "$round" = "$ROUNDS" ]; then PROFILE=bankd.pprof; fi
	# Packets for twice the direct rate, at most 300,000 claims (they are
	# sent over HTTP first; a run that uses them up ends early, its rate
	# still claims over the time they took).
	ops=$(echo "x = $before * 2 * ($T + $WARMUP) / 1; if (x > 300000) x = 300000; x" | bc)
	http_args=(-scenario http-redpacket -http "$URL" -seed "$round" -ops "$ops")
	# On PostgreSQL the load generator analyzes bankd's schema after the
	# warm-up, as it does its own: the tables setup filled are planned as
	# in service, not as the empty tables bankd created.
	if [ "$STORE" = postgres ]; then http_args+=(-store postgres -dsn "$DSN" -schema "${SCHEMA}_bankd"); fi
	bankd=$(claims_per_s "${http_args[@]}")
	PROFILE=
	kill "$BANKD_PID"
	wait "$BANKD_PID" || true
	BANKD_PID=
	after=$(direct_claims_per_s "$((round + 1000))")
	ratio=$(echo "scale=3; 2 * $bankd / ($before + $after)" | bc)
	ratios+=("$ratio")
	echo "round $round: direct claims/s=$before bankd claims/s=$bankd direct claims/s=$after ratio=$ratio; load average: $(load)"
done
if [ "$STORE" = postgres ] && [ "$PGBENCH" = 1 ]; then
	echo "pgbench tpcb-like (after): $(pgbench_tps) tps; load average: $(load)"
fi
echo "median ratio=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{r[NR] = $1} END {print (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2}')"
