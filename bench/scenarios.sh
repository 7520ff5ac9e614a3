# scenarios.sh — bench/run.sh's scenarios, one function each: each takes a
# fresh database, starts lighttpd, warms up, measures and adds its row
# (bench/lib.sh). bench/README.md says what each sends.

# scenario_hello [NAME LABEL]: the ceiling, bench/hello behind
# bench/hello.conf, as the first row (every ratio's denominator); measured
# again at the end under another NAME and LABEL, its ratio to the first
# says how far the machine drifted meanwhile.
scenario_hello() {
	local name=${1:-hello} dir
	dir=$TMP/$name
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
