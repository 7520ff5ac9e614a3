#!/usr/bin/env bash
# A payment whose onceshop process is SIGKILLed while the provider is
# charging it: the key stays processing under a lease that nobody renews.
# Once the lease runs out the payment is finished — by the client's retry
# with the same key, by `onceshop complete`, or by the server's completer
# with no client at all — and the provider charges it exactly once.
. "$(dirname "$0")/lib.sh"

# The shop waits up to 3 s for the provider (a lease of 5 s); tok_slow
# charges at once and answers 1.5 s later: the window in which the worker
# is killed. No completer at first: only the retry, or `onceshop complete`,
# may finish a payment.
export ONCESHOP_PROVIDER_TIMEOUT_MS=3000 PAYSIM_SLOW_MS=1500 ONCESHOP_COMPLETER_MS=0
LEASE=5
start_server

orders=0
new_order() { # sets ORDER: alice's new order of one BISCUIT-SEMBEI, 600 yen
	orders=$((orders + 1))
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: order-$orders" \
		-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
	ORDER=$(json .id)
	[ "$STATUS $(json .total)" = "201 600" ] || fail "order-$orders could not be made" "got: $STATUS $BODY"
}
pay_body() { printf '{"order_id":%s,"amount":600,"currency":"JPY","card":"tok_slow"}' "$1"; }
pay() { # pay KEY ORDER: POST /payments/confirm as alice, tok_slow
	req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" \
		--max-time 20 -d "$(pay_body "$2")"
}
key_col() { # key_col KEY COLUMN: a column of alice's confirm-payment KEY
	sql "SELECT $2 FROM idempotency_keys WHERE operation = 'confirm-payment' AND idem_key = '$1'"
}
now_utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }

# kill_mid_call KEY ORDER: sends the payment in the background, waits until
# the provider has charged it (it answers PAYSIM_SLOW_MS later), SIGKILLs
# every onceshop process of this server, and sets P to the payment's id.
kill_mid_call() {
	local key=$1 order=$2 victims alive pid deadline=$((SECONDS + 10)) charged=
	curl -s --max-time 20 -o "$TMP/$key.body" -w '%{http_code}\n' -X POST "$BASE/payments/confirm" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: $key" -d "$(pay_body "$order")" \
		> "$TMP/$key.status" &
	client=$!
	P=
	while [ "$SECONDS" -lt "$deadline" ]; do
		[ -n "$P" ] || P=$(sql "SELECT id FROM payments WHERE order_id = $order")
		[ -n "$P" ] && charged=$(sqlite3 "$PAYSIM_DB" \
			"SELECT count(*) FROM charges WHERE reference = 'payment-$P'" 2>/dev/null)
		[ "${charged:-0}" -ge 1 ] && break
		sleep 0.02
	done
	victims=$(workers | xargs)
	kill -KILL $victims 2>/dev/null
	wait "$client"
	alive=
	for pid in $(workers); do [[ " $victims " == *" $pid "* ]] && alive+=" $pid"; done
	echo "# $key: the client got $(cat "$TMP/$key.status") when its worker died"
	[ "${charged:-0}" -ge 1 ] && [ -n "$victims" ] && [ -z "$alive" ] &&
		pass "$key: the onceshop process ($victims) is SIGKILLed while the provider holds payment $P's answer" ||
		fail "$key: the onceshop process is SIGKILLed while the provider holds the answer" \
			"payment: '$P', charges: '$charged', killed: '$victims', still alive: '$alive'"
}
# wait_for_worker: lighttpd starts a new onceshop when a request comes; if it
# does not, the server is started again on the same databases.
wait_for_worker() {
	local _
	for _ in $(seq 50); do
		curl -sf --max-time 2 -o /dev/null "$BASE/health" && return 0
		sleep 0.1
	done
	echo "# the server did not recover by itself: restarting it"
	stop_server
	start_server
}

# --- 7. killed at the provider; the client's retry finishes it --------------
new_order
o=$ORDER
kill_mid_call crash-retry "$o"
is "$(payment_facts "$o" crash-retry)" "charges=1 payments=pending order=pending key=processing/payment-created" \
	"... it left a charge, a pending payment and the key processing at payment-created"
