#!/usr/bin/env bash
# The lesson ONCESHOP_LESSON=redis-store (README, "Where the keys live"):
# the keys in a real Redis server (tests/redis.sh: its own directory and
# Unix socket, no TCP port), beside the database that holds the orders.
# It works while both do; a crash between the Redis claim and the order's
# COMMIT leaves a key that says "processing" with no order (the retry is
# refused) or one that says "done" with no order (the retry is replayed an
# order that does not exist); and with Redis stopped the shop fails
# closed: 503, nothing written, until Redis is back.
. "$(dirname "$0")/lib.sh"
export ONCESHOP_LESSON=redis-store
start_redis
order='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
orders() { sql 'SELECT count(*) FROM orders'; }

"$BIN" init --demo >/dev/null 2>&1
ONCESHOP_REDIS= REQUEST_METHOD=GET PATH_INFO=/health "$BIN" </dev/null >/dev/null 2>"$TMP/err"
is "$? $(grep -v warning "$TMP/err")" "1 onceshop: ONCESHOP_LESSON=redis-store and ONCESHOP_REPLAY_CACHE=redis need ONCESHOP_REDIS, a Redis server's Unix socket" \
	"serving redis-store needs a Redis server"

start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-1" -d "$order"
is "$STATUS $(header Onceshop-Lesson)" "201 redis-store" "an order, its key in Redis"
first=$(json .id)
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(json .id)" "201 true $first" "... its retry is replayed from Redis"
like "$(rcli --scan --pattern 'onceshop:key:*:create-order:red-1')" 'red-1$' "... the key is in Redis"
like "$(rcli pttl "$(rcli --scan --pattern 'onceshop:key:*:red-1')")" '^[0-9]{5,}$' "... with a TTL: Redis expires it by itself"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-1" -d '{"items":[{"sku":"TEA-MATCHA","quantity":1}]}'
is "$STATUS" 422 "... another body under the key: 422"

# A crash right after the claim: Redis says processing, the database has
# no order. The retry is refused until the claim runs out (10 s).
# crash_at POINT KEY: a server that crashes at POINT on purpose answers a
# new order with KEY (the status in $code), then a server without it.
crash_at() {
	stop_server
	ONCESHOP_LESSON_CRASH=$1 start_server
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
		-H "Idempotency-Key: $2" -d "$order")
	stop_server
	start_server
}
n=$(orders)
crash_at after-claim red-crash-1
like "$code" '^5' "a crash after the Redis claim: the client gets a 5xx ($code)"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-crash-1" -d "$order"
is "$STATUS $(json .type) $(($(orders) - n))" "409 /problems/idempotency-key-in-progress 0" \
	"... its retry is refused (Redis says processing) and there is no order: the key and the order were two systems"

# A crash after the answer was stored in Redis, before the COMMIT: Redis
# says done, the order was never committed. The retry is replayed an
# order that does not exist.
crash_at after-store red-crash-2
like "$code" '^5' "a crash after the answer went to Redis, before the COMMIT: a 5xx ($code)"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-crash-2" -d "$order"
ghost=$(json .id)
is "$STATUS $(header Idempotent-Replayed)" "201 true" "... its retry is replayed a 201 from Redis"
req GET "/orders/$ghost" -H "$ALICE"
is "$STATUS $(($(orders) - n))" "404 0" "... for order $ghost, which does not exist: the order is lost"

# Redis stopped under traffic: the shop fails closed.
stop_redis
n=$(orders)
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-down" -d "$order"
is "$STATUS $(json .type) $([ -n "$(header Retry-After)" ] && echo retry-after)" "503 /problems/service-busy retry-after" \
	"Redis stopped: a new order is 503 with Retry-After (fail closed)"
is "$(($(orders) - n))" 0 "... and nothing was written"
req GET /products
is "$STATUS" 200 "... while what needs no key still answers"
start_redis
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: red-down" -d "$order"
is "$STATUS $(($(orders) - n))" "201 1" "Redis back: the same request makes its one order"
integrity_ok
done_testing
