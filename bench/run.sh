#!/usr/bin/env bash
# run.sh — `make bench`: measures a FastCGI hello (the ceiling) and onceshop
# behind the same lighttpd with wrk, on loopback, and prints one table with
# each scenario's throughput as a ratio of the ceiling measured in this run.
# Every onceshop scenario gets a fresh database: on SQLite (the default), or
# with BENCH_DB=postgres on a throwaway PostgreSQL server (tests/pg.sh) that
# lives as long as the run. See bench/README.md.
#
#   BENCH_SECS=3 bench/run.sh     (seconds per scenario; default 10)
#   BENCH_DB=postgres bench/run.sh

set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"		# lighttpd.conf and `onceshop init` expect the root
BIN=${ONCESHOP_BIN:-$ROOT/build/onceshop}
HELLO=${BENCH_HELLO_BIN:-$ROOT/build/hello}
SECS=${BENCH_SECS:-10}
WARM=2
if [ "$SECS" -lt 5 ]; then WARM=1; fi
ENGINE=${BENCH_DB:-sqlite}
case $ENGINE in
sqlite|postgres) ;;
*) echo "bench: BENCH_DB (make's DB) must be sqlite or postgres, not $ENGINE" >&2
   exit 2 ;;
esac
TMP=$(mktemp -d "${TMPDIR:-/tmp}/onceshop-bench.XXXXXX")
RESULTS=$TMP/results
SERVER_PID=
WORKER_PIDS=
FAILED=0
# PostgreSQL: the server's directory (its socket too), once started.
PG_DIR=

# lighttpd.conf reads every one of these; empty means onceshop's default.
export ONCESHOP_IDEMPOTENCY_TTL=${ONCESHOP_IDEMPOTENCY_TTL:-}
export ONCESHOP_BUSY_TIMEOUT_MS=${ONCESHOP_BUSY_TIMEOUT_MS:-}
export ONCESHOP_THREADS=${ONCESHOP_THREADS:-}
export ONCESHOP_PROVIDER_URL=${ONCESHOP_PROVIDER_URL:-}
export ONCESHOP_PROVIDER_SECRET=${ONCESHOP_PROVIDER_SECRET:-}
export ONCESHOP_PROVIDER_TIMEOUT_MS=${ONCESHOP_PROVIDER_TIMEOUT_MS:-}
export ONCESHOP_COMPLETER_MS=${ONCESHOP_COMPLETER_MS:-}
# PostgreSQL: set per scenario (new_db). Empty on SQLite: a URL from your
# environment would take onceshop away from the file the scenario prepared.
export ONCESHOP_DATABASE_URL=
export ONCESHOP_BIN=$BIN BENCH_HELLO_BIN=$HELLO
# lighttpd.conf serves paysim under /paysim/ too: the provider of the
# slow-payments scenarios (start_server points onceshop at it).
PAYSIM=${PAYSIM_BIN:-$ROOT/build/paysim}
export PAYSIM_BIN=$PAYSIM PAYSIM_DB=$TMP/paysim.db
export PAYSIM_SLOW_MS=${PAYSIM_SLOW_MS:-} PAYSIM_LOST_MS=${PAYSIM_LOST_MS:-}
export PAYSIM_THREADS=${PAYSIM_THREADS:-}

AUTH='Authorization: Bearer alice-token'
JSON='Content-Type: application/json'
ORDER='{"items":[{"sku":"BENCH-TEA","quantity":1}]}'

say() { echo "bench: $*" >&2; }

# ---- the server ----------------------------------------------------------

# Stops lighttpd, then any of its workers still alive: lighttpd stops them
# itself, but a worker left behind would hold its socket and the database.
# A pid is killed only if it still runs our binary (pids get reused).
stop_server() {
	local pid
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	fi
	for pid in $WORKER_PIDS; do
		if [ "/proc/$pid/exe" -ef "$BIN" ] ||
		    [ "/proc/$pid/exe" -ef "$HELLO" ] ||
		    [ "/proc/$pid/exe" -ef "$PAYSIM" ]; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	WORKER_PIDS=
}
# The PostgreSQL server goes after lighttpd, whose workers are its clients.
stop_pg() {
	if [ -n "$PG_DIR" ]; then
		tests/pg.sh stop "$PG_DIR"
		rm -rf "$PG_DIR"
		PG_DIR=
	fi
}
trap 'stop_server; stop_pg; rm -rf "$TMP"' EXIT
# Ctrl-C or kill: leave through the EXIT trap above.
trap 'exit 130' INT
trap 'exit 143' TERM
"$PAYSIM" init >/dev/null

