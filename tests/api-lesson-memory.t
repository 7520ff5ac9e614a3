#!/usr/bin/env bash
# The lesson ONCESHOP_LESSON=memory-store (README, "Where the keys live"):
# the keys in the server's memory. It says so on every answer, and it fails
# as the course says: a restart forgets a key, so the retry after it makes
# a second order; with two hosts sharing one database (PostgreSQL), a copy
# sent to each makes two orders. The database store, the default, does
# neither.
. "$(dirname "$0")/lib.sh"

ONCESHOP_LESSON=memory-stor "$BIN" init 2>"$TMP/err"
is "$? $(cat "$TMP/err")" "1 onceshop: ONCESHOP_LESSON must be empty or one of: memory-store select-then-insert redis-store" \
	"a lesson is on only by its exact name"

export ONCESHOP_LESSON=memory-store
start_server
order='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
orders() { sql 'SELECT count(*) FROM orders'; }

req GET /health
is "$STATUS $(header Onceshop-Lesson) $(json .lesson)" "200 memory-store memory-store" \
	"the lesson is on: every answer says so (Onceshop-Lesson), and GET /health"
like "$(grep -c 'LESSON memory-store is on' "$TMP/error.log")" '^[1-9]' "... and the log warned when it started"

req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: mem-1" -d "$order"
is "$STATUS $(header Onceshop-Lesson)" "201 memory-store" "an order, its key in memory"
first=$(json .id)
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: mem-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(json .id)" "201 true $first" \
	"... while the server runs, a retry is replayed"
req GET /idempotency-keys -H "$ALICE"
is "$(json '.idempotency_keys | length')" 0 "... and the database holds no key"

# Within one process the table is shared by every thread, under one lock:
# twenty copies at once still make one order.
n=$(orders)
burst 20 /orders mem-burst "$order"
like "$(cat "$TMP"/burst/*.status | sort -u | tr '\n' ' ')" '^201 (409 )?$' \
	"20 copies at once, one server: 201, or 409 while the first is being written"
burst_retry
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{print $1, $2}') $(($(orders) - n))" "20 201 1" \
	"... and after retrying, all 201 with one order: memory fails across restarts and hosts, not threads"

n=$(orders)
stop_server
start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: mem-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed)" "201 " "after a restart, the same retry is not replayed"
is "$(($(orders) - n)) $([ "$(json .id)" != "$first" ] && echo another)" "1 another" \
	"... it made a second order: the restart forgot the key"

if [ "$ENGINE" = postgres ]; then
	start_second_host
	n=$(orders)
	curl -s -o /dev/null -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" -H "Idempotency-Key: mem-2" -d "$order"
	curl -s -o /dev/null -X POST "$B/orders" -H "$ALICE" -H "$JSON" -H "Idempotency-Key: mem-2" -d "$order"
	is "$(($(orders) - n))" 2 "two hosts sharing a database: a copy to each made two orders (each host has its own memory)"
	stop_second_host
else
	skip "two hosts sharing a database: a copy to each made two orders" "hosts share a database on PostgreSQL"
fi

# The default, for contrast: the key is a row, in the order's transaction.
stop_server
unset ONCESHOP_LESSON
start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: db-1" -d "$order"
is "$STATUS $(header Onceshop-Lesson)" "201 " "without the lesson: no Onceshop-Lesson"
n=$(orders)
stop_server
start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: db-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(orders)" "201 true $n" \
	"... and a restart forgets nothing: the retry is replayed, no second order"
integrity_ok
done_testing
