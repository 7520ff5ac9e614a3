#!/usr/bin/env bash
# The completer backs off. With the provider down, ten stalled payments
# are tried one at a time, ever more rarely (2 s doubling, jittered), not
# ten every tick; each key records its attempts, when it is due next and
# why it failed; a key that can never be resumed is set aside once, with
# its reason. Once the provider is back, every payment is paid within its
# next step, exactly once.
. "$(dirname "$0")/lib.sh"
# The completer looks every half second: without a backoff that would be
# twenty attempts a second for ten keys.
export ONCESHOP_COMPLETER_MS=500
# The provider: a paysim of a second lighttpd, on a port where nothing
# answers yet.
free_port
P2=$FREE_PORT
export ONCESHOP_PROVIDER_URL=http://127.0.0.1:$P2/paysim
start_server
N=10

for i in $(seq "$N"); do
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bo-order-$i" \
		-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
	id=$(json .id) total=$(json .total)
	echo "$id" >> "$TMP/orders"
	sent=$(date +%s.%N)
	req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bo-pay-$i" \
		-d "{\"order_id\":$id,\"amount\":$total,\"currency\":\"JPY\"}"
	echo "$STATUS" >> "$TMP/first"
	# The first backoff is 1 to 2 s: retry_at, in whole seconds, is
	# never less than 1 s after the attempt (the second rounded up).
	due=$(date -d "$(sql "SELECT retry_at FROM idempotency_keys WHERE idem_key = 'bo-pay-$i'")" +%s)
	awk -v due="$due" -v sent="$sent" 'BEGIN { exit !(due - sent >= 1) }' ||
		echo "bo-pay-$i: due $due, sent $sent" >> "$TMP/early"
done
is "$(sort -u "$TMP/first")" 503 "the provider is down: $N payments are 503 payment-provider-unavailable"
is "$(cat "$TMP/early" 2>/dev/null)" "" "... each due again at least its backoff's 1 s after its attempt, not at the next whole second"
req GET /idempotency-keys -H "$ALICE"
key=$(json '[.idempotency_keys[] | select(.key == "bo-pay-1")][0]')
like "$(jq -r '"\(.status) \(.attempts)"' <<<"$key")" '^processing [12]$' \
	"GET /idempotency-keys: the key is processing, after 1 failed attempt (or 2: the completer's)"
like "$(jq -r .last_error <<<"$key")" 'could not be reached' "... why it failed"
due=$(jq -r .retry_at <<<"$key")
like "$due" '^20[0-9-]+T[0-9:]+Z$' "... and when the completer tries it again ($due)"

sleep 10
attempts() { sql "SELECT coalesce(sum(attempts), 0) - $N FROM idempotency_keys WHERE operation = 'confirm-payment'"; }
lines() { grep -c 'user=#' "$TMP/error.log"; }
for _ in 1 2 3 4 5; do	# read both between two attempts
	a=$(attempts) lines=$(lines)
	sleep 0.2
	[ "$a $lines" = "$(attempts) $(lines)" ] && break
done
verdict=$([ "$a" -ge 1 ] && [ "$a" -le 6 ] && echo backs-off || echo "$a attempts")
is "$verdict" backs-off "in 10 s down, the completer tried 1 to 6 times in all, not every tick for every key ($a)"
is "$lines" "$a" "... one log line per attempt ($lines)"
is "$(sql "SELECT count(*) FROM payments WHERE status = 'pending'")" "$N" "... the payments stay pending, nothing charged"

# A key that can never be resumed: its request no longer parses.
sql "INSERT INTO idempotency_keys (user_id, operation, idem_key, fingerprint, status,
	created_at, expires_at, recovery_point, request, lease_until)
	SELECT id, 'confirm-payment', 'broken', '$(printf '0%.0s' $(seq 64))', 'processing',
	'2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'started', 'not json',
	'2026-01-01T00:00:00Z' FROM users WHERE name = 'alice'" >/dev/null
# Another: its recovery point is one this build does not know.
sql "INSERT INTO idempotency_keys (user_id, operation, idem_key, fingerprint, status,
	created_at, expires_at, recovery_point, request, lease_until)
	SELECT id, 'confirm-payment', 'no-point', '$(printf '0%.0s' $(seq 64))', 'processing',
	'2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', 'refund-sent',
	'{\"order_id\":$(head -1 "$TMP/orders"),\"amount\":600,\"currency\":\"JPY\"}',
	'2026-01-01T00:00:00Z' FROM users WHERE name = 'alice'" >/dev/null

# The provider comes back.
start_second_host "$P2"
for _ in $(seq 60); do
	[ "$(sql "SELECT count(*) FROM payments WHERE status = 'succeeded'")" = "$N" ] && break
	sleep 0.5
done
is "$(sql "SELECT count(*) FROM payments WHERE status = 'succeeded'") $(sql "SELECT count(*) FROM orders WHERE status = 'paid'")" \
	"$N $N" "the provider back: within its next step, all $N payments succeeded by themselves, all orders paid"
charges=$(curl -s -H "Authorization: Bearer ${PAYSIM_SECRET:-paysim-secret}" "$B/paysim/v1/charges" |
	jq -r '.charges[].reference' | sort | uniq -c | awk '{print $1}' | sort -u | paste -sd' ')
refs=$(curl -s -H "Authorization: Bearer ${PAYSIM_SECRET:-paysim-secret}" "$B/paysim/v1/charges" | jq '.charges | length')
is "$refs $charges" "$N 1" "... $N charges in the provider's ledger, one per payment"
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: bo-pay-1" \
	-d "{\"order_id\":$(head -1 "$TMP/orders"),\"amount\":600,\"currency\":\"JPY\"}"
is "$STATUS $(header Idempotent-Replayed)" "201 true" "... and a client's retry gets the stored 201"

is "$(cat "$TMP"/error*.log | grep -c 'key [0-9]* (confirm-payment) set aside')" 2 \
	"the two keys that cannot be resumed are set aside, each said once"
is "$(sql "SELECT status || ' ' || retry_at FROM idempotency_keys WHERE idem_key IN ('broken', 'no-point')" | sort -u)" \
	"processing 9999-12-31T23:59:59Z" "... kept processing, with the completer never due"
like "$(sql "SELECT last_error FROM idempotency_keys WHERE idem_key = 'broken'")" 'cannot be resumed' \
	"... and why: the request does not parse"
like "$(sql "SELECT last_error FROM idempotency_keys WHERE idem_key = 'no-point'")" 'recovery point is unknown' \
	"... or the recovery point is unknown"
done_testing
