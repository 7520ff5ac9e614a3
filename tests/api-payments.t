#!/usr/bin/env bash
# POST /payments/confirm: pay once, replay the payment, and every way a
# payment is refused — with nothing written twice.
. "$(dirname "$0")/lib.sh"
start_server

pay() { # pay KEY BODY [USER-HEADER]
	req POST /payments/confirm -H "${3:-$ALICE}" -H "$JSON" -H "Idempotency-Key: $1" -d "$2"
}
payments() { sql "SELECT count(*) FROM payments"; }

req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: o-1' \
	-d '{"items":[{"sku":"POT-TETSU","quantity":1}]}'
id=$(json .id)
is "$STATUS $(json .total)" "201 9800" "alice has an order of 9800 yen to pay"

# --- refused payments: nothing written, the order stays pending ---
pay p-wrong "{\"order_id\":$id,\"amount\":9700,\"currency\":\"JPY\"}"
problem 422 amount-mismatch "a wrong amount is 422 amount-mismatch"
like "$(json .detail)" "9800" "... and the detail says what the order costs"
pay p-usd "{\"order_id\":$id,\"amount\":9800,\"currency\":\"USD\"}"
problem 422 amount-mismatch "another currency is 422 amount-mismatch"
pay p-none '{"order_id":999999,"amount":9800,"currency":"JPY"}'
problem 404 order-not-found "an order that does not exist is 404"
pay p-bob "{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\"}" "$BOB"
problem 404 order-not-found "bob cannot pay alice's order: 404, not 403"
for b in '{"order_id":0,"amount":9800,"currency":"JPY"}' \
	"{\"order_id\":$id,\"amount\":-1,\"currency\":\"JPY\"}" \
	"{\"order_id\":$id,\"amount\":0,\"currency\":\"JPY\"}" \
	"{\"order_id\":$id,\"amount\":9800}" \
	"{\"order_id\":\"$id\",\"amount\":9800,\"currency\":\"JPY\"}" \
	"{\"order_id\":$id,\"amount\":9800.0,\"currency\":\"JPY\"}" \
	"{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\",\"tip\":100}" \
	"{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\",\"card\":\"\"}" \
	"{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\",\"card\":null}" \
	"{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\",\"card\":\"$(printf 'x%.0s' {1..33})\"}"; do
	pay p-bad "$b"
	problem 400 invalid-body "a malformed payment (${b:0:40}) is 400"
done
is "$(payments) $(sql "SELECT status FROM orders WHERE id = $id")" "0 pending" \
	"no refused payment wrote anything; the order is still pending"

# --- the payment ---
pay p-1 "{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\"}"
is "$STATUS" 201 "the right amount is 201"
is "$(json '"\(.order_id) \(.amount) \(.currency) \(.status)"')" "$id 9800 JPY succeeded" \
	"... body: order_id, amount, currency, status succeeded"
pid=$(json .id) charge=$(json .provider_charge_id) paid_body=$BODY
is "$(header Location)" "/payments/$pid" "... Location: /payments/{id}"
is "$(json '"\(.card) \(.provider_reference)"')" "tok_ok payment-$pid" \
	"... the card defaults to tok_ok; the provider knows it as payment-<id>"
like "$(json .provider_charge_id)" '^ch_[0-9]+$' "... with the provider's charge id"
ledger "payment-$pid"
is "$(json '.charges | length') $(json '.charges[0].id') $(json '.charges[0].amount')" \
	"1 $charge 9800" "the provider's ledger shows that one charge, of 9800"
req GET "/payments/$pid" -H "$ALICE"
is "$STATUS $(json .status) $(json .order_id)" "200 succeeded $id" "GET /payments/{id} shows it"
req GET "/payments/$pid" -H "$BOB"
problem 404 not-found "... and bob cannot see alice's payment"
req GET /payments/999999 -H "$ALICE"
problem 404 not-found "... nor anyone a payment that does not exist"
req GET /idempotency-keys -H "$ALICE"
is "$(json '.idempotency_keys[] | select(.key == "p-1") | "\(.status) \(.recovery_point) \(.response_status)"')" \
	"completed finished 201" "GET /idempotency-keys: the key is completed, its recovery point finished"
like "$(grep 'key=p-1 ' "$TMP/error.log" | head -1)" 'outcome=new stored=yes phase=finished .*status=201' \
	"the log line says the phase the payment reached"
req POST "/payments/$pid" -H "$ALICE" -H "$JSON" -d "{}"
problem 405 method-not-allowed "POST /payments/{id} is 405"
req GET "/orders/$id" -H "$ALICE"
is "$(json '"\(.status) \(.payment_id)"')" "paid $(sql 'SELECT id FROM payments')" \
	"the order is paid, and shows its payment id"
like "$(json .paid_at)" '^[0-9T:Z-]{20}$' "... and paid_at"

# --- the retry of the payment: replayed, not charged twice ---
pay p-1 "{\"currency\":\"JPY\",\"amount\":9800,\"order_id\":$id}"
is "$STATUS $(header Idempotent-Replayed)" "201 true" "retrying the payment replays it"
is "$BODY" "$paid_body" "... byte for byte"
is "$(payments)" 1 "... one payment row"

# --- a second payment with a new key ---
pay p-2 "{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\"}"
problem 409 order-already-paid "paying again with a new key is 409 order-already-paid"
pay p-2 "{\"order_id\":$id,\"amount\":9800,\"currency\":\"JPY\"}"
is "$STATUS $(header Idempotent-Replayed)" "409 true" "... and that 409 is replayed under its key"
is "$(payments)" 1 "still one payment"

# --- the second line of defence: the schema itself refuses a 2nd payment ---
insert_payment() { # insert_payment STATUS CHARGE-ID
	sql "INSERT INTO payments (order_id, amount, currency, card, status, provider_key, provider_charge_id, created_at, updated_at) VALUES ($id, 9800, 'JPY', 'tok_ok', '$1', 'k-$1-$RANDOM', $2, 'x', 'x')" 2>&1
}
like "$(insert_payment pending NULL)" 'UNIQUE constraint failed: payments.order_id|payments_one_live' \
	"a second pending payment for a paid order is refused by the schema"
like "$(insert_payment succeeded "'ch_x'")" 'UNIQUE constraint failed: payments.order_id|payments_one_live' \
	"... and so is a second succeeded one"
is "$(insert_payment failed NULL)" "" "... while a failed one may sit beside them (a declined card)"
out=$(sql "UPDATE products SET stock = -1 WHERE sku = 'POT-TETSU'" 2>&1)
like "$out" 'CHECK constraint failed|violates check constraint' "stock cannot go below zero in the schema"

integrity_ok
done_testing
