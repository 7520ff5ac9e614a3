#!/usr/bin/env bash
# More clients than the shop takes: 1,500 and 4,000 connections at once
# (wrk, on loopback, a few seconds each). No request is a 500 or a broken
# connection: lighttpd holds 1,000 connections and lets the rest wait
# unaccepted (lighttpd.conf), and its FastCGI queues are deeper than
# that. Every order answered 201 is one order with one key.
. "$(dirname "$0")/lib.sh"
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 9000 ]; then
	echo "1..0 # SKIP 4,000 connections need more open files than ulimit -n allows ($(ulimit -n))"
	exit 0
fi
start_server

# load CONNS SECONDS METHOD PATH [BODY]: prints wrk's BENCH line
# (bench/wrk.lua), a new key for every POST.
load() {
	BENCH_METHOD=$3 BENCH_BODY=${5:-} BENCH_KEY_PREFIX=${5:+load-$1} \
		wrk -t2 -c"$1" -d"$2"s --timeout 20s -s "$ROOT/bench/wrk.lua" \
		-H "$ALICE" -H "$JSON" "$BASE$4" 2>&1 | grep '^BENCH'
}
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# settle: waits (30 s at most) until the requests wrk left queued when it
# stopped are done: the count of orders stays the same for a second.
settle() {
	local before now _
	before=$(sql "SELECT count(*) FROM orders")
	for _ in $(seq 30); do
		sleep 1
		now=$(sql "SELECT count(*) FROM orders")
		[ "$now" = "$before" ] && return
		before=$now
	done
}

for c in 1500 4000; do
	line=$(load "$c" 3 POST /orders '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}')
	echo "# $c connections, new orders: $line"
	like "$(field ok "$line") $(field non2xx "$line") $(field sockerr "$line")" '^[1-9][0-9]* 0 0$' \
		"$c connections at once, new orders: every answer a 201, no broken connection"
	settle
	line=$(load "$c" 2 GET /products)
	echo "# $c connections, GET /products: $line"
	like "$(field ok "$line") $(field non2xx "$line") $(field sockerr "$line")" '^[1-9][0-9]* 0 0$' \
		"$c connections at once, GET /products: every answer a 200, no broken connection"
done
settle
# One statement, one snapshot: orders, keys, and keys that answered 201.
is "$(sql "SELECT (SELECT count(*) FROM orders) || ' ' || (SELECT count(*) FROM idempotency_keys
	WHERE operation = 'create-order') || ' ' || (SELECT count(*) FROM idempotency_keys
	WHERE operation = 'create-order' AND response_status = 201)" | awk '{ print ($1 == $2 && $2 == $3) ? "same" : $0 }')" \
	same "every order has one key, and every key answered 201 one order"
is "$(grep -c 'dropped after accept\|status=500' "$TMP/error.log")" 0 "the log has no dropped FastCGI request and no 500"
integrity_ok
done_testing
