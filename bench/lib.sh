# lib.sh — what bench/run.sh's scenarios are made of: the run's settings,
# lighttpd started and stopped on a free port, a fresh database per
# scenario (SQLite, or a database of the run's throwaway PostgreSQL), wrk's
# measured run and the row it adds to the table. Sourced by run.sh, which
# has set ROOT and cd'd there.

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
