# tests/lib.sh — sourced by every API test: TAP output, and a real lighttpd
# that spawns the real onceshop binary (and paysim, under /paysim/), on a
# free loopback port, with fresh databases, all stopped and removed when
# the test exits.
#
#   . "$(dirname "$0")/lib.sh"
#   start_server
#   req GET /products
#   is "$STATUS" 200 "the catalogue is public"
#   done_testing

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ONCESHOP_BIN:-$ROOT/build/onceshop}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/onceshop-test.XXXXXX")
export ONCESHOP_DB=$TMP/onceshop.db
# The engine: SQLite, or with ONCESHOP_TEST_DB=postgres a database of its
# own on the PostgreSQL server whose socket directory is ONCESHOP_TEST_PG
# (tests/pg-prove.sh starts one for the run; this file drops the database).
ENGINE=${ONCESHOP_TEST_DB:-sqlite}
PGDB=
if [ "$ENGINE" = postgres ]; then
	PGDB=onceshop_test_$$_$RANDOM
	createdb -h "${ONCESHOP_TEST_PG:?ONCESHOP_TEST_PG must name the socket directory}" \
		-U postgres "$PGDB" || { echo "Bail out! createdb failed"; exit 1; }
	export ONCESHOP_DATABASE_URL="postgresql:///$PGDB?host=$ONCESHOP_TEST_PG&user=postgres"
else
	export ONCESHOP_DATABASE_URL=
fi
export ONCESHOP_IDEMPOTENCY_TTL=${ONCESHOP_IDEMPOTENCY_TTL:-}
export ONCESHOP_BUSY_TIMEOUT_MS=${ONCESHOP_BUSY_TIMEOUT_MS:-}
export ONCESHOP_SYNC=${ONCESHOP_SYNC:-}
# paysim, with short delays for its slow and lost cards unless the test
# sets its own.
export PAYSIM_BIN=${PAYSIM_BIN:-$ROOT/build/paysim}
export PAYSIM_DB=$TMP/paysim.db
export PAYSIM_SCHEMA=$ROOT/schema/paysim
export PAYSIM_SECRET=${PAYSIM_SECRET:-}
export PAYSIM_SLOW_MS=${PAYSIM_SLOW_MS:-300}
export PAYSIM_LOST_MS=${PAYSIM_LOST_MS:-1500}
export PAYSIM_THREADS=${PAYSIM_THREADS:-}
# The shop asks that paysim (start_server sets its URL) and gives up on it
# after 1 s unless the test says otherwise: tok_lost's answer is lost.
export ONCESHOP_PROVIDER_URL=${ONCESHOP_PROVIDER_URL:-}
export ONCESHOP_PROVIDER_SECRET=${ONCESHOP_PROVIDER_SECRET:-}
export ONCESHOP_PROVIDER_TIMEOUT_MS=${ONCESHOP_PROVIDER_TIMEOUT_MS:-1000}
export ONCESHOP_COMPLETER_MS=${ONCESHOP_COMPLETER_MS:-}
ALICE='Authorization: Bearer alice-token'
BOB='Authorization: Bearer bob-token'
JSON='Content-Type: application/json'
TESTS=0
FAILED=0
SERVER_PID=

# ---- TAP ----------------------------------------------------------------

