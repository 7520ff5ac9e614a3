#!/usr/bin/env bash
# A slow provider stays in its lane: payments waiting on it hold at most
# ONCESHOP_PROVIDER_SLOTS of the ONCESHOP_THREADS request threads (here 6
# of 8: two are left for everything else); a payment beyond them is told
# 503 with Retry-After at once, having claimed nothing, and every payment
# still ends with exactly one charge.
. "$(dirname "$0")/lib.sh"
export ONCESHOP_THREADS=8 ONCESHOP_PROVIDER_SLOTS=6
export PAYSIM_SLOW_MS=2000 ONCESHOP_PROVIDER_TIMEOUT_MS=8000
start_server
N=30

# N orders to pay, made one after the other.
for i in $(seq "$N"); do
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bulk-order-$i" \
		-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
	echo "$(json .id) $(json .total)" >> "$TMP/orders"
done
is "$(wc -l < "$TMP/orders")" "$N" "$N orders to pay"

# One more, paid before the provider is busy: its replays need no slot.
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bulk-order-done" \
	-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
done_pay='{"order_id":'$(json .id)',"amount":'$(json .total)',"currency":"JPY"}'
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bulk-pay-done" -d "$done_pay"
is "$STATUS" 201 "one payment made before the provider slows down"

mkdir "$TMP/pay"
# pay I: pays order I with tok_slow under key bulk-pay-I; its status,
# headers and time in $TMP/pay/I.*
pay() {
	local id total
	read -r id total < <(sed -n "${1}p" "$TMP/orders")
	curl -s --max-time 30 -o "$TMP/pay/$1.body" -D "$TMP/pay/$1.hdr" \
		-w '%{http_code}\n' -X POST "$BASE/payments/confirm" -H "$ALICE" -H "$JSON" \
		-H "Idempotency-Key: bulk-pay-$1" \
		-d "{\"order_id\":$id,\"amount\":$total,\"currency\":\"JPY\",\"card\":\"tok_slow\"}" \
		> "$TMP/pay/$1.status"
}
pids=()
for i in $(seq "$N"); do pay "$i" & pids+=($!); done
sleep 0.5	# all of them in: 6 at the provider for 2 s, the rest answered

# Meanwhile, everything else: its slowest answer, in ms.
slowest() {
	local what=$1 t max=0 i
	shift
	for i in $(seq 10); do
		t=$(curl -s -o /dev/null -w '%{time_total}' "$@" | awk '{printf "%d", $1 * 1000}')
		[ "$t" -gt "$max" ] && max=$t
	done
	echo "$max"
}
h=$(slowest health "$BASE/health")
p=$(slowest products "$BASE/products")
n=0 o=$(for i in $(seq 10); do
	curl -s -o /dev/null -w '%{time_total}\n' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
		-H "Idempotency-Key: beside-$i" -d '{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
done | awk '{t = $1 * 1000; if (t > m) m = t} END {printf "%d", m}')
r=$(slowest replay -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
	-H "Idempotency-Key: bulk-order-1" -d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}')
in_flight=$(sql "SELECT count(*) FROM idempotency_keys WHERE operation = 'confirm-payment' AND status = 'processing'")
is "$in_flight" 6 "while the provider is slow, 6 payments are at it (the slots)"

# With every slot taken, a payment that needs no provider is not refused:
# a copy of one in flight is told 409, a finished one is replayed.
k=$(sql "SELECT idem_key FROM idempotency_keys WHERE operation = 'confirm-payment' AND status = 'processing' LIMIT 1")
read -r id total < <(sed -n "${k#bulk-pay-}p" "$TMP/orders")
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $k" \
	-d "{\"order_id\":$id,\"amount\":$total,\"currency\":\"JPY\",\"card\":\"tok_slow\"}"
is "$STATUS $(json .type)" "409 /problems/idempotency-key-in-progress" \
	"... a copy of a payment at the provider, slots all taken: 409 in progress, not 503"
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bulk-pay-done" -d "$done_pay"
is "$STATUS $(header Idempotent-Replayed)" "201 true" "... a finished payment's replay: 201, replayed"
verdict=$([ "$h" -lt 1000 ] && [ "$p" -lt 1000 ] && [ "$o" -lt 1000 ] && [ "$r" -lt 1000 ] \
	&& echo "under 1 s" || echo "too slow")
is "$verdict" "under 1 s" \
	"... and GET /health, GET /products, new orders and replays answer (slowest: $h, $p, $o, $r ms; the provider takes 2,000)"
wait "${pids[@]}"

count() { cat "$TMP"/pay/*.status | sort | uniq -c | awk '{print $1, $2}' | paste -sd' '; }
is "$(count)" "6 201 $((N - 6)) 503" "the payments: 6 paid, $((N - 6)) told 503 at once"
busy=$(grep -l '^503' "$TMP"/pay/*.status | head -1)
busy=${busy%.status}
like "$(jq -r '.type' "$busy.body") $(tr -d '\r' < "$busy.hdr" | sed -n 's/^Retry-After: //Ip')" \
	'^/problems/service-busy [1-4]$' "... a 503 is service-busy with Retry-After: 1 to 4 s (jittered)"
like "$(jq -r .detail "$busy.body")" 'Nothing was claimed, written or charged' "... and says nothing was claimed"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE operation = 'confirm-payment'") $(sql 'SELECT count(*) FROM payments')" \
	"7 7" "... indeed: 6 keys and 6 payments (and the one before), none for the refused ones"

# The refused ones retry after their Retry-After until paid, all at once.
pids=()
for i in $(seq "$N"); do
	( deadline=$((SECONDS + 60))
	  while [ "$(cat "$TMP/pay/$i.status")" != 201 ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep "$(tr -d '\r' < "$TMP/pay/$i.hdr" | sed -n 's/^Retry-After: //Ip' | grep . || echo 1)"
		pay "$i"
	  done ) & pids+=($!)
done
wait "${pids[@]}"
is "$(count)" "$N 201" "after retrying, all $N payments are 201"
is "$(sql "SELECT count(*) FROM payments WHERE status = 'succeeded'") $(sql "SELECT count(*) FROM orders WHERE status = 'paid'")" \
	"$((N + 1)) $((N + 1))" "... $N payments succeeded, $N orders paid (and the one before)"
charges=$(curl -s -H "Authorization: Bearer ${PAYSIM_SECRET:-paysim-secret}" "$BASE/paysim/v1/charges" | jq '.charges | length')
refs=$(curl -s -H "Authorization: Bearer ${PAYSIM_SECRET:-paysim-secret}" "$BASE/paysim/v1/charges" | jq -r '.charges[].reference' | sort -u | wc -l)
is "$charges $refs" "$((N + 1)) $((N + 1))" "... and the provider's ledger has $N + 1 charges, one per payment"
done_testing