wait_for_worker
pay crash-retry "$o"
problem 409 idempotency-key-in-progress "a retry while the dead worker's lease lasts is 409 idempotency-key-in-progress"
ra=$(header Retry-After)
[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && [ "$ra" -le "$LEASE" ] &&
	pass "... with Retry-After $ra (1 to $LEASE s: what is left of the lease)" ||
	fail "... with Retry-After of 1 to $LEASE s" "got: '$ra'"
lease=$(key_col crash-retry lease_until)
deadline=$((SECONDS + 15)) tries=0
while [ "$STATUS" = 409 ] && [ "$SECONDS" -lt "$deadline" ]; do
	sleep "$(header Retry-After)"
	pay crash-retry "$o"
	tries=$((tries + 1))
done
is "$STATUS $(header Idempotent-Replayed) $(header Location)" "201  /payments/$P" \
	"after Retry-After, the retry takes the lease over and resumes: 201, payment $P ($tries retries)"
is "$(payment_facts "$o" crash-retry)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... still one charge; the payment succeeded, the order is paid, the key completed"
like "$(sql "SELECT count(*) FROM payments WHERE id = $P AND updated_at >= '$lease'")" '^1$' \
	"... and not before the lease ($lease) ran out"
first=$BODY
pay crash-retry "$o"
is "$STATUS $(header Idempotent-Replayed) $BODY" "201 true $first" "... then it is replayed"

# --- 8. killed at the provider; onceshop complete finishes it ---------------
new_order
o=$ORDER
kill_mid_call crash-cli "$o"
# No request reaches the shop from here on, so no new worker starts.
complete() { ONCESHOP_PROVIDER_URL=$BASE/paysim "$BIN" complete 2>>"$TMP/complete.log"; }
lease=$(key_col crash-cli lease_until)
out=$(complete)
if [[ $(now_utc) < $lease ]]; then
	is "$out" "resumed 0 processing keys: 0 completed, 0 still processing" \
		"onceshop complete leaves a key alone while its lease ($lease) lasts"
else
	pass "# SKIP the lease ran out before onceshop complete could be run"
fi
is "$(payment_facts "$o" crash-cli)" "charges=1 payments=pending order=pending key=processing/payment-created" \
	"... still a charge, a pending payment, the key processing at payment-created"
deadline=$((SECONDS + 15))
until [[ ! $(now_utc) < $lease ]] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
out=$(complete)
rc=$?
is "$out (exit $rc)" "resumed 1 processing keys: 1 completed, 0 still processing (exit 0)" \
	"once the lease has run out, onceshop complete resumes the key and completes it"
is "$(grep -cE 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/complete.log")" 0 \
	"... with no sanitizer report from onceshop complete"
is "$(payment_facts "$o" crash-cli) $(key_col crash-cli response_status)" \
	"charges=1 payments=succeeded order=paid key=completed/finished 201" \
	"... one charge; the payment succeeded, the order is paid, the key completed with 201"
wait_for_worker
pay crash-cli "$o"
is "$STATUS $(header Idempotent-Replayed) $(header Location) $(json .status)" \
	"201 true /payments/$P succeeded" "the client's retry is a replay of that 201"
is "$(payment_facts "$o" crash-cli)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... and charges nothing"

# --- 9. killed at the provider; the server's completer finishes it --------
stop_server
export ONCESHOP_COMPLETER_MS=500
start_server
new_order
o=$ORDER
kill_mid_call crash-alone "$o"
lease=$(key_col crash-alone lease_until)
# Nothing is sent for the key; GETs of the payment (which also make
# lighttpd start a new worker) watch it.
started=$SECONDS deadline=$((SECONDS + 15))
while [ "$SECONDS" -lt "$deadline" ]; do
	req GET "/payments/$P" -H "$ALICE" --max-time 2
	[ "$STATUS $(json .status 2>/dev/null)" = "200 succeeded" ] && break
	sleep 0.3
done
is "$STATUS $(json .status 2>/dev/null)" "200 succeeded" \
	"with no client, the completer finishes the payment ($((SECONDS - started)) s after the kill)"
is "$(payment_facts "$o" crash-alone) $(key_col crash-alone response_status)" \
	"charges=1 payments=succeeded order=paid key=completed/finished 201" \
	"... one charge; the order is paid, the key completed with 201"
like "$(sql "SELECT count(*) FROM payments WHERE id = $P AND updated_at >= '$lease'")" '^1$' \
	"... not before the lease ($lease) ran out"
like "$(grep -c 'key=crash-alone outcome=resumed .*status=201' "$TMP/error.log")" '^[1-9]' \
	"... the server log shows the completer resuming it"
pay crash-alone "$o"
is "$STATUS $(header Idempotent-Replayed) $(header Location)" "201 true /payments/$P" \
	"the client coming back later gets the stored 201"

is "$(sql "SELECT count(*) FROM idempotency_keys WHERE status = 'processing'")" 0 "no key is left processing"
is "$(sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM charges") $(sql "SELECT count(*) FROM orders WHERE status = 'paid'")" \
	"3 3" "three orders paid, three charges in the whole ledger"
integrity_ok
done_testing