# Servers take ports from 20000 to just below the kernel's ephemeral
# ports, which wrk's own ends of its connections take by the thousand
# (20000-49999 where those start below 21000).
read -r EPHEMERAL_LO _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || EPHEMERAL_LO=32768
[ "$EPHEMERAL_LO" -gt 21000 ] || EPHEMERAL_LO=50000

# start_server CONF DIR: starts `lighttpd -D -f CONF` on a free loopback
# port with its socket and log in DIR; sets BASE. Both configurations read
# their own names for the port, socket and log.
start_server() {
	local conf=$1 dir=$2 port
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % (EPHEMERAL_LO - 20000)))
		# Something answers there already: pick another port.
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		ONCESHOP_PORT=$port ONCESHOP_SOCKET=$dir/fcgi.sock \
			ONCESHOP_PROVIDER_URL=${ONCESHOP_PROVIDER_URL:-http://127.0.0.1:$port/paysim} \
			ONCESHOP_LOG=$dir/error.log BENCH_PORT=$port \
			BENCH_SOCKET=$dir/fcgi.sock BENCH_LOG=$dir/error.log \
			lighttpd -D -f "$conf" 2>>"$dir/error.log" &
		SERVER_PID=$!
		BASE=http://127.0.0.1:$port
		for _ in $(seq 50); do
			if curl -sf -o /dev/null "$BASE/health"; then
				WORKER_PIDS=$(pgrep -P "$SERVER_PID" | tr '\n' ' ')
				return 0
			fi
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		stop_server
	done
	say "lighttpd -f $conf did not start; log:"
	tail -n 20 "$dir/error.log" >&2 || true
	exit 1
}

# psql SQL: runs SQL on the scenario's PostgreSQL database, quietly.
psql_do() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 "$ONCESHOP_DATABASE_URL" -c "$1"
}

# new_db DIR: a fresh demo database in DIR (on PostgreSQL, a database of
# the throwaway server named after DIR), plus a product whose stock never
# runs out, so every new order can succeed.
new_db() {
	local bench_tea="INSERT INTO products (sku, name, price, stock)
		VALUES ('BENCH-TEA', 'Bench tea', 100, 1000000000)"
	export ONCESHOP_DB=$1/onceshop.db
	if [ "$ENGINE" = postgres ]; then
		PG_DB=bench_$(basename "$1" | tr -c 'a-z0-9\n' _)
		createdb -h "$PG_DIR" -U postgres "$PG_DB"
		ONCESHOP_DATABASE_URL="postgresql:///$PG_DB?host=$PG_DIR&user=postgres"
		"$BIN" init --demo >/dev/null
		psql_do "$bench_tea"
	else
		"$BIN" init --demo >/dev/null
		sqlite3 "$ONCESHOP_DB" "$bench_tea"
	fi
}

# drop_db DIR: removes what new_db DIR made, once lighttpd is stopped.
drop_db() {
	if [ "$ENGINE" = postgres ]; then
		# --force: a worker lighttpd stopped may not have hung up yet.
		dropdb -h "$PG_DIR" -U postgres --force "$PG_DB"
		ONCESHOP_DATABASE_URL=
	fi
	rm -rf "$1"
}

# add_keys N EXPIRES: N stored keys of bob's (completed, a 500-byte answer
# each) that expire at EXPIRES, for the sweeping and big-table scenarios.
# On PostgreSQL the table is then vacuumed and analysed and a checkpoint
# written, as a server holding such a table would long since have done:
# otherwise autovacuum and the load's checkpoint would run in the
# measured seconds.
add_keys() {
	if [ "$ENGINE" = postgres ]; then
		psql_do "INSERT INTO idempotency_keys (user_id, operation,
		  idem_key, fingerprint, status, response_status,
		  response_headers, response_body, created_at, expires_at)
		SELECT (SELECT id FROM users WHERE name = 'bob'), 'create-order',
		  'bench-' || substr(md5(random()::text), 1, 16) || i, 'x',
		  'completed', 201, '', convert_to(repeat('x', 500), 'UTF8'),
		  '2020-01-01T00:00:00Z', '$2' FROM generate_series(1, $1) AS i"
		psql_do 'VACUUM ANALYZE idempotency_keys'
		psql_do CHECKPOINT
		return
	fi
	sqlite3 "$ONCESHOP_DB" "WITH RECURSIVE n(i) AS
		(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO idempotency_keys (user_id, operation, idem_key,
		  fingerprint, status, response_status, response_headers,
		  response_body, created_at, expires_at)
		SELECT (SELECT id FROM users WHERE name = 'bob'), 'create-order',
		  'bench-' || hex(randomblob(8)) || i, 'x', 'completed', 201, '',
		  printf('%.500c', 'x'), '2020-01-01T00:00:00Z', '$2' FROM n"
}
# add_products N: BENCH-P1 ... BENCH-PN, whose stock never runs out: orders
# spread over them meet no hot row.
add_products() {
	local sql="INSERT INTO products (sku, name, price, stock)
		SELECT 'BENCH-P' || i, 'Bench product ' || i, 100, 1000000000"
	if [ "$ENGINE" = postgres ]; then
		psql_do "$sql FROM generate_series(1, $1) AS i"
	else
		sqlite3 "$ONCESHOP_DB" "WITH RECURSIVE n(i) AS (SELECT 1
			UNION ALL SELECT i + 1 FROM n WHERE i < $1) $sql FROM n"
	fi
}