pass() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $1"; }
fail() {
	TESTS=$((TESTS + 1)); FAILED=$((FAILED + 1))
	echo "not ok $TESTS - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}

# is GOT EXPECTED DESCRIPTION
is() {
	if [ "$1" = "$2" ]; then pass "$3"
	else fail "$3" "got:      '$1'" "expected: '$2'"; fi
}

# like GOT REGEX DESCRIPTION
like() {
	if [[ $1 =~ $2 ]]; then pass "$3"
	else fail "$3" "got:      '$1'" "expected to match: '$2'"; fi
}

done_testing() {
	if [ -f "$TMP/error.log" ]; then
		is "$(grep -cE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' "$TMP/error.log")" 0 \
			"the server log has no sanitizer report (make asan)"
	fi
	echo "1..$TESTS"
	if [ "$FAILED" -ne 0 ] && [ -f "$TMP/error.log" ]; then
		echo "# server log:"
		tail -n 20 "$TMP/error.log" | sed 's/^/#   /'
	fi
	[ "$FAILED" -eq 0 ]
}

# ---- the server ----------------------------------------------------------

stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=
		stop_left_behind "$TMP/fcgi.sock"
	fi
}
# stop_left_behind SOCKET: the workers of the lighttpd just stopped (or a
# wrapper about to exec one), found by the socket in their environment,
# are gone when it returns: 5 s after a TERM, KILLed. One still finishing
# its last group would hold the database; one lighttpd left running (seen
# under load: one it had just spawned again after a crash) would also run
# its completer beside the next server's.
stop_left_behind() {
	local pids
	pids=($(grep -lzxF "ONCESHOP_SOCKET=$1" /proc/[0-9]*/environ 2>/dev/null |
		sed 's#^/proc/\([0-9]*\)/environ$#\1#'))
	[ ${#pids[@]} -gt 0 ] || return 0
	kill "${pids[@]}" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "${pids[@]}" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL "${pids[@]}" 2>/dev/null
}
# AT_EXIT: what a test started of its own, to stop before TMP goes.
AT_EXIT=
trap 'eval "$AT_EXIT"; stop_second_host; stop_server; [ -z "$PGDB" ] || dropdb -h "$ONCESHOP_TEST_PG" -U postgres \
	--if-exists "$PGDB" 2>/dev/null; rm -rf "$TMP"' EXIT

# sqlite_only REASON: a file that tests what only SQLite has (its lock, its
# files, its triggers) skips itself on PostgreSQL. Call before start_server.
sqlite_only() {
	[ "$ENGINE" = sqlite ] && return 0
	echo "1..0 # SKIP on PostgreSQL: $1"
	exit 0
}

# skip DESCRIPTION REASON: one test that does not apply here, skipped.
skip() { TESTS=$((TESTS + 1)); echo "ok $TESTS # skip $1: $2"; }

# integrity_ok: the database's own consistency check (SQLite's PRAGMA
# integrity_check; PostgreSQL checks as it writes, and has no such pass).
integrity_ok() {
	if [ "$ENGINE" = sqlite ]; then
		is "$(sql 'PRAGMA integrity_check')" ok "PRAGMA integrity_check is ok"
	else
		skip "PRAGMA integrity_check is ok" "SQLite's"
	fi
}

# The ports tried: TEST_PORTS=LO-HI (make test TEST_PORTS=20000-29999). By
# default from 20000 to just below the kernel's ephemeral ports (where an
# outgoing connection's own end could hold a port a test means to listen
# on a few seconds after it found it free), or 20000-49999.
if [ -z "${TEST_PORTS:-}" ]; then
	read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_lo=0
	if [ "$eph_lo" -gt 21000 ]; then TEST_PORTS=20000-$((eph_lo - 1)); else TEST_PORTS=20000-49999; fi
fi
PORT_LO=${TEST_PORTS%-*} PORT_HI=${TEST_PORTS#*-}

# free_port: sets FREE_PORT to a loopback port nothing answers on (yet),
# and none handed out before by this test, which may be meant for a
# server started later. (Not $(free_port): a subshell would not move
# $RANDOM on, and the next port picked here would be the same.)
HANDED_OUT=" "
free_port() {
	while :; do
		FREE_PORT=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
		case $HANDED_OUT in *" $FREE_PORT "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$FREE_PORT") 2>/dev/null && continue
		HANDED_OUT="$HANDED_OUT$FREE_PORT "
		return 0
	done
}

# answers URL PID: waits up to 10 s for URL/health to answer 200, as long
# as PID (its lighttpd) runs. Returns 1 if it never did.
answers() {
	for _ in $(seq 100); do
		curl -sf -o /dev/null "$1/health" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_server [PORT]: creates the databases (onceshop's with demo data,
# and paysim's) and starts lighttpd on PORT or a free port; sets BASE to
# its URL.
start_server() {
	local port try
	"$BIN" init --demo >/dev/null || { echo "Bail out! onceshop init failed"; exit 1; }
	"$PAYSIM_BIN" init >/dev/null || { echo "Bail out! paysim init failed"; exit 1; }
	for try in 1 2 3 4 5; do
		if [ -n "${1:-}" ]; then port=$1; else free_port; port=$FREE_PORT; fi
		(cd "$ROOT" && ONCESHOP_PORT=$port ONCESHOP_BIN=$BIN \
			ONCESHOP_PROVIDER_URL=${ONCESHOP_PROVIDER_URL:-http://127.0.0.1:$port/paysim} \
			ONCESHOP_LOG=$TMP/error.log ONCESHOP_SOCKET=$TMP/fcgi.sock \
			exec lighttpd -D -f lighttpd.conf 2>>"$TMP/error.log") &
		SERVER_PID=$!
		BASE=http://127.0.0.1:$port
		answers "$BASE" "$SERVER_PID" && return 0
		stop_server
	done
	echo "Bail out! lighttpd did not start; log:"
	cat "$TMP/error.log" 2>/dev/null
	exit 1
}

# start_second_host [PORT]: another lighttpd and onceshop process on
# another port (PORT, or a free one), the same database on PostgreSQL (a
# file of its own, $TMP/onceshop-2.db, on SQLite), the first host's
# paysim, as behind a load balancer (make cluster); its own paysim
# (database $TMP/paysim-2.db) answers under $B/paysim. Sets B to its URL
# and SECOND_PID. Its log is $TMP/error-2.log. Call after start_server.
SECOND_PID=
start_second_host() {
	local port db=$ONCESHOP_DB _
	[ "$ENGINE" = sqlite ] && db=$TMP/onceshop-2.db
	ONCESHOP_DB=$db "$BIN" init --demo >/dev/null &&
		PAYSIM_DB=$TMP/paysim-2.db "$PAYSIM_BIN" init >/dev/null ||
		{ echo "Bail out! init failed for the second host"; exit 1; }
	for _ in 1 2 3 4 5; do
		if [ -n "${1:-}" ]; then port=$1; else free_port; port=$FREE_PORT; fi
		(cd "$ROOT" && ONCESHOP_PORT=$port ONCESHOP_BIN=$BIN ONCESHOP_DB=$db \
			ONCESHOP_PROVIDER_URL=${ONCESHOP_PROVIDER_URL:-$BASE/paysim} PAYSIM_DB=$TMP/paysim-2.db \
			ONCESHOP_LOG=$TMP/error-2.log ONCESHOP_SOCKET=$TMP/fcgi-2.sock \
			exec lighttpd -D -f lighttpd.conf 2>>"$TMP/error-2.log") &
		SECOND_PID=$!
		B=http://127.0.0.1:$port
		answers "$B" "$SECOND_PID" && return 0
		stop_second_host
	done
	echo "Bail out! the second host did not start; log:"
	cat "$TMP/error-2.log" 2>/dev/null
	exit 1
}

stop_second_host() {
	if [ -n "$SECOND_PID" ]; then
		kill "$SECOND_PID" 2>/dev/null
		wait "$SECOND_PID" 2>/dev/null
		SECOND_PID=
		stop_left_behind "$TMP/fcgi-2.sock"
	fi
}

# start_redis: a Redis server of the test's own (tests/redis.sh, in
# $TMP/redis), stopped at exit; exports ONCESHOP_REDIS, its socket. A test
# that needs it skips itself where redis-server is not installed. rcli
# runs redis-cli on it; stop_redis stops it (start_redis starts it again).
start_redis() {
	if ! command -v redis-server >/dev/null; then
		echo "1..0 # SKIP needs redis-server (make test installs it)"
		exit 0
	fi
	AT_EXIT='stop_redis'
	ONCESHOP_REDIS=$("$ROOT/tests/redis.sh" start "$TMP/redis") ||
		{ echo "Bail out! Redis did not start"; exit 1; }
	export ONCESHOP_REDIS
}
stop_redis() { "$ROOT/tests/redis.sh" stop "$TMP/redis"; }
rcli() { redis-cli -s "$ONCESHOP_REDIS" "$@"; }


# workers [LIGHTTPD-PID [BIN]]: the pids of the onceshop processes of a
# lighttpd (this test's by default): its children running exactly BIN
# ($BIN by default).
workers() {
	local pid bin
	bin=$(readlink -f "${2:-$BIN}")
	[ -n "${1:-$SERVER_PID}" ] || return 0
	for pid in $(pgrep -P "${1:-$SERVER_PID}"); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$bin" ] && echo "$pid"
	done
}

# ---- requests ------------------------------------------------------------

# req METHOD PATH [curl options...]: sets STATUS, BODY and HEADERS (the
# response header lines, CR removed). The workers' log lines (stderr) and
# lighttpd's own go to $TMP/error.log.
req() {
	local method=$1 path=$2
	shift 2
	STATUS=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' \
		-X "$method" "$@" "$BASE$path")
	BODY=$(cat "$TMP/body")
	HEADERS=$(tr -d '\r' < "$TMP/headers")
}

# order_replays KEY SKU FILE: alice's order of one SKU under KEY, sent
# again, replays exactly the answer it got (201, saved in FILE).
order_replays() {
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" \
		-d "{\"items\":[{\"sku\":\"$2\",\"quantity\":1}]}"
	is "$STATUS $(header Idempotent-Replayed) $BODY" "201 true $(cat "$3")" \
		"order $1's retry replays exactly the answer it got"
}

# burst N PATH KEY BODY [BASE...]: N copies of one POST as alice, all at
# once, copy i to the BASEs in turn ($BASE alone by default). Copy i's
# status, headers and body land in $TMP/burst/i.status, .hdr and .body.
burst() {
	local n=$1 i pids=()
	BURST=("$2" "$3" "$4")
	shift 4
	BURST_BASES=("${@:-$BASE}")
	rm -rf "$TMP/burst" && mkdir "$TMP/burst"
	for i in $(seq "$n"); do burst_copy "$i" & pids+=($!); done
	wait "${pids[@]}"
}

# burst_copy I: sends copy I of the last burst again.
burst_copy() {
	curl -s --max-time 20 -o "$TMP/burst/$1.body" -D "$TMP/burst/$1.hdr" \
		-w '%{http_code}\n' -X POST \
		"${BURST_BASES[$((($1 - 1) % ${#BURST_BASES[@]}))]}${BURST[0]}" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: ${BURST[1]}" \
		-d "${BURST[2]}" > "$TMP/burst/$1.status"
}

# burst_retry: each copy of the last burst that was answered 409 (in
# progress) or 503 (busy) retries, all at once, after its Retry-After, for
# as long as it gets one of them (15 s at most), as a client told so does.
burst_retry() {
	local f pids=()
	for f in "$TMP"/burst/*.status; do
		f=${f##*/}
		( i=${f%.status} deadline=$((SECONDS + 15))
		  while grep -qx '409\|503' "$TMP/burst/$i.status" && [ "$SECONDS" -lt "$deadline" ]; do
			sleep "$(tr -d '\r' < "$TMP/burst/$i.hdr" | sed -n 's/^Retry-After: //Ip')"
			burst_copy "$i"
		  done ) & pids+=($!)
	done
	wait "${pids[@]}"
}

# header NAME: the value of response header NAME of the last req, or "".
header() {
	printf '%s\n' "$HEADERS" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (tolower(substr($0, 1, i - 1)) == n) {
			print substr($0, i + 2); exit } }'
}

# json FILTER: jq FILTER applied to the last response body.
json() { jq -r "$1" <<<"$BODY"; }

# sql QUERY: runs QUERY on the test database and prints the result, the
# columns of a row joined by "|", on either engine (errors on stderr). On
# SQLite it waits up to 5 s for a lock: a worker that lighttpd has just
# started recovers the WAL of one that was killed, and a reader meanwhile
# would be told "database is locked".
sql() {
	if [ "$ENGINE" = sqlite ]; then sqlite3 -cmd '.timeout 5000' "$ONCESHOP_DB" "$1"
	else psql -X -q -A -t -v ON_ERROR_STOP=1 "$ONCESHOP_DATABASE_URL" -c "$1"; fi
}

# hold_write_lock SECONDS: a client outside onceshop takes the write lock
# (SQLite: BEGIN IMMEDIATE in a sqlite3 shell; PostgreSQL: a table lock on
# idempotency_keys, which every claim needs) and keeps it SECONDS. Returns
# once it is held (1 if it never was); HOLDER is its pid.
hold_write_lock() {
	rm -f "$TMP/locked"
	if [ "$ENGINE" = sqlite ]; then
		( printf '.timeout 2000\nBEGIN IMMEDIATE;\n.shell touch %s\n' "$TMP/locked"
		  sleep "$1"; printf 'ROLLBACK;\n' ) | sqlite3 "$ONCESHOP_DB" &
	else
		( printf 'BEGIN;\nLOCK TABLE idempotency_keys IN EXCLUSIVE MODE;\n\\! touch %s\n' "$TMP/locked"
		  sleep "$1"; printf 'ROLLBACK;\n' ) | psql -X -q "$ONCESHOP_DATABASE_URL" >/dev/null &
	fi
	HOLDER=$!
	waitfor locked
}

# waitfor NAME: waits up to 5 s for the file $TMP/NAME. Returns 1 if it
# never came.
waitfor() {
	local _
	for _ in $(seq 100); do [ -e "$TMP/$1" ] && return 0; sleep 0.05; done
	return 1
}

# session NAME SCRIPT: psql runs SCRIPT (lines; "\! touch $TMP/F" marks a
# point for waitfor F) in the background, its output in $TMP/NAME.out.
session() {
	psql -X -q -v ON_ERROR_STOP=1 "$ONCESHOP_DATABASE_URL" <<<"$2" >"$TMP/$1.out" 2>&1 &
}

# hold_row NAME SECONDS: a psql session NAME holds the row of MUG-KYOTO
# (an UPDATE in an open transaction) for SECONDS. Returns once it does.
hold_row() {
	session "$1" "BEGIN;
UPDATE products SET stock = stock WHERE sku = 'MUG-KYOTO';
\\! touch $TMP/$1
SELECT pg_sleep($2);
COMMIT;"
	waitfor "$1" || echo "# $1 never held its row"
}

# now_utc [SECONDS]: the time now (plus SECONDS), as the database keeps it.
now_utc() { date -u -d "@$(( $(date +%s) + ${1:-0} ))" +%Y-%m-%dT%H:%M:%SZ; }

# ledger REFERENCE: the provider's ledger of charges for REFERENCE (the
# shop's "payment-<id>"), as req sets it: count them with
# json '.charges | length'.
ledger() {
	req GET "/paysim/v1/charges?reference=$1" \
		-H "Authorization: Bearer ${PAYSIM_SECRET:-paysim-secret}"
}

# payment_facts ORDER KEY: what a payment left behind, on one line: the
# charges in the provider's ledger for all of ORDER's payments, their
# statuses (oldest first), the order's status and alice's confirm-payment
# KEY as status/recovery_point. Leaves STATUS, BODY and HEADERS alone.
payment_facts() {
	local p c n=0
	for p in $(sql "SELECT id FROM payments WHERE order_id = $1 ORDER BY id"); do
		c=$(curl -s -H "Authorization: Bearer ${PAYSIM_SECRET:-paysim-secret}" \
			"$BASE/paysim/v1/charges?reference=payment-$p" | jq '.charges | length' 2>/dev/null)
		[[ $c =~ ^[0-9]+$ ]] && [ "$n" != '?' ] && n=$((n + c)) || n='?'
	done
	echo "charges=$n payments=$(sql "SELECT status FROM payments WHERE order_id = $1
		ORDER BY id" | paste -sd,) order=$(sql "SELECT status
		FROM orders WHERE id = $1") key=$(sql "SELECT status || '/' ||
		coalesce(recovery_point, '-') FROM idempotency_keys WHERE operation =
		'confirm-payment' AND idem_key = '$2' AND user_id = (SELECT id FROM users
		WHERE name = 'alice')")"
}

# problem STATUS NAME DESCRIPTION: the last response is that problem.
problem() {
	is "$STATUS $(header Content-Type) $(json .type) $(json .status)" \
		"$1 application/problem+json /problems/$2 $1" "$3"
}
