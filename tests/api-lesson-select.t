#!/usr/bin/env bash
# The lesson ONCESHOP_LESSON=select-then-insert (README, "Why a UNIQUE
# constraint"): the key claimed by looking it up, then inserting it where no
# UNIQUE protects it. On PostgreSQL with two hosts (make cluster), whose
# writers each hold a transaction of their own, ten copies of one request
# sent alternately to both make several orders. On SQLite the single
# writer runs them one after the other and hides the race: one order. The
# database store's claim (insert, and the UNIQUE index decides) makes one
# order on both.
. "$(dirname "$0")/lib.sh"
export ONCESHOP_LESSON=select-then-insert ONCESHOP_LESSON_PAUSE_MS=300
start_server
order='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
orders() { sql 'SELECT count(*) FROM orders'; }

req GET /health
is "$(header Onceshop-Lesson) $(json .lesson)" "select-then-insert select-then-insert" \
	"the lesson is on, and says so"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: sel-1" -d "$order"
is "$STATUS" 201 "one request: an order"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: sel-1" -d "$order"
is "$STATUS $(header Idempotent-Replayed)" "201 true" "... its retry, later, is replayed: the look-up finds it"
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: sel-1" -d '{"items":[{"sku":"TEA-MATCHA","quantity":1}]}'
is "$STATUS" 422 "... another body under the key: 422"

n=$(orders)
if [ "$ENGINE" = postgres ]; then
	start_second_host
	hosts=("$BASE" "$B")
else
	hosts=("$BASE")
fi
burst 10 /orders sel-burst "$order" "${hosts[@]}"
made=$(($(orders) - n))
rows=$(sql "SELECT count(*) FROM lesson_keys WHERE idem_key = 'sel-burst'")
if [ "$ENGINE" = postgres ]; then
	like "$made $rows" '^([2-9]|10) ([2-9]|10)$' \
		"10 copies at once to two hosts: several orders ($made), and as many rows for the one key ($rows): the copies of each host looked before the other's inserted"
else
	is "$made $rows" "1 1" "on SQLite, 10 copies at once make one order: the single writer runs them one after the other (the race is hidden, not gone)"
fi

stop_second_host
stop_server
unset ONCESHOP_LESSON ONCESHOP_LESSON_PAUSE_MS
start_server
hosts=("$BASE")
if [ "$ENGINE" = postgres ]; then start_second_host; hosts+=("$B"); fi
n=$(orders)
burst 10 /orders db-burst "$order" "${hosts[@]}"
is "$(($(orders) - n)) $(cat "$TMP"/burst/*.status | sort -u | paste -sd' ')" "1 201" \
	"without the lesson, 10 copies at once make one order: the UNIQUE index decides"
integrity_ok
done_testing