expired_keys() { add_keys "$1" 2020-01-02T00:00:00Z; }
live_keys() { add_keys "$1" 2999-01-01T00:00:00Z; }

# A reader can meet a checkpoint in progress: wait for it as onceshop would.
orders() {
	if [ "$ENGINE" = postgres ]; then psql_do 'SELECT count(*) FROM orders'
	else sqlite3 -cmd '.timeout 5000' "$ONCESHOP_DB" 'SELECT count(*) FROM orders'; fi
}

# ---- measuring -----------------------------------------------------------

# warm_up THREADS CONNS PATH [wrk options...]: a short run, not measured,
# so the workers, the database's cache and its WAL are warm. Keys get "-warm" so
# they never collide with the measured run's.
warm_up() {
	local threads=$1 conns=$2 path=$3
	shift 3
	BENCH_KEY_PREFIX=${BENCH_KEY_PREFIX:+$BENCH_KEY_PREFIX-warm} \
		wrk -t"$threads" -c"$conns" -d"$WARM"s -s bench/wrk.lua \
		"$@" "$BASE$path" >/dev/null
	# Requests still in flight when wrk stopped finish now.
	sleep 0.3
}

# field NAME LINE: the value of NAME=value in LINE.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# measure NAME THREADS CONNS PATH [wrk options...]: the measured run;
# wrk.lua reads BENCH_METHOD, BENCH_BODY, BENCH_KEY or BENCH_KEY_PREFIX from
# the environment. Sets RPS, P50, P99, MAX (µs), OK, NON2XX, SOCKERR and
# STATUSES.
measure() {
	local name=$1 threads=$2 conns=$3 path=$4 out line
	shift 4
	out=$TMP/wrk-$name.txt
	# A timeout of the whole run: a slow answer is measured, not dropped
	# from the latencies as one past wrk's default 2 s would be.
	if ! wrk -t"$threads" -c"$conns" -d"$SECS"s --timeout "$SECS"s \
	    --latency -s bench/wrk.lua "$@" "$BASE$path" >"$out" 2>&1 ||
	    ! line=$(grep '^BENCH ' "$out"); then
		say "$name: no result from wrk:"
		cat "$out" >&2
		exit 1
	fi
	RPS=$(field rps "$line") P50=$(field p50 "$line")
	P99=$(field p99 "$line") MAX=$(field max "$line")
	OK=$(field ok "$line") NON2XX=$(field non2xx "$line")
	SOCKERR=$(field sockerr "$line") STATUSES=$(field statuses "$line")
	say "$(printf '%-12s %8.0f req/s' "$name" "$RPS")"
}

# record NAME CONNS CHECK [CEILING]: one row of the table, from the last
# measure. CEILING, on PostgreSQL: which pgbench figure the row is a ratio
# of, "hot" (one product) or "spread" (1,000 products); a pgbench row
# itself says "ceiling-hot" or "ceiling-spread".
record() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" \
		"$RPS" "$P50" "$P99" "$MAX" "$NON2XX" "$SOCKERR" "$3" \
		"$STATUSES" "${4:--}" >>"$RESULTS"
}

# scenario_hello [NAME LABEL]: the ceiling, bench/hello behind
# bench/hello.conf, as the first row (every ratio's denominator); measured
# again at the end under another NAME and LABEL, its ratio to the first
# says how far the machine drifted meanwhile.
scenario_hello() {
	local name=${1:-hello} dir=$TMP/${1:-hello}
	mkdir "$dir"
	start_server bench/hello.conf "$dir"
	warm_up 2 32 /hello
	measure "$name" 2 32 /hello
	stop_server
	record "${2:-hello (ceiling)}" 32 "-"
	rm -rf "$dir"
}

