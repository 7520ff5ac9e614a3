#!/usr/bin/env bash
# POST /orders with an Idempotency-Key: a new order, exact replays, a
# changed body under the same key, malformed input that does not burn the
# key, business errors that are stored and replayed, and what was written.
. "$(dirname "$0")/lib.sh"
start_server

stock() { sql "SELECT stock FROM products WHERE sku = '$1'"; }
orders() { sql "SELECT count(*) FROM orders"; }

# --- a new order ---
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: order-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":2},{"sku":"TEA-SENCHA","quantity":1}]}'
is "$STATUS" 201 "a new order is 201"
id=$(json .id)
is "$(header Location)" "/orders/$id" "... with Location: /orders/{id}"
is "$(header Idempotent-Replayed)" "" "... and no Idempotent-Replayed header"
is "$(json '"\(.status) \(.currency) \(.total)"')" "pending JPY 4800" \
	"... pending, JPY, total 2 x 1800 + 1200 = 4800"
is "$(json '[.items[] | "\(.sku):\(.name):\(.quantity):\(.unit_price):\(.subtotal)"] | join(" ")')" \
	"MUG-KYOTO:Kyoto stoneware mug:2:1800:3600 TEA-SENCHA:Sencha green tea, 100 g:1:1200:1200" \
	"... items with name, quantity, unit_price and subtotal"
like "$(json .created_at)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
	"... created_at is RFC 3339 UTC"
is "$(stock MUG-KYOTO) $(stock TEA-SENCHA)" "198 999" "stock was decremented"
first_body=$BODY
first_headers=$(printf '%s\n' "$HEADERS" | grep -iv '^date:')

# --- the retry: same key, same body ---
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: order-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":2},{"sku":"TEA-SENCHA","quantity":1}]}'
is "$STATUS" 201 "a retry gets the same status"
is "$BODY" "$first_body" "... the same body, byte for byte"
is "$(header Location)" "/orders/$id" "... the same Location"
is "$(header Idempotent-Replayed)" "true" "... and Idempotent-Replayed: true"
is "$(printf '%s\n' "$HEADERS" | grep -iv '^date:\|^idempotent-replayed:')" \
	"$first_headers" "... and otherwise the same headers"
is "$(orders) $(stock MUG-KYOTO)" "1 198" "nothing was written again"

# --- the same request, keys reordered and spaced differently ---
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: "order-1"' \
	-d '{ "items" : [ { "quantity" : 2, "sku" : "MUG-KYOTO" },
	      { "quantity": 1, "sku": "TEA-SENCHA" } ] }'
is "$STATUS $(header Idempotent-Replayed)" "201 true" \
	"reordered keys and other white space are the same request (a replay)"
is "$BODY" "$first_body" "... with the same body; \"order-1\" quoted is the same key"

# --- a different body under the same key ---
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: order-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":3},{"sku":"TEA-SENCHA","quantity":1}]}'
problem 422 idempotency-key-reused "a changed quantity under the same key is 422"
like "$(json .detail)" "new key" "... and the detail says to use a new key"
is "$(orders) $(stock MUG-KYOTO)" "1 198" "... and nothing was written"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: order-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":2}]}'
problem 422 idempotency-key-reused "a removed item under the same key is 422"

# --- the same key, another user / the other endpoint: independent ---
req POST /orders -H "$BOB" -H "$JSON" -H 'Idempotency-Key: order-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":2},{"sku":"TEA-SENCHA","quantity":1}]}'
is "$STATUS $(header Idempotent-Replayed)" "201 " "bob's order-1 is a new order, not alice's replay"
bob_id=$(json .id)
like "$bob_id" '^[0-9]+$' "... with its own id"
[ "$bob_id" != "$id" ] && pass "... which differs from alice's" || fail "... which differs from alice's"
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: order-1' \
	-d "{\"order_id\":$id,\"amount\":4800,\"currency\":\"JPY\"}"
is "$STATUS $(header Idempotent-Replayed)" "201 " \
	"the same key on POST /payments/confirm is a different key"

# --- the order check: auth, key, content type, size, body ---
body='{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
req POST /orders -H "$JSON" -H 'Idempotency-Key: k-auth' -d "$body"
problem 401 unauthorized "no token is 401 before anything else"
req POST /orders -H 'Authorization: Bearer nope' -H 'Idempotency-Key: "bad key\x01' -d 'x'
problem 401 unauthorized "a wrong token is 401 even with a bad key and body"
req POST /orders -H "$ALICE" -H "$JSON" -d "$body"
problem 400 idempotency-key-missing "no Idempotency-Key is 400"
for key in '"unterminated' '"a"b' 'has space' '""' "$(printf 'x%.0s' {1..256})" 'ключ' '"a\nb"'; do
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $key" -d "$body"
	problem 400 idempotency-key-invalid "Idempotency-Key: ${key:0:20} is invalid (400)"
done
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $(printf 'x%.0s' {1..255})" -d "$body"
is "$STATUS" 201 "a 255-character key is fine"
req POST /orders -H "$ALICE" -H 'Content-Type: text/plain' -H 'Idempotency-Key: k-type' -d "$body"
problem 415 unsupported-media-type "Content-Type: text/plain is 415"
req POST /orders -H "$ALICE" -H 'Idempotency-Key: k-type' --data-binary "$body" -H 'Content-Type:'
problem 415 unsupported-media-type "no Content-Type is 415"
req POST /orders -H "$ALICE" -H 'Content-Type: application/json; charset=utf-8' \
	-H 'Idempotency-Key: k-charset' -d "$body"
is "$STATUS" 201 "application/json; charset=utf-8 is JSON"
head -c 70000 /dev/zero | tr '\0' ' ' > "$TMP/big"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-big' --data-binary @"$TMP/big"
problem 413 payload-too-large "a body over 64 KiB is 413"

