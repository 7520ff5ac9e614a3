#!/usr/bin/env bash
# Two onceshop hosts sharing one PostgreSQL, as behind a load balancer
# (make cluster): thirty copies of one request sent alternately to both
# make one order, one stock decrement and thirty identical answers; thirty
# copies of one payment make one charge. A key store private to each host
# would have made two of each. (SQLite is one host's file: skipped there.)
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP two hosts need a shared database: PostgreSQL"; exit 0; }
start_server
A=$BASE

start_second_host
is "$(curl -s -o /dev/null -w '%{http_code}' "$B/products")" 200 "a second host answers on another port"
is "$(workers "$SERVER_PID" | wc -l) $(workers "$SECOND_PID" | wc -l)" "1 1" \
	"... from an onceshop process of its own: one per host"

N=30
stock() { sql "SELECT stock FROM products WHERE sku = '$1'"; }
before=$(stock TEA-MATCHA)
burst "$N" /orders twin-order '{"items":[{"sku":"TEA-MATCHA","quantity":2}]}' "$A" "$B"
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{print $1, $2}')" "$N 201" \
	"$N copies of one order, alternately to both hosts: all $N are 201"
is "$(sql 'SELECT count(*) FROM orders')" 1 "... one order"
is "$(stock TEA-MATCHA)" $((before - 2)) "... one stock decrement"
is "$(md5sum "$TMP"/burst/*.body | awk '{print $1}' | sort -u | wc -l)" 1 "... $N byte-identical bodies"
is "$(cat "$TMP"/burst/*.hdr | tr -d '\r' | grep -ci '^Idempotent-Replayed: true$')" $((N - 1)) \
	"... $((N - 1)) of them replays, from either host"
id=$(jq -r .id "$TMP/burst/1.body")

# One payment, alternately to both hosts: the first at the provider, the
# others 409 until it is done; retried, every one gets its 201.
pay='{"order_id":'$id',"amount":5600,"currency":"JPY","card":"tok_slow"}'
burst "$N" /payments/confirm twin-pay "$pay" "$A" "$B"
like "$(cat "$TMP"/burst/*.status | sort -u | tr '\n' ' ')" '^201 (409 )?$' \
	"$N copies of one payment to both hosts: 201, or 409 while it is at the provider"
burst_retry
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{print $1, $2}')" "$N 201" \
	"... after retrying their 409s, all $N are 201"
is "$(md5sum "$TMP"/burst/*.body | awk '{print $1}' | sort -u | wc -l)" 1 "... with one body"
is "$(sql "SELECT count(*) FROM payments WHERE order_id = $id") $(sql "SELECT status FROM orders WHERE id = $id")" \
	"1 paid" "... one payment; the order paid"
ledger "payment-$(jq -r .id "$TMP/burst/1.body")"
is "$(json '.charges | length')" 1 "... and one charge in the provider's ledger"
done_testing