# sync_note SYNC: what ONCESHOP_SYNC=SYNC means, for a row's label, where
# the name alone would mislead: on PostgreSQL, normal is
# synchronous_commit=off (full is on, PostgreSQL's default).
sync_note() {
	if [ "$ENGINE" = postgres ] && [ "$1" = normal ]; then
		echo " (synchronous_commit=off)"
	fi
}

# scenario_orders NAME SYNC THREADS CONNS [LABEL SETUP...]: every request
# a new order under a new key; then the 2xx count against the rows the run
# added. SETUP (a command) prepares the database first.
scenario_orders() {
	local name=$1 sync=$2 threads=$3 conns=$4 dir=$TMP/$1 before rows check
	local label=${5:-"new orders, $sync$(sync_note "$sync")"}
	shift 4; shift $(( $# > 0 ? 1 : 0 ))
	mkdir "$dir"
	new_db "$dir"
	"${@:-true}"
	export ONCESHOP_SYNC=$sync
	start_server lighttpd.conf "$dir"
	export BENCH_METHOD=POST BENCH_BODY=$ORDER BENCH_KEY_PREFIX=$name
	warm_up "$threads" "$conns" /orders -H "$AUTH" -H "$JSON"
	before=$(orders)
	measure "$name" "$threads" "$conns" /orders -H "$AUTH" -H "$JSON"
	stop_server
	unset BENCH_METHOD BENCH_BODY BENCH_KEY_PREFIX
	rows=$(( $(orders) - before ))
	check="2xx $OK, rows +$rows"
	# A 2xx without its row is a lost order. Rows beyond the 2xx are
	# requests cut off when wrk stopped, at most one per connection at the
	# end of the warm-up and of the run; more were never answered at all.
	if [ "$rows" -lt "$OK" ] || [ "$rows" -gt $((OK + 2 * conns)) ]; then
		check="$check MISMATCH"
		FAILED=1
	fi
	record "$label" "$conns" "$check" "$([ -n "${BENCH_SKUS:-}" ] && echo spread || echo hot)"
	drop_db "$dir"
}

# scenario_pgbench SKUS LABEL KIND: the engine's own ceiling, PostgreSQL
# only: bench/order.pgbench (onceshop's new-order statements, no HTTP) on
# a fresh database, 32 connections, prepared statements, each order of
# BENCH-TEA (SKUS 1) or of one of SKUS products at random.
scenario_pgbench() {
	local dir=$TMP/pgbench-$1 out
	mkdir "$dir"
	new_db "$dir"
	[ "$1" -gt 1 ] && add_products "$1"
	out=$dir/pgbench.txt
	if ! pgbench -n -M prepared -c 32 -j 2 -T "$SECS" -D "skus=$1" \
	    -f bench/order.pgbench "$ONCESHOP_DATABASE_URL" >"$out" 2>&1; then
		say "pgbench failed:"
		cat "$out" >&2
		exit 1
	fi
	RPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | head -n 1)
	P50= P99= MAX= NON2XX=0 SOCKERR=0 STATUSES=
	say "$(printf '%-12s %8.0f tx/s' "pgbench-$1" "$RPS")"
	record "$2" 32 "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/failed tx \1/p' "$out")" "$3"
	drop_db "$dir"
}

# measure_two_hosts NAME FIRST_BASE FILE: POST /orders on both hosts at
# once, 16 connections each: wrk on the first (its result in FILE), measure
# on the second ($BASE), whose keys (BENCH_KEY_PREFIX, if set) get "-b";
# then both in one row (add_host).
measure_two_hosts() {
	local pid
	wrk -t1 -c16 -d"$SECS"s --timeout "$SECS"s --latency -s bench/wrk.lua \
	    -H "$AUTH" -H "$JSON" "$2/orders" >"$3" 2>&1 &
	pid=$!
	BENCH_KEY_PREFIX=${BENCH_KEY_PREFIX:+$BENCH_KEY_PREFIX-b} \
	    measure "$1" 1 16 /orders -H "$AUTH" -H "$JSON"
	wait "$pid"
	add_host "$3"
}

# record_replays LABEL BEFORE: the row of a replays scenario; replays may
# add no row to the BEFORE orders.
record_replays() {
	local rows=$(( $(orders) - $2 )) check
	check="2xx $OK, rows +$rows"
	if [ "$rows" -ne 0 ]; then
		check="$check MISMATCH"
		FAILED=1
	fi
	record "$1" 32 "$check"
}

# add_host FILE: adds the wrk result in FILE (the first host's) to the one
# measure just took (the second's): req/s and 2xx added, the worse
# latencies.
add_host() {
	local line
	line=$(grep '^BENCH ' "$1") || { say "two hosts: no result from wrk"; exit 1; }
	RPS=$(awk -v a="$(field rps "$line")" -v b="$RPS" 'BEGIN { print a + b }')
	OK=$((OK + $(field ok "$line")))
	NON2XX=$((NON2XX + $(field non2xx "$line")))
	SOCKERR=$((SOCKERR + $(field sockerr "$line")))
	# Both hosts' answers by status, so that the report says what a
	# non-2xx of either host was.
	STATUSES=$({ echo "$STATUSES"; field statuses "$line"; } | tr ',' '\n' |
		awk -F: 'NF == 2 { n[$1] += $2 } END { for (s in n) print s ":" n[s] }' |
		sort -n | paste -sd, -)
	P50=$(( $(field p50 "$line") > P50 ? $(field p50 "$line") : P50 ))
	P99=$(( $(field p99 "$line") > P99 ? $(field p99 "$line") : P99 ))
	MAX=$(( $(field max "$line") > MAX ? $(field max "$line") : MAX ))
}

# scenario_two_hosts: PostgreSQL only, as `make cluster` runs it: two
# lighttpd and onceshop processes on one database, wrk on both ports at
# once (16 connections each), orders spread over 1,000 products; the row
# sums both hosts' answers.
scenario_two_hosts() {
	local dir=$TMP/two-hosts first before rows
	mkdir "$dir" "$dir/b"
	new_db "$dir"
	add_products 1000
	export ONCESHOP_SYNC=full BENCH_SKUS=1000
	start_server lighttpd.conf "$dir"
	first=$SERVER_PID
	local first_workers=$WORKER_PIDS first_base=$BASE
	start_server lighttpd.conf "$dir/b"
	export BENCH_METHOD=POST BENCH_BODY=$ORDER BENCH_KEY_PREFIX=two
	before=$(orders)
	measure_two_hosts two-hosts "$first_base" "$dir/a.txt"
	stop_server
	SERVER_PID=$first WORKER_PIDS=$first_workers
	stop_server
	unset BENCH_METHOD BENCH_BODY BENCH_KEY_PREFIX BENCH_SKUS
	rows=$(( $(orders) - before ))
	record "new orders, two hosts, 1,000 products" 32 "2xx $OK, rows +$rows" spread
	drop_db "$dir"
}

# scenario_two_hosts_replays off|memory|redis: PostgreSQL only, as `make
# cluster` runs it: one order, then its replays on both hosts at once (16
# connections each), with the replay cache off, in each host's memory, or
# in Redis (ONCESHOP_REPLAY_CACHE; a Redis of the run's own,
# tests/redis.sh). No request may add a row.
scenario_two_hosts_replays() {
	local dir=$TMP/two-replays-$1 first before status
	mkdir -p "$dir/b"
	new_db "$dir"
	export ONCESHOP_SYNC=full ONCESHOP_REPLAY_CACHE=$1
	if [ "$1" = redis ]; then
		ONCESHOP_REDIS=$(tests/redis.sh start "$dir/redis") ||
			{ say "replays: Redis did not start"; exit 1; }
		export ONCESHOP_REDIS
	fi
	start_server lighttpd.conf "$dir"
	first=$SERVER_PID
	local first_workers=$WORKER_PIDS first_base=$BASE
	start_server lighttpd.conf "$dir/b"
	status=$(curl -s -o /dev/null -w '%{http_code}' "$first_base/orders" \
		-H "$AUTH" -H "$JSON" -H 'Idempotency-Key: bench-replay-2' \
		-d "$ORDER")
	[ "$status" = 201 ] || { say "replays: the first order got $status"; exit 1; }
	export BENCH_METHOD=POST BENCH_BODY=$ORDER BENCH_KEY=bench-replay-2
	warm_up 1 16 /orders -H "$AUTH" -H "$JSON"
	before=$(orders)
	measure_two_hosts "replays-2h-$1" "$first_base" "$dir/a.txt"
	stop_server
	SERVER_PID=$first WORKER_PIDS=$first_workers
	stop_server
	[ "$1" = redis ] && tests/redis.sh stop "$dir/redis"
	unset BENCH_METHOD BENCH_BODY BENCH_KEY ONCESHOP_REPLAY_CACHE ONCESHOP_REDIS
	record_replays "replays, two hosts, replay cache $1" "$before"
	drop_db "$dir"
}

# scenario_replays NAME LABEL: one order made by curl, then the identical
# request again and again; no request may add a row. The replay cache as
# ONCESHOP_REPLAY_CACHE says (memory by default), or the keys in a
# lesson's store (ONCESHOP_LESSON, set by scenario_store). With
# BENCH_TOKENS, one order for each of those users (the same key, which is
# each user's own), and the requests take turns between them.
scenario_replays() {
	local dir=$TMP/$1 status before token
	mkdir "$dir"
	new_db "$dir"
	export ONCESHOP_SYNC=full
	start_server lighttpd.conf "$dir"
	for token in ${BENCH_TOKENS:-alice-token}; do
		status=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/orders" \
			-H "Authorization: Bearer $token" -H "$JSON" \
			-H 'Idempotency-Key: bench-replay' -d "$ORDER")
		[ "$status" = 201 ] ||
			{ say "replays: the first order got $status"; exit 1; }
	done
	export BENCH_METHOD=POST BENCH_BODY=$ORDER BENCH_KEY=bench-replay
	warm_up 2 32 /orders -H "$AUTH" -H "$JSON"
	before=$(orders)
	measure "$1" 2 32 /orders -H "$AUTH" -H "$JSON"
	stop_server
	unset BENCH_METHOD BENCH_BODY BENCH_KEY
	record_replays "$2" "$before"
	drop_db "$dir"
}

# scenario_store LESSON: new orders, then replays, with the keys in a
# lesson's store (ONCESHOP_LESSON; redis-store with a Redis of the run's
# own): the speed column of README's table of stores.
scenario_store() {
	local redis_dir=$TMP/redis-$1
	export ONCESHOP_LESSON=$1
	if [ "$1" = redis-store ]; then
		ONCESHOP_REDIS=$(tests/redis.sh start "$redis_dir") ||
			{ say "Redis did not start"; exit 1; }
		export ONCESHOP_REDIS
	fi
	scenario_orders "store-$1" full 2 32 "new orders, full, keys: $1"
	scenario_replays "replays-$1" "replays, keys: $1"
	[ "$1" = redis-store ] && tests/redis.sh stop "$redis_dir"
	unset ONCESHOP_LESSON ONCESHOP_REDIS
}

scenario_products() {
	local dir=$TMP/products
	mkdir "$dir"
	new_db "$dir"
	export ONCESHOP_SYNC=full
	start_server lighttpd.conf "$dir"
	warm_up 2 32 /products
	measure products 2 32 /products
	stop_server
	record "GET /products" 32 "-"
	drop_db "$dir"
}

# pay_until_paid I ORDER: client I pays ORDER with tok_slow under its own
# key, again after each answer's Retry-After, until a 201 (or until
# $TMP/slow-stop appears).
pay_until_paid() {
	local status hdr=$TMP/slow-pay-$1.hdr
	while [ ! -e "$TMP/slow-stop" ]; do
		status=$(curl -s -o /dev/null -D "$hdr" -w '%{http_code}' \
			--max-time 30 "$BASE/payments/confirm" -H "$AUTH" -H "$JSON" \
			-H "Idempotency-Key: slow-pay-$1" \
			-d "{\"order_id\":$2,\"amount\":100,\"currency\":\"JPY\",\"card\":\"tok_slow\"}")
		[ "$status" = 201 ] && return
		sleep "$(tr -d '\r' <"$hdr" | sed -n 's/^Retry-After: //Ip' | grep . || echo 1)"
	done
}

# row NAME: reads request times (s), one a line; appends a row of the
# second table: the payments in flight, NAME, p50, p99 and max in ms.
row() {
	sort -n | awk -v name="$1" -v payments="$PAYMENTS" '
		{ t[NR] = $1 * 1000 }
		END { printf "%s\t%s\t%.1f\t%.1f\t%.1f\n", payments, name,
		    t[int(NR * 0.5)], t[int(NR * 0.99)], t[NR] }' >>"$SLOW_RESULTS"
}

# request_times N URL [curl options...]: N requests one after the other; prints
# each one's time.
request_times() {
	local n=$1
	shift
	for i in $(seq "$n"); do
		curl -s -o /dev/null -w '%{time_total}\n' "${@//@I@/$i}"
	done
}

# scenario_beside_slow N: N clients pay as pay_until_paid does while the
# provider takes 4 s a charge (PAYSIM_SLOW_MS=4000); meanwhile one client
# asks for everything else, one request at a time: the bulkhead's target
# is p99 ≤ 50 ms and max ≤ 300 ms, however many payments wait.
scenario_beside_slow() {
	local dir=$TMP/slow i pids=() id
	PAYMENTS=$1
	mkdir "$dir"
	new_db "$dir"
	export ONCESHOP_SYNC=full PAYSIM_SLOW_MS=4000
	"$PAYSIM" init >/dev/null
	start_server lighttpd.conf "$dir"
	for i in $(seq "$PAYMENTS"); do
		id=$(curl -s "$BASE/orders" -H "$AUTH" -H "$JSON" \
			-H "Idempotency-Key: slow-order-$i" -d "$ORDER" | jq -r .id)
		pay_until_paid "$i" "$id" & pids+=($!)
	done
	sleep 2		# the first answers are in: 503s, and slots taken
	request_times 100 "$BASE/health" | row "GET /health"
	request_times 100 "$BASE/products" | row "GET /products"
	request_times 100 "$BASE/orders" -H "$AUTH" -H "$JSON" \
		-H 'Idempotency-Key: slow-order-1' -d "$ORDER" | row replays
	request_times 100 "$BASE/orders" -H "$AUTH" -H "$JSON" \
		-H 'Idempotency-Key: slow-new-@I@' -d "$ORDER" | row "new orders"
	say "$(printf 'beside %-4s slow payments: sampled' "$PAYMENTS")"
	# The clients still paying stop after their current try.
	touch "$TMP/slow-stop"
	wait "${pids[@]}"
	rm -f "$TMP"/slow-pay-*.hdr "$TMP/slow-stop"
	stop_server
	unset PAYSIM_SLOW_MS
	export PAYSIM_SLOW_MS=
	drop_db "$dir"
}

# ---- the run -------------------------------------------------------------

tools="wrk lighttpd sqlite3 curl jq"
if [ "$ENGINE" = postgres ]; then tools="$tools psql createdb dropdb pgbench"; fi
for cmd in $tools; do
	command -v "$cmd" >/dev/null || { say "$cmd is missing: make deps"; exit 1; }
done
: >"$RESULTS"
SLOW_RESULTS=$TMP/slow-results
: >"$SLOW_RESULTS"
if [ "$ENGINE" = postgres ]; then
	# One server for the whole run, each scenario a database of its own
	# on it; tests/pg.sh's settings (sockets only), fsync on.
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/onceshop-bench-pg.XXXXXX")
	tests/pg.sh start "$PG_DIR" >/dev/null || { say "PostgreSQL did not start"; exit 1; }
	say "PostgreSQL in $PG_DIR"
fi
say "on $ENGINE, $SECS s per scenario after a $WARM s warm-up"
scenario_hello
if [ "$ENGINE" = postgres ]; then
	scenario_pgbench 1 "pgbench: the order transaction, one product" ceiling-hot
	scenario_pgbench 1000 "pgbench: the order transaction, 1,000 products" ceiling-spread
fi
scenario_orders full-c32 full 2 32
if [ "$ENGINE" = postgres ]; then
	export BENCH_SKUS=1000
	scenario_orders full-spread full 2 32 "new orders, full, 1,000 products" \
		add_products 1000
	unset BENCH_SKUS
	scenario_two_hosts
	scenario_two_hosts_replays off
	scenario_two_hosts_replays memory
	scenario_two_hosts_replays redis
fi
scenario_orders normal-c32 normal 2 32
scenario_replays replays "replays (replay cache in memory)"
export ONCESHOP_REPLAY_CACHE=off
scenario_replays replays-off "replays, replay cache off: each read from the database"
unset ONCESHOP_REPLAY_CACHE
export BENCH_TOKENS="alice-token bob-token"
scenario_replays replays-2u "replays, two users taking turns"
unset BENCH_TOKENS
scenario_products
scenario_orders full-c1 full 1 1
scenario_orders full-c128 full 2 128
# DESIGN's targets for the key store: the writer sweeps expired keys between
# groups without stalling a write (watch max ms), and a big table of stored
# keys costs little (compare req/s with the first new-orders row).
scenario_orders full-sweep full 2 32 "new orders, full, sweeping 300k expired keys" \
	expired_keys 300000
scenario_orders full-1m full 2 32 "new orders, full, 1M stored keys" \
	live_keys 1000000
for lesson in memory-store select-then-insert redis-store; do
	scenario_store "$lesson"
done
scenario_hello hello-end "hello again, at the end: the machine's drift"
scenario_beside_slow 60
scenario_beside_slow 200

# The report: what ran where, then the table.
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
if [ "$ENGINE" = postgres ]; then
	ONCESHOP_DATABASE_URL="postgresql:///postgres?host=$PG_DIR&user=postgres"
	engine="PostgreSQL $(psql_do 'SHOW server_version' | cut -d' ' -f1)"
	engine="$engine (fsync $(psql_do 'SHOW fsync'))"
	name=PostgreSQL
else
	engine="SQLite $(sqlite3 --version | cut -d' ' -f1)"
	name=SQLite
fi
echo "onceshop bench on $name, $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
	"$(git describe --always --dirty 2>/dev/null || echo unknown)"
# Whether Linux schedules each session as one group: it moves the
# PostgreSQL rows (bench/README.md).
case $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) in
1) groups=", autogroups on" ;;
0) groups=", autogroups off" ;;
*) groups= ;;
esac
echo "machine: $(nproc) cores, ${model:-unknown CPU}, Linux $(uname -r)$groups"
echo "$(lighttpd -v | sed -n 's/^lighttpd\/\([^ ]*\).*/lighttpd \1/p')," \
	"$engine," \
	"wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \(debian\/\)\{0,1\}\([0-9.]*\).*/\2/p');" \
	"wrk -t2 -c32 -d${SECS}s (-t1 at 1 connection) after a ${WARM} s warm-up"