# --- malformed bodies: 400, and the key stays unused ---
n_before=$(orders)
bad_json=('' '{' '{"items":[}' '{"items":[]} trailing' "{'items':[]}" '[]' '"x"' \
	'{"items":[{"sku":"MUG-KYOTO","quantity":1},]}' \
	"$(printf '[%.0s' {1..17})$(printf ']%.0s' {1..17})")
for b in "${bad_json[@]}"; do
	req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-fix' --data-binary "$b"
	problem 400 invalid-json "not JSON (${b:0:24}) is 400 invalid-json"
done
printf '{"items":[{"sku":"\xff","quantity":1}]}' > "$TMP/latin1"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-fix' --data-binary @"$TMP/latin1"
problem 400 invalid-json "invalid UTF-8 is 400 invalid-json"
bad_body=('{}' '{"items":[]}' '{"items":{}}' '{"items":[1]}'
	'{"items":[{"sku":"MUG-KYOTO"}]}' '{"items":[{"quantity":1}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":0}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":1000}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":1.5}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":"1"}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":1e0}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":1,"price":1}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":1}],"coupon":"FREE"}'
	'{"items":[{"sku":"","quantity":1}]}'
	'{"items":[{"sku":"MUG-KYOTO","quantity":1},{"sku":"MUG-KYOTO","quantity":2}]}'
	"{\"items\":[$(for i in $(seq 51); do printf '{"sku":"S%d","quantity":1},' "$i"; done | sed 's/,$//')]}")
for b in "${bad_body[@]}"; do
	req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-fix' --data-binary "$b"
	problem 400 invalid-body "a body that breaks the rules (${b:0:40}) is 400 invalid-body"
done
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-fix' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1},{"sku":"TEA-SENCHA","quantity":0}]}'
like "$(json .detail)" 'items\[1\]\.quantity' "the detail names the offending member"
is "$(orders) $(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'k-fix'")" \
	"$n_before 0" "no malformed body wrote an order or used the key"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-fix' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
is "$STATUS $(header Idempotent-Replayed)" "201 " "the corrected request under the same key is a new order"

# --- business errors are stored and replayed ---
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-unknown' \
	-d '{"items":[{"sku":"NO-SUCH","quantity":1}]}'
problem 422 unknown-product "an unknown sku is 422 unknown-product"
like "$(json .detail)" 'NO-SUCH' "... naming the sku"

cup=$(stock CUP-LIMITED)
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-stock' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1},{"sku":"CUP-LIMITED","quantity":6}]}'
problem 409 out-of-stock "6 of a product with 5 in stock is 409 out-of-stock"
oos_body=$BODY
is "$(stock CUP-LIMITED) $(stock MUG-KYOTO)" "$cup $(sql "SELECT 200 - sum(quantity) FROM order_items WHERE sku = 'MUG-KYOTO'")" \
	"... nothing was decremented, not even the item that was in stock"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-stock' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1},{"sku":"CUP-LIMITED","quantity":6}]}'
is "$STATUS $(header Idempotent-Replayed)" "409 true" "the out-of-stock answer is replayed"
is "$BODY" "$oos_body" "... byte for byte"
is "$(header Content-Type)" "application/problem+json" "... as problem+json"

# Stock arrives: the old key still answers what it answered; a new key buys.
sql "UPDATE products SET stock = 10 WHERE sku = 'CUP-LIMITED'"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-stock' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1},{"sku":"CUP-LIMITED","quantity":6}]}'
is "$STATUS" 409 "after a restock the old key still replays its 409"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: k-stock-2' \
	-d '{"items":[{"sku":"CUP-LIMITED","quantity":6}]}'
is "$STATUS $(stock CUP-LIMITED)" "201 4" "a new key buys 6 of 10"

# --- reads: only your own orders ---
req GET "/orders/$id" -H "$ALICE"
is "$STATUS $(json .id) $(json .total)" "200 $id 4800" "alice reads her order"
req GET "/orders/$id" -H "$BOB"
problem 404 order-not-found "bob cannot read alice's order (404, not 403)"
req GET /orders -H "$BOB"
is "$(json '[.orders[].id] | join(",")')" "$bob_id" "bob's list holds only bob's order"
req GET /orders -H "$ALICE"
is "$(json '[.orders[].id] | . == (sort | reverse)')" "true" "alice's list is newest first"
is "$(json '.orders | length')" "$(sql "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.name = 'alice'")" \
	"... and holds all of alice's orders"
req GET '/orders?limit=1' -H "$ALICE"
is "$(json '.orders | length')" 1 "?limit=1 returns one order"
req GET /idempotency-keys -H "$BOB"
is "$(json '[.idempotency_keys[] | "\(.key)/\(.operation)/\(.response_status)"] | join(" ")')" \
	"order-1/create-order/201" "bob sees only his own idempotency key"
req GET /idempotency-keys -H "$ALICE"
is "$(json '[.idempotency_keys[] | select(.key == "k-stock")][0] | "\(.operation) \(.status) \(.response_status)"')" \
	"create-order completed 409" "alice's keys list the stored 409"
like "$(json '.idempotency_keys[0] | "\(.fingerprint) \(.created_at) \(.expires_at)"')" \
	'^[0-9a-f]{64} [0-9T:Z-]{20} [0-9T:Z-]{20}$' "... with fingerprint, created_at and expires_at"

# --- the database agrees ---
is "$(sql "SELECT count(*) FROM orders o WHERE total != (SELECT sum(quantity * unit_price) FROM order_items WHERE order_id = o.id)")" \
	0 "every order's total is the sum of its items"
integrity_ok

done_testing
