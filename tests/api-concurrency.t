#!/usr/bin/env bash
# Concurrency is part of correctness: thirty copies of one request at once
# make one order and one stock decrement, and all thirty get the same body.
. "$(dirname "$0")/lib.sh"
start_server

N=30
order='{"items":[{"sku":"TEA-MATCHA","quantity":3}]}'
stock_before=$(sql "SELECT stock FROM products WHERE sku = 'TEA-MATCHA'")

burst "$N" /orders twin-order "$order"
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{print $1, $2}')" "$N 201" \
	"$N concurrent identical POST /orders: all $N are 201 (no 409, no 5xx)"
is "$(sql 'SELECT count(*) FROM orders')" 1 "... exactly one order was created"
is "$(sql "SELECT stock FROM products WHERE sku = 'TEA-MATCHA'")" $((stock_before - 3)) \
	"... and stock was decremented once"
is "$(md5sum "$TMP"/burst/*.body | awk '{print $1}' | sort -u | wc -l)" 1 \
	"... all $N bodies are byte-identical"
is "$(cat "$TMP"/burst/*.hdr | tr -d '\r' | grep -ci '^Idempotent-Replayed: true$')" $((N - 1)) \
	"... $((N - 1)) of them marked Idempotent-Replayed: true"
id=$(jq -r .id "$TMP/burst/1.body")

# Copies that all reach the writer. While a client holds the write lock,
# none is claimed yet, so each copy's look-up finds nothing and waits for
# the writer; there the first claims the key and the others find its
# claim. Their order runs before they learn it (the claim is sent with the
# order's first statement; keystore.h): what it wrote must be undone.
orders=$(sql 'SELECT count(*) FROM orders')
stock_before=$(sql "SELECT stock FROM products WHERE sku = 'TEA-MATCHA'")
hold_write_lock 2 || echo "# the write lock was never held"
burst 10 /orders twin-held "$order"
wait "$HOLDER"
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{print $1, $2}')" "10 201" \
	"10 copies that each reach the writer: all 201"
is "$(sql 'SELECT count(*) FROM orders')" $((orders + 1)) "... one order"
is "$(sql "SELECT stock FROM products WHERE sku = 'TEA-MATCHA'")" $((stock_before - 3)) \
	"... stock taken once: the copies' own orders were undone"
is "$(md5sum "$TMP"/burst/*.body | awk '{print $1}' | sort -u | wc -l)" 1 \
	"... all 10 bodies are byte-identical"
like "$(grep -c 'key=twin-held outcome=replayed stored=no group=[1-9]' "$TMP/error.log")" '^[1-9]' \
	"... and copies were answered by the writer, finding the first's claim there"

# A payment is not one transaction (it asks the provider between two), so
# copies that come while the first is at the provider are told 409 with
# Retry-After instead of waiting, and copies that find every provider slot
# taken before the first has claimed the key are told 503 (nothing
# claimed); retried, they get its answer.
pay='{"order_id":'$id',"amount":8400,"currency":"JPY"}'
burst "$N" /payments/confirm twin-pay "$pay"
like "$(cat "$TMP"/burst/*.status | sort -u | tr '\n' ' ')" '^201 (409 )?(503 )?$' \
	"$N concurrent identical payments: each is 201, 409 while the first is at the provider, or 503 busy"
burst_retry
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{print $1, $2}')" "$N 201" \
	"... and after retrying their 409s and 503s, all $N are 201"
is "$(sql 'SELECT count(*) FROM payments')" 1 "... exactly one payment"
is "$(md5sum "$TMP"/burst/*.body | awk '{print $1}' | sort -u | wc -l)" 1 \
	"... all $N bodies are byte-identical"
ledger "payment-$(jq -r .id "$TMP/burst/1.body")"
is "$(json '.charges | length')" 1 "... and the provider's ledger shows one charge"

# Orders of the same two products in opposite orders, all at once: each
# takes its stock in the order of the skus, so none waits for another
# (on PostgreSQL, crossed row locks would be deadlocks: 503s).
rm -f "$TMP"/status.*
s1=$(sql "SELECT stock FROM products WHERE sku = 'TEA-SENCHA'")
s2=$(sql "SELECT stock FROM products WHERE sku = 'MUG-KYOTO'")
for i in $(seq 20); do
	if [ $((i % 2)) = 0 ]; then b='[{"sku":"TEA-SENCHA","quantity":1},{"sku":"MUG-KYOTO","quantity":1}]'
	else b='[{"sku":"MUG-KYOTO","quantity":1},{"sku":"TEA-SENCHA","quantity":1}]'; fi
	curl -s -o /dev/null -w '%{http_code}\n' -X POST "$BASE/orders" -H "$BOB" -H "$JSON" \
		-H "Idempotency-Key: crossed-$i" -d "{\"items\":$b}" > "$TMP/status.$i" &
done
wait $(jobs -p | grep -v "^$SERVER_PID\$")
is "$(cat "$TMP"/status.* | sort | uniq -c | awk '{print $1, $2}')" "20 201" \
	"20 orders of two products in crossed orders, at once: all 201"
is "$(sql "SELECT stock FROM products WHERE sku = 'TEA-SENCHA'") $(sql "SELECT stock FROM products WHERE sku = 'MUG-KYOTO'")" \
	"$((s1 - 20)) $((s2 - 20))" "... and each product's stock went down by 20"

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

# GET /products is read once for the requests that ask for it together,
# but never answered from a read that began before a request arrived: a
# client that got its 201 sees its own order in the stock it reads next,
# while other clients order and read the catalogue all the while. (A read
# outlives a client's turn-around only rarely: the unit test of
# shared_answer is the one that catches an answer from too early a read.)
stock0=$(sql "SELECT stock FROM products WHERE sku = 'BISCUIT-SEMBEI'")
sembei_stock() { jq '.products[] | select(.sku == "BISCUIT-SEMBEI") | .stock'; }
rm -rf "$TMP/cat" && mkdir "$TMP/cat"
pids=()
for c in $(seq 8); do
	( for j in $(seq 10); do
		s=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/orders" -H "$ALICE" \
			-H "$JSON" -H "Idempotency-Key: cat-$c-$j" \
			-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}')
		echo "$j $s $(curl -s "$BASE/products" | sembei_stock)"
	  done > "$TMP/cat/$c" ) & pids+=($!)
	( for j in $(seq 40); do curl -s -o /dev/null "$BASE/products"; done ) & pids+=($!)
done
wait "${pids[@]}"
is "$(cat "$TMP"/cat/* | awk '$2 != 201 || $3 == "" || $3 > '"$stock0"' - $1' | head -3)" "" \
	"8 clients ordering and reading GET /products at once: each read after a 201 shows that order"
is "$(curl -s "$BASE/products" | sembei_stock)" $((stock0 - 80)) "... and, read alone, all 80 orders"

integrity_ok
done_testing
