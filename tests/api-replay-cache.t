#!/usr/bin/env bash
# ONCESHOP_REPLAY_CACHE=redis (README, "Where the keys live"): finished
# answers are kept in Redis too, with the key's TTL, and a replay is
# answered from there before the database is asked — on every host. The
# database stays the truth: another body, a miss or Redis away go to it,
# never to "new", and nothing is lost or doubled when Redis goes.
. "$(dirname "$0")/lib.sh"
export ONCESHOP_REPLAY_CACHE=redis
start_redis
order='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
orders() { sql 'SELECT count(*) FROM orders'; }
# outcome KEY LOG: the outcomes the log LOG gave KEY's requests, in order.
outcome() { grep "key=$1 " "${2:-$TMP/error.log}" | sed -n 's/.* outcome=\([a-z-]*\).*/\1/p' | paste -sd' '; }

"$BIN" init --demo >/dev/null
ONCESHOP_LESSON=memory-store REQUEST_METHOD=GET PATH_INFO=/health "$BIN" </dev/null >/dev/null 2>"$TMP/err"
like "$? $(grep -v warning "$TMP/err")" "^1 .*stands in front of the database store" \
	"the cache is for the database store only, not a lesson's"

start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-1" -d "$order"
is "$STATUS" 201 "an order"
first=$BODY
like "$(rcli pttl "$(rcli --scan --pattern 'onceshop:replay:*:create-order:rc-1')")" '^[0-9]{5,}$' \
	"... its answer is in Redis too, with a TTL"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed)" "201 true" "its retry is replayed"
is "$BODY" "$first" "... byte for byte"
is "$(outcome rc-1)" "new replayed-cache" "... from the cache, the database not asked for the key"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-1" -d '{"items":[{"sku":"TEA-MATCHA","quantity":1}]}'
is "$STATUS $(outcome rc-1 | awk '{print $NF}')" "422 mismatch" "another body under the key: 422, from the database"

req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-oos" -d '{"items":[{"sku":"CUP-LIMITED","quantity":99}]}'
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-oos" -d '{"items":[{"sku":"CUP-LIMITED","quantity":99}]}'
is "$STATUS $(json .type) $(outcome rc-oos)" "409 /problems/out-of-stock new replayed-cache" \
	"a refusal the handler decided is cached and replayed like a success"

if [ "$ENGINE" = postgres ]; then
	start_second_host
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-2" -d "$order"
	one=$BODY
	BASE_SAVE=$BASE BASE=$B
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-2" -d "$order"
	BASE=$BASE_SAVE
	is "$STATUS $([ "$BODY" = "$one" ] && echo same) $(outcome rc-2 "$TMP/error-2.log")" "201 same replayed-cache" \
		"two hosts: an order on one is replayed on the other from the cache"
	stop_second_host
else
	skip "two hosts: an order on one is replayed on the other from the cache" "hosts share a database on PostgreSQL"
fi

# Redis away: the database answers; nothing is lost or doubled.
stop_redis
n=$(orders)
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(outcome rc-1 | awk '{print $NF}')" "201 true replayed" \
	"Redis stopped: a replay is answered by the database"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-3" -d "$order"
is "$STATUS $(($(orders) - n))" "201 1" "... and a new order is made (the cache is not the truth: no need to fail closed)"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-3" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(($(orders) - n))" "201 true 1" "... and replayed, once"
start_redis
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-3" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(outcome rc-3 | awk '{print $NF}')" "201 true replayed" \
	"Redis back, empty: a miss goes to the database, never to new"
integrity_ok
done_testing
