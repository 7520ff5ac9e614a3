#!/usr/bin/env bash
# PostgreSQL goes away and comes back; onceshop follows it by itself. A
# terminated backend is not even seen by clients (the next BEGIN connects
# again); while the server is stopped every request is a quick 503 with
# Retry-After; within 2 s of its return every request thread, on both
# hosts, serves again, and a key refused while it was away is used once.
# (SQLite is a file in the process: skipped there.)
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP needs a PostgreSQL server to stop"; exit 0; }
pg() { "$ROOT/tests/pg.sh" "$1" "$ONCESHOP_TEST_PG" >/dev/null; }
# Whatever happens below, the server is left running for the next test.
trap 'pg start 2>/dev/null; stop_second_host; stop_server;
	dropdb -h "$ONCESHOP_TEST_PG" -U postgres --if-exists "$PGDB" 2>/dev/null; rm -rf "$TMP"' EXIT
export ONCESHOP_THREADS=8 ONCESHOP_COMPLETER_MS=500
start_server
start_second_host
A=$BASE

# order BASE KEY [SKU]: prints the status of a new order of one SKU
# (BISCUIT-SEMBEI). Its writer (of two) is chosen by the sku: MUG-KYOTO's
# is not BISCUIT-SEMBEI's, which sweeps the keys every second.
order() {
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 20 -X POST "$1/orders" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: $2" \
		-d "{\"items\":[{\"sku\":\"${3:-BISCUIT-SEMBEI}\",\"quantity\":1}]}"
}
# many BASE PATH N: N GETs at once (so that every request thread takes
# some), their statuses counted.
many() {
	seq "$3" | xargs -P "$3" -I{} curl -s -o /dev/null -w '%{http_code}\n' \
		--max-time 20 "$1$2" | sort | uniq -c | awk '{print $1, $2}' | paste -sd' '
}
orders() { sql "SELECT count(*) FROM orders"; }

is "$(order "$A" before-1) $(order "$B" before-2)" "201 201" "both hosts take orders"

# ---- a terminated backend ----------------------------------------------
killed=$(sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid()")
like "$killed" '^[1-9]' "pg_terminate_backend ends onceshop's connections ($killed)"
is "$(for h in "$A" "$B"; do order "$h" term-mug-${h##*:} MUG-KYOTO; order "$h" term-sembei-${h##*:}; done | paste -sd' ')" \
	"201 201 201 201" "... and at once, an order for each writer of each host is 201: each writer connects again at its BEGIN"
is "$(many "$A" /products 32) / $(many "$B" /products 32)" "32 200 / 32 200" \
	"... and the next 32 GETs on each host are 200: each thread connects again at its BEGIN"
is "$(for i in $(seq 8); do order "$A" term-a-$i; order "$B" term-b-$i; done | sort | uniq -c | awk '{print $1, $2}')" \
	"16 201" "... and 16 new orders are 201"

# ---- a connection lost in the middle of a transaction ---------------------
# An order waits for a lock that psql holds; its backend is terminated
# meanwhile: the transaction is gone, and the answer says so, not a 500.
# A MUG-KYOTO order, so that its writer is not the one that sweeps the
# keys: a sweep waiting for the lock would hold the order back in
# onceshop, out of the server's reach.
hold_write_lock 4 || fail "psql could not take the lock"
( curl -s -o "$TMP/mid.body" -D "$TMP/mid.hdr" -w '%{http_code}' -X POST "$A/orders" \
	-H "$ALICE" -H "$JSON" -H 'Idempotency-Key: mid-tx' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}' > "$TMP/mid.status" ) &
mid=$!
# Until the order's claim waits for the lock (under ASan, on a busy
# machine, half a second was sometimes not enough).
for _ in $(seq 100); do
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO idempotency_keys%'")" -ge 1 ] && break
	sleep 0.05
done
sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database()
	AND pid <> pg_backend_pid() AND application_name <> 'psql'" >/dev/null
wait "$mid"
is "$(cat "$TMP/mid.status") $(jq -r .type "$TMP/mid.body")" "503 /problems/service-busy" \
	"a connection lost while its order waited for a lock: 503 service-busy"
like "$(jq -r .detail "$TMP/mid.body")" 'lost; nothing was written' "... saying nothing was written"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'mid-tx'")" 0 "... and indeed: no key, no order"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
is "$(order "$A" mid-tx MUG-KYOTO)" 201 "... and the same key, sent again, makes the order"

# ---- the server stopped ---------------------------------------------------
# A payment whose answer the provider loses (tok_lost, after the shop's
# 1 s): 504, its key left processing for the completer, which is not due
# for a second or two yet when PostgreSQL stops.
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: lost-order' \
	-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
lost_order=$(json .id)
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: lost-pay' \
	-d "{\"order_id\":$lost_order,\"amount\":600,\"currency\":\"JPY\",\"card\":\"tok_lost\"}"
is "$STATUS $(sql "SELECT status FROM orders WHERE id = $lost_order")" "504 pending" \
	"a tok_lost payment: 504, the order still pending, left to the completer"
n0=$(orders)
pg stop
t0=$(date +%s%N)
req GET /health
problem 503 service-busy "PostgreSQL stopped: GET /health is a 503 problem"
like "$(header Retry-After)" '^[1-9][0-9]*$' "... with Retry-After"
req GET /products
problem 503 service-busy "... GET /products too"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: while-down' \
	-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
problem 503 service-busy "... a new order too"
like "$(header Retry-After) $(json .detail)" '^[1-9][0-9]* .*(Nothing|nothing) was written' \
	"... with Retry-After, and it says nothing was written"
is "$(many "$A" /products 32) / $(many "$B" /health 32)" "32 503 / 32 503" \
	"... 32 GETs at once on each host: every one a 503"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok=$([ "$ms" -lt 4000 ] && echo fast || echo "slow: $ms ms")
is "$ok" fast "... and all of that within 4 s (${ms} ms; the busy timeout is 5 s)"
is "$(bash -c '"$1" sweep' _ "$BIN" >/dev/null 2>"$TMP/sweep.err"; echo $?)" 1 \
	"onceshop sweep while it is stopped: exit status 1"
like "$(cat "$TMP/sweep.err")" 'postgres' "... saying why"

# ---- back -------------------------------------------------------------------
pg start
t0=$(date +%s%N)
for _ in $(seq 40); do
	[ "$(many "$A" /products 16) $(many "$B" /products 16)" = "16 200 16 200" ] && break
	sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok=$([ "$ms" -lt 2000 ] && echo "within 2 s" || echo "after $ms ms")
is "$ok" "within 2 s" "PostgreSQL back: both hosts serve again within 2 s (${ms} ms)"
is "$(many "$A" /products 32) / $(many "$B" /health 32)" "32 200 / 32 200" \
	"... every request thread: 32 GETs at once on each host are 200"
is "$(for i in $(seq 8); do order "$A" back-a-$i; order "$B" back-b-$i; done | sort | uniq -c | awk '{print $1, $2}')" \
	"16 201" "... 16 new orders are 201"
is "$(order "$A" while-down) $(order "$B" while-down)" "201 201" \
	"the key refused while it was stopped is used now (and replayed on the other host)"
is "$(orders)" "$((n0 + 17))" "... the orders made since the stop: 17, none lost, none doubled"
is "$(sql "SELECT count(*) FROM orders WHERE id IN (SELECT (regexp_match(response_headers,
	'/orders/([0-9]+)'))[1]::bigint FROM idempotency_keys WHERE idem_key = 'while-down')")" 1 \
	"... one order for that key"
is "$(bash -c '"$1" sweep' _ "$BIN" 2>&1 >/dev/null; echo $?)" 0 "onceshop sweep works again"
for _ in $(seq 50); do
	[ "$(sql "SELECT status FROM orders WHERE id = $lost_order")" = paid ] && break
	sleep 0.2
done
is "$(sql "SELECT status FROM orders WHERE id = $lost_order") $(sql "SELECT status FROM idempotency_keys WHERE idem_key = 'lost-pay'")" \
	"paid completed" "the completer finished the tok_lost payment once PostgreSQL was back, with no client"
lost=$(grep -c 'connection to the server was lost\|cannot connect' "$TMP/error.log")
ok=$([ "$lost" -le 20 ] && echo few || echo "$lost")
is "$ok" few "the log says so in a few lines, not one per request ($lost)"
done_testing
