#!/usr/bin/env bash
# Concurrency is part of correctness: thirty copies of one request at once
# make one order and one stock decrement, and all thirty get the same body.
. "$(dirname "$0")/lib.sh"
start_server

N=30
order='{"items":[{"sku":"TEA-MATCHA","quantity":3}]}'
stock_before=$(sql "SELECT stock FROM products WHERE sku = 'TEA-MATCHA'")

# fire N: N identical POSTs in parallel; each response's status, replay
# header and body land in $TMP/out.<i>.
fire() {
	local path=$1 key=$2 body=$3 i
	for i in $(seq "$N"); do
		curl -s -o "$TMP/out.$i" -D "$TMP/hdr.$i" -w '%{http_code}\n' \
			-X POST "$BASE$path" -H "$ALICE" -H "$JSON" \
			-H "Idempotency-Key: $key" -d "$body" > "$TMP/status.$i" &
	done
	wait $(jobs -p | grep -v "^$SERVER_PID\$")
}

fire /orders twin-order "$order"
is "$(cat "$TMP"/status.* | sort | uniq -c | awk '{print $1, $2}')" "$N 201" \
	"$N concurrent identical POST /orders: all $N are 201 (no 409, no 5xx)"
is "$(sql 'SELECT count(*) FROM orders')" 1 "... exactly one order was created"
is "$(sql "SELECT stock FROM products WHERE sku = 'TEA-MATCHA'")" $((stock_before - 3)) \
	"... and stock was decremented once"
is "$(md5sum "$TMP"/out.* | awk '{print $1}' | sort -u | wc -l)" 1 \
	"... all $N bodies are byte-identical"
is "$(cat "$TMP"/hdr.* | tr -d '\r' | grep -ci '^Idempotent-Replayed: true$')" $((N - 1)) \
	"... $((N - 1)) of them marked Idempotent-Replayed: true"
id=$(jq -r .id "$TMP/out.1")

rm -f "$TMP"/out.* "$TMP"/hdr.* "$TMP"/status.*
fire /payments/confirm twin-pay "{\"order_id\":$id,\"amount\":8400,\"currency\":\"JPY\"}"
is "$(cat "$TMP"/status.* | sort | uniq -c | awk '{print $1, $2}')" "$N 201" \
	"$N concurrent identical payments: all $N are 201"
is "$(sql 'SELECT count(*) FROM payments')" 1 "... exactly one payment"
is "$(md5sum "$TMP"/out.* | awk '{print $1}' | sort -u | wc -l)" 1 \
	"... all $N bodies are byte-identical"

# Different keys racing for the last units: never oversold.
rm -f "$TMP"/status.*
for i in $(seq 12); do
	curl -s -o /dev/null -w '%{http_code}\n' -X POST "$BASE/orders" \
		-H "$BOB" -H "$JSON" -H "Idempotency-Key: race-$i" \
		-d '{"items":[{"sku":"CUP-LIMITED","quantity":1}]}' > "$TMP/status.$i" &
done
wait $(jobs -p | grep -v "^$SERVER_PID\$")
is "$(cat "$TMP"/status.* | sort | uniq -c | awk '{printf "%s %s;", $1, $2}')" "5 201;7 409;" \
	"12 different keys for 5 cups: 5 orders, 7 out-of-stock"
is "$(sql "SELECT stock FROM products WHERE sku = 'CUP-LIMITED'")" 0 "... stock is 0, not below"

is "$(sql 'PRAGMA integrity_check')" ok "PRAGMA integrity_check is ok"
done_testing
