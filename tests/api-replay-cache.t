#!/usr/bin/env bash
# The replay cache (README, "Where the keys live"): finished answers are
# kept beside the database, with the key's TTL, and a replay is answered
# from there before the database is asked. In this process's memory by
# default (ONCESHOP_REPLAY_CACHE=memory), in Redis with =redis (on every
# host). The database stays the truth: another body, a miss, a restart or
# Redis away go to it, never to "new", and nothing is lost or doubled.
. "$(dirname "$0")/lib.sh"
order='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
orders() { sql 'SELECT count(*) FROM orders'; }
# outcome KEY LOG: the outcomes the log LOG gave KEY's requests, in order.
outcome() { grep "key=$1 " "${2:-$TMP/error.log}" | sed -n 's/.* outcome=\([a-z-]*\).*/\1/p' | paste -sd' '; }
# second_host_sends N KEY BODY OUTCOMES NAME: on PostgreSQL, a second host
# (the same database) is sent KEY's order N times: test NAME passes if the
# last answer is 201 with BODY and that host's log gave KEY the OUTCOMES.
# Skipped on SQLite, whose hosts would not share a database.
second_host_sends() {
	local _ base=$BASE
	[ "$ENGINE" = postgres ] || { skip "$5" "hosts share a database on PostgreSQL"; return; }
	start_second_host
	BASE=$B
	for _ in $(seq "$1"); do
		req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $2" -d "$order"
	done
	BASE=$base
	is "$STATUS $([ "$BODY" = "$3" ] && echo same) $(outcome "$2" "$TMP/error-2.log")" "201 same $4" "$5"
	stop_second_host
}

# --- in memory, the default ---
start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-1" -d "$order"
first=$BODY
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(outcome m-1)" "201 true new replayed-cache" \
	"memory: a retry is replayed from this process's memory, the database not asked"
is "$BODY" "$first" "... byte for byte"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-1" -d '{"items":[{"sku":"TEA-MATCHA","quantity":1}]}'
is "$STATUS $(outcome m-1 | awk '{print $NF}')" "422 mismatch" "memory: another body under the key: 422, from the database"
n=$(orders)
req POST /orders -H "$BOB" -H "$JSON" -H "Idempotency-Key: m-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(($(orders) - n))" "201  1" \
	"memory: another user's key of the same name is not alice's answer: bob's own order"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-oos" -d '{"items":[{"sku":"CUP-LIMITED","quantity":99}]}'
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-oos" -d '{"items":[{"sku":"CUP-LIMITED","quantity":99}]}'
is "$STATUS $(outcome m-oos)" "409 new replayed-cache" "memory: a stored refusal is replayed from memory too"
stop_server
start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-1" -d "$order"
is "$STATUS $([ "$BODY" = "$first" ] && echo same) $(outcome m-1 | awk '{print $NF}')" "201 same replayed" \
	"memory: after a restart the memory is empty, and the database replays the same answer"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-1" -d "$order"
is "$STATUS $([ "$BODY" = "$first" ] && echo same) $(outcome m-1 | awk '{print $NF}')" "201 same replayed-cache" \
	"... which it kept: the next replay is from memory"
stop_server
# The copy never outlives the key: with keys kept 3 s, the answer is gone
# from memory a second before the row expires; then the key is new again.
ONCESHOP_IDEMPOTENCY_TTL=3 start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-ttl" -d "$order"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-ttl" -d "$order"
is "$STATUS $(outcome m-ttl)" "201 new replayed-cache" "memory, keys kept 3 s: replayed from memory at once"
sleep 3.2
n=$(orders)
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-ttl" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(($(orders) - n)) $(outcome m-ttl | awk '{print $NF}')" "201  1 new-expired" \
	"... and 3 s later the key has expired: a new order, not the old answer"
stop_server
ONCESHOP_REPLAY_CACHE=off start_server
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-off" -d "$order"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: m-off" -d "$order"
is "$STATUS $(outcome m-off)" "201 new replayed" "ONCESHOP_REPLAY_CACHE=off: every replay is read from the database"
second_host_sends 2 m-1 "$first" "replayed replayed-cache" \
	"memory, two hosts: the other host replays from the database, then from its memory"
stop_server

# --- in Redis ---
export ONCESHOP_REPLAY_CACHE=redis
start_redis
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

req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-2" -d "$order"
second_host_sends 1 rc-2 "$BODY" replayed-cache \
	"two hosts: an order on one is replayed on the other from the cache"

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
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: rc-3" -d "$order"
is "$STATUS $(header Idempotent-Replayed) $(outcome rc-3 | awk '{print $NF}')" "201 true replayed-cache" \
	"... which put it in Redis: the next replay is from the cache"
integrity_ok
done_testing