echo
awk -F'\t' -v pg="$([ "$ENGINE" = postgres ] && echo 1 || echo 0)" '
	NR == 1 { hello = $3 }
	$11 == "ceiling-hot" { hot = $3 }
	$11 == "ceiling-spread" { spread = $3 }
	{
		row[NR, 1] = $1; row[NR, 2] = $2
		row[NR, 3] = sprintf("%.0f", $3)
		row[NR, 4] = $4 == "" ? "-" : sprintf("%.2f", $4 / 1000)
		row[NR, 5] = $5 == "" ? "-" : sprintf("%.2f", $5 / 1000)
		row[NR, 6] = $6 == "" ? "-" : sprintf("%.1f", $6 / 1000)
		row[NR, 7] = $7; row[NR, 8] = $8
		row[NR, 9] = sprintf("%.2f x", hello > 0 ? $3 / hello : 0)
		ceil = $11 ~ /hot$/ ? hot : $11 ~ /spread$/ ? spread : 0
		row[NR, 10] = ceil > 0 ? sprintf("%.2f x", $3 / ceil) : "-"
		row[NR, 11] = $9
		if ($7 > 0) other = other sprintf("\n%s: statuses %s", $1, $10)
	}
	END {
		n = split("scenario|conns|req/s|p50 ms|p99 ms|max ms|non-2xx|sock err|vs hello|vs pgbench|check", head, "|")
		for (c = 1; c <= n; c++) {
			row[0, c] = head[c]
			for (r = 0; r <= NR; r++)
				if (length(row[r, c]) > w[c]) w[c] = length(row[r, c])
		}
		for (r = 0; r <= NR; r++) {
			line = "|"
			for (c = 1; c <= n; c++) {
				if (c == 10 && !pg)
					continue	# no second ceiling
				# Text left, numbers right.
				fmt = (c == 1 || c == n) ? " %-*s |" : " %*s |"
				line = line sprintf(fmt, w[c], row[r, c])
			}
			print line
			if (r == 0) {
				line = "|"
				for (c = 1; c <= n; c++) {
					if (c == 10 && !pg)
						continue
					dash = sprintf("%*s", w[c], ""); gsub(/ /, "-", dash)
					line = line " " dash (c == 1 || c == n ? " |" : ":|")
				}
				print line
			}
		}
		if (other != "") print "\nnon-2xx answers, by status:" other
	}' "$RESULTS"
echo
echo "Beside slow payments (PAYSIM_SLOW_MS=4000, each client retrying after its"
echo "Retry-After until paid), one request at a time (target: p99 <= 50 ms, max <= 300 ms):"
echo
awk -F'\t' 'BEGIN { print "| payments | request | p50 ms | p99 ms | max ms |";
		print "| ---: | --- | ---: | ---: | ---: |" }
	{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$SLOW_RESULTS"
if [ "$FAILED" -ne 0 ]; then
	echo
	echo "MISMATCH: rows added and 2xx answers disagree (see check)"
	exit 1
fi
