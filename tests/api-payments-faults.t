#!/usr/bin/env bash
# Payments on a provider's bad day: twenty copies of one payment, an answer
# lost after the charge, a provider error, a declined card, a provider that
# cannot be reached, two keys racing for one order, and a processing key
# that outlives its TTL. After each, the provider's ledger, the payments,
# the order and the key are counted: never two charges for one order, and
# a retry with the same key always finishes the payment it started.
# (Crashes and the completer: api-payments-crash.t.)
. "$(dirname "$0")/lib.sh"

# The shop waits up to 2 s for the provider (a lease of 4 s); tok_slow
# answers after 0.8 s, within that; tok_lost after 3 s, too late: its answer
# is lost. No completer, so only the clients below resume their keys.
export ONCESHOP_PROVIDER_TIMEOUT_MS=2000 PAYSIM_SLOW_MS=800 PAYSIM_LOST_MS=3000
export ONCESHOP_COMPLETER_MS=0
start_server

# new_order: alice orders one BISCUIT-SEMBEI (600 yen); sets ORDER.
orders=0
new_order() {
	orders=$((orders + 1))
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: order-$orders" \
		-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
	ORDER=$(json .id)
	[ "$STATUS $(json .total)" = "201 600" ] || fail "order-$orders could not be made" "got: $STATUS $BODY"
}
pay_body() { printf '{"order_id":%s,"amount":600,"currency":"JPY","card":"%s"}' "$1" "$2"; }
# pay KEY ORDER CARD: POST /payments/confirm as alice.
pay() {
	req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" \
		--max-time 20 -d "$(pay_body "$2" "$3")"
}
# payment_of ORDER: the id of ORDER's latest payment.
payment_of() { sql "SELECT max(id) FROM payments WHERE order_id = $1"; }
key_col() { # key_col KEY COLUMN: a column of alice's confirm-payment KEY
	sql "SELECT $2 FROM idempotency_keys WHERE operation = 'confirm-payment' AND idem_key = '$1'"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# retry_after_ok: the last response has a Retry-After of 1 to $1 seconds.
retry_after_ok() { local r; r=$(header Retry-After); [[ $r =~ ^[0-9]+$ ]] && [ "$r" -ge 1 ] && [ "$r" -le "$1" ]; }

# --- 1. twenty copies of one payment at once --------------------------------
new_order
o=$ORDER
N=20
burst "$N" /payments/confirm twenty "$(pay_body "$o" tok_slow)"
echo "# first answers: $(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{ printf "%s %s; ", $1, $2 }')"
like "$(cat "$TMP"/burst/*.status | sort -u | tr '\n' ' ')" '^(201 )?409 $' \
	"$N concurrent copies of a tok_slow payment: 409 while the first is at the provider (and 201)"
bad=
for i in $(seq "$N"); do
	[ "$(cat "$TMP/burst/$i.status")" = 409 ] || continue
	HEADERS=$(tr -d '\r' < "$TMP/burst/$i.hdr") BODY=$(cat "$TMP/burst/$i.body")
	[ "$(json .type)" = /problems/idempotency-key-in-progress ] && retry_after_ok 4 ||
		bad+=" $i($(json .type) Retry-After: $(header Retry-After))"
done
is "$bad" "" "... each 409 is idempotency-key-in-progress with a Retry-After of 1 to 4 s (the lease)"
burst_retry
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{ print $1, $2 }')" "$N 201" \
	"... after retrying their 409s, all $N are 201"
is "$(md5sum "$TMP"/burst/*.body | awk '{ print $1 }' | sort -u | wc -l)" 1 "... with byte-identical bodies"
is "$(cat "$TMP"/burst/*.hdr | tr -d '\r' | grep -ci '^Idempotent-Replayed: true$')" $((N - 1)) \
	"... $((N - 1)) of them replays"
is "$(cat "$TMP"/burst/*.hdr | tr -d '\r' | grep -i '^Location:' | sort | uniq -c | awk '{ print $1, $3 }')" \
	"$N /payments/$(payment_of "$o")" "... all with the same Location"
is "$(payment_facts "$o" twenty)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... one charge in the ledger, one succeeded payment, the order paid, the key completed"

# --- 2. tok_lost: charged, but the answer never came ------------------------
new_order
o=$ORDER
pay lost-1 "$o" tok_lost
problem 504 payment-provider-unavailable "tok_lost: 504 payment-provider-unavailable after the provider timeout"
retry_after_ok 10 && pass "... with Retry-After ($(header Retry-After))" ||
	fail "... with Retry-After" "got: '$(header Retry-After)'"
p=$(payment_of "$o")
like "$(json .detail)" "payment $p.*not known.*same key" "... the detail names payment $p, says the outcome is unknown, asks for a retry with the same key"
is "$(payment_facts "$o" lost-1)" "charges=1 payments=pending order=pending key=processing/payment-created" \
	"... the ledger already has the charge; the payment is pending, the key processing at payment-created"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'lost-1'
	AND lease_owner IS NULL AND lease_until <= '$(now_utc)'")" 1 "... and its lease was given up"
req GET /idempotency-keys -H "$ALICE"
is "$(json '.idempotency_keys[] | select(.key == "lost-1") | "\(.status) \(.recovery_point) \(.response_status // "none")"')" \
	"processing payment-created none" "GET /idempotency-keys shows it processing at payment-created"
t0=$(now_ms)
pay lost-1 "$o" tok_lost
t=$(($(now_ms) - t0))
is "$STATUS $(header Idempotent-Replayed) $(header Location)" "201  /payments/$p" \
	"a retry with the same key resumes it: 201, not a replay, Location /payments/$p"
[ "$t" -lt 1500 ] && pass "... at once (${t} ms: no lease to wait for, the provider replays its charge)" ||
	fail "... at once" "took ${t} ms"
first=$BODY
ledger "payment-$p"
is "$(json '.charges[0].id')" "$(jq -r .provider_charge_id <<<"$first")" "... its provider_charge_id is the ledger's charge"
is "$(payment_facts "$o" lost-1)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... still one charge; the payment succeeded, the order is paid, the key completed"
pay lost-1 "$o" tok_lost
is "$STATUS $(header Idempotent-Replayed) $(header Location)" "201 true /payments/$p" "a third try is a replay"
is "$BODY" "$first" "... byte for byte"
is "$(payment_facts "$o" lost-1)" "charges=1 payments=succeeded order=paid key=completed/finished" "... and charges nothing"

# --- 3. tok_flaky: the provider fails once, charging nothing ----------------
new_order
o=$ORDER
pay flaky-1 "$o" tok_flaky
problem 502 payment-provider-unavailable "tok_flaky: the provider's 500 is 502 payment-provider-unavailable"
retry_after_ok 10 && pass "... with Retry-After ($(header Retry-After))" ||
	fail "... with Retry-After" "got: '$(header Retry-After)'"
is "$(payment_facts "$o" flaky-1)" "charges=0 payments=pending order=pending key=processing/payment-created" \
	"... nothing charged; the payment pending, the key processing at payment-created"
p=$(payment_of "$o")
pay flaky-1 "$o" tok_flaky
is "$STATUS $(header Idempotent-Replayed) $(header Location)" "201  /payments/$p" \
	"the retry with the same key succeeds: 201, the same payment"
is "$(payment_facts "$o" flaky-1)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... one charge; the payment succeeded, the order is paid, the key completed"

# --- 4. tok_declined: stored and replayed; another card needs a new key ----
new_order
o=$ORDER
pay decl-1 "$o" tok_declined
problem 402 payment-declined "tok_declined: 402 payment-declined"
p=$(payment_of "$o")
is "$(json .payment_id)" "$p" "... naming the failed payment (payment_id $p)"
declined=$BODY
pay decl-1 "$o" tok_declined
is "$STATUS $(header Idempotent-Replayed)" "402 true" "... stored: the retry is a replay"
is "$BODY" "$declined" "... byte for byte"
is "$(payment_facts "$o" decl-1) $(key_col decl-1 response_status)" \
	"charges=0 payments=failed order=pending key=completed/finished 402" \
	"... nothing charged; the payment failed, the order still pending, the key completed with 402"
pay decl-2 "$o" tok_ok
is "$STATUS $(header Location)" "201 /payments/$(payment_of "$o")" "a new key with tok_ok pays the order: 201"
is "$(payment_facts "$o" decl-2)" "charges=1 payments=failed,succeeded order=paid key=completed/finished" \
	"... one charge; the declined payment failed, the new one succeeded, the order is paid"
ledger "payment-$p"
is "$(json '.charges | length')" 0 "... and the ledger has nothing for the declined payment $p"

# --- 6. two keys racing for one order ---------------------------------------
new_order
o=$ORDER
mkdir "$TMP/c6"
for k in race-a race-b; do
	curl -s --max-time 20 -o "$TMP/c6/$k.body" -w '%{http_code}\n' -X POST "$BASE/payments/confirm" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: $k" -d "$(pay_body "$o" tok_slow)" \
		> "$TMP/c6/$k.status" &
done
wait $(jobs -p | grep -v "^$SERVER_PID\$")
is "$(cat "$TMP"/c6/*.status | sort | tr '\n' ' ')" "201 409 " \
	"two keys paying one order at once (tok_slow): one 201, one 409"
winner=race-a loser=race-b
[ "$(cat "$TMP/c6/race-a.status")" = 409 ] && winner=race-b loser=race-a
like "$(jq -r .type "$TMP/c6/$loser.body")" '^/problems/(payment-in-progress|order-already-paid)$' \
	"... the 409 is payment-in-progress or order-already-paid"
is "$(payment_facts "$o" "$winner") $(key_col "$loser" "status || '/' || response_status")" \
	"charges=1 payments=succeeded order=paid key=completed/finished completed/409" \
	"... one charge, one payment (succeeded), the order paid; the loser's 409 is stored under its key"
is "$(sql "SELECT count(*) FROM payments WHERE order_id = $o AND status != 'failed'")" 1 \
	"... exactly one payment that is not failed"

# --- 5. the provider cannot be reached --------------------------------------
# A loopback port nothing listens on: port 1 (only root may bind it), or
# else a free one from TEST_PORTS.
closed=1
while (exec 3<>"/dev/tcp/127.0.0.1/$closed") 2>/dev/null; do
	closed=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
done
stop_server
# Keys live 1 s here (for case 10, below).
export ONCESHOP_PROVIDER_URL=http://127.0.0.1:$closed/paysim ONCESHOP_IDEMPOTENCY_TTL=1
start_server
new_order
o=$ORDER
order_key=order-$orders
pay down-1 "$o" tok_ok
problem 503 payment-provider-unavailable "provider unreachable (port $closed): 503 payment-provider-unavailable"
retry_after_ok 10 && pass "... with Retry-After ($(header Retry-After))" ||
	fail "... with Retry-After" "got: '$(header Retry-After)'"
p=$(payment_of "$o")
like "$(json .detail)" "Nothing was charged" "... the detail says nothing was charged"
is "$(payment_facts "$o" down-1)" "charges=0 payments=pending order=pending key=processing/payment-created" \
	"... nothing charged; the payment pending, the key processing at payment-created"

# --- 10. a processing key outlives its TTL; sweep leaves it alone ----------
expires=$(key_col down-1 expires_at)
deadline=$((SECONDS + 10))
until [[ "$(now_utc -1)" > "$expires" ]] || [ "$SECONDS" -ge "$deadline" ]; do
	sleep 0.2
done
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'down-1'
	AND expires_at < '$(now_utc -1)'")" 1 \
	"with ONCESHOP_IDEMPOTENCY_TTL=1, the processing key expired over a second ago"
out=$("$BIN" sweep 2>&1)
like "$out" '^deleted [0-9]+ expired idempotency keys$' "onceshop sweep runs ($out)"
# The order's key, completed at the same time, is gone: swept by the
# server's own housekeeping, or by onceshop sweep.
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = '$order_key'")" 0 \
	"... the completed key of the same age ($order_key) is gone"
is "$(payment_facts "$o" down-1)" "charges=0 payments=pending order=pending key=processing/payment-created" \
	"... the expired processing key is not: still processing at payment-created, its payment pending"
req GET /idempotency-keys -H "$ALICE"
is "$(json '[.idempotency_keys[] | select(.key == "down-1") | .status] | join(",")')" processing \
	"... and GET /idempotency-keys still shows it processing"
pay down-1 "$o" tok_ok
problem 503 payment-provider-unavailable "a retry with the provider still down resumes the same key: 503 again"
like "$(json .detail)" "payment $p[^0-9]" "... for the same payment $p"
is "$(payment_facts "$o" down-1)" "charges=0 payments=pending order=pending key=processing/payment-created" \
	"... still one pending payment, nothing charged, the key processing"

# --- 5, continued: the provider is back --------------------------------------
stop_server
export ONCESHOP_PROVIDER_URL= ONCESHOP_IDEMPOTENCY_TTL=
start_server
pay down-1 "$o" tok_ok
is "$STATUS $(header Idempotent-Replayed) $(header Location)" "201  /payments/$p" \
	"the provider back, a retry with the same key resumes and succeeds: 201, payment $p"
first=$BODY
is "$(payment_facts "$o" down-1)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... one charge; the payment succeeded, the order is paid, the key completed"
pay down-1 "$o" tok_ok
is "$STATUS $(header Idempotent-Replayed) $BODY" "201 true $first" "... and is replayed from now on"

is "$(sql "SELECT count(*) FROM idempotency_keys WHERE status = 'processing'")" 0 "no key is left processing"
is "$(sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM charges") $(sql "SELECT count(*) FROM orders WHERE status = 'paid'")" \
	"6 6" "six orders paid, six charges in the whole ledger"
integrity_ok
done_testing
