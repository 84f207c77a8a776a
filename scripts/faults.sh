#!/usr/bin/env bash
# scripts/faults.sh — crash safety under load: runs the load generator with
# -verify against PostgreSQL while killing its backends with
# pg_terminate_backend and restarting the server in immediate mode (a
# crash: no checkpoint, WAL replay on start). Afterwards the generator
# checks that every acknowledged transfer is stored with its amount, that
# no request was applied in part, and that Verify passes. Needs a local
# cluster managed by pg_ctlcluster and the rights to restart it. Not part
# of CI: it restarts the server under everyone using it.
#
#   DSN=postgres://root@127.0.0.1:5432/bench?sslmode=disable DURATION=40 scripts/faults.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DSN=${DSN:-postgres://root@127.0.0.1:5432/bench?sslmode=disable}
DURATION=${DURATION:-40}  # seconds of load per scenario
KILL_EVERY=${KILL_EVERY:-3}
CRASHES=${CRASHES:-1}     # immediate restarts per scenario (0 for kills only)
VERSION=${VERSION:-$(ls /etc/postgresql | sort -n | tail -1)}
WORK=$(mktemp -d)
BIN=$WORK/socialpay-bench
trap 'ensure_up; rm -rf "$WORK"' EXIT

ensure_up() {
	if ! pg_ctlcluster "$VERSION" main status >/dev/null 2>&1; then
		pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || true
	fi
	for _ in $(seq 1 60); do
		pg_isready -q -d "$DSN" && return 0
		sleep 1
	done
	echo "faults: PostgreSQL did not come back" >&2
	return 1
}

kill_backends() {
	psql "$DSN" -Atc "select count(pg_terminate_backend(pid)) from pg_stat_activity
		where application_name = 'socialpay-bench' and pid <> pg_backend_pid()" 2>/dev/null || echo 0
}

crash_restart() {
	pg_ctlcluster --skip-systemctl-redirect "$VERSION" main stop -m immediate
	pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start
}

go build -o "$BIN" ./examples/bench
ensure_up

total_killed=0 total_restarts=0 failed=0
run() {
	local name=$1; shift
	local log=$WORK/$name.log
	"$BIN" -store postgres -dsn "$DSN" -schema socialpay_faults -reset -duration "${DURATION}s" \
		-clients 8 -accounts 2000 -progress 5s -verify "$@" >"$log" 2>&1 &
	local pid=$! killed=0 kills=0 restarts=0
	until grep -q '^setup' "$log"; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	local start=$SECONDS
	# Faults for all but the last 10 s: CRASHES immediate restarts spread
	# over the run, backends killed every KILL_EVERY s in between.
	local next_crash=$((DURATION / (CRASHES + 1)))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS - start < DURATION - 10)); do
		sleep "$KILL_EVERY"
		local t=$((SECONDS - start))
		if ((restarts < CRASHES && t >= next_crash)); then
			next_crash=$((next_crash + DURATION / (CRASHES + 1)))
			echo "faults: $name t=${t}s restart -m immediate" >&2
			crash_restart
			restarts=$((restarts + 1))
			ensure_up
		else
			local n
			n=$(kill_backends)
			killed=$((killed + n)) kills=$((kills + 1))
			echo "faults: $name t=${t}s pg_terminate_backend killed $n backends" >&2
		fi
	done
	local rc=0
	wait "$pid" || rc=$?
	grep -E '^(summary|verify)' "$log"
	echo "faults: $name: $kills kill rounds ($killed backends terminated), $restarts immediate restarts, bench exit $rc"
	total_killed=$((total_killed + killed)) total_restarts=$((total_restarts + restarts))
	if ((rc != 0)); then
		failed=1
		tail -20 "$log" >&2
	fi
}

run transfer -scenario transfer
run batch -scenario batch -batch 100
run hot-group -scenario hot -group
ensure_up
echo "faults: total $total_killed backends terminated, $total_restarts immediate restarts; $( ((failed)) && echo FAILED || echo 'nothing lost')"
exit "$failed"
