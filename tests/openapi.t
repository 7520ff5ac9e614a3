#!/usr/bin/env bash
# www/openapi.json, the OpenAPI 3.1 document, is valid (redocly lint, with
# tests/openapi/redocly.yaml), matches the code (every problem type of the
# registry and of lighttpd's www/errors/ with its exact title and status;
# every route of app/shop/routes.c and app/paysim/main.c; each POST body with its
# field table's members and limits; each problem answered only with its own
# status), and matches a live server: lighttpd serves it, each
# documented path's OPTIONS says the documented methods, and a
# representative set of real answers — successes, replays, refusals of
# onceshop, paysim and lighttpd, payments declined, in progress, and a
# provider that fails or is too slow — is each a documented status with its
# documented headers and a body of the documented schema
# (tests/openapi/check.js). After changing the API, change the document.
# tok_slow answers after the shop gave up on it (lib.sh: it waits 1 s).
PAYSIM_SLOW_MS=1500
. "$(dirname "$0")/lib.sh"

DOC=$ROOT/www/openapi.json
CHECK=$ROOT/tests/openapi/check.js
REDOCLY=$ROOT/tests/node_modules/.bin/redocly
if ! command -v node >/dev/null || [ ! -x "$REDOCLY" ]; then
	echo "1..0 # SKIP node or tests/node_modules missing: make npm-deps"
	exit 0
fi

# checks LINES...: turns check.js's lines into TAP (ok, or not ok and why).
checks() {
	local line
	local -a f
	while IFS= read -r line; do
		IFS=$'\t' read -r -a f <<<"$line"
		if [ "${f[0]}" = ok ]; then pass "${f[1]}"
		else fail "${f[1]:-check.js: $line}" "${f[@]:2}"; fi
	done
}

# --- the document is valid OpenAPI 3.1 --------------------------------------

lint=$(cd "$ROOT/tests" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	NO_COLOR=1 "$REDOCLY" lint --config openapi/redocly.yaml "$DOC" 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then pass "redocly lint www/openapi.json (recommended-strict)"
else
	mapfile -t lines < <(grep -v '[║╔╚]' <<<"$lint" | grep -v '^$' | head -60)
	fail "redocly lint www/openapi.json (recommended-strict)" "${lines[@]}"
fi

# --- the document against the code ----------------------------------------

"$BIN" problems >"$TMP/problems" || echo "Bail out! $BIN problems failed"
"$PAYSIM_BIN" problems >>"$TMP/problems" || echo "Bail out! $PAYSIM_BIN problems failed"
sort -u -o "$TMP/problems" "$TMP/problems"
checks < <(node "$CHECK" registry "$DOC" "$TMP/problems" "$ROOT/www/errors" \
	"$ROOT"/app/*/*.c)

# --- the document against a live server --------------------------------------

start_server
SECRET='Authorization: Bearer paysim-secret'
mug='{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'

req GET /openapi.json
is "$STATUS $(header Content-Type)" "200 application/json" "lighttpd serves /openapi.json as application/json"
is "$(cmp -s "$TMP/body" "$DOC" && echo same)" same "... byte for byte"

# Each documented API path's OPTIONS answers the methods documented for it.
while read -r path methods; do
	req OPTIONS "${path//\{id\}/1}"
	is "$STATUS $(header Allow | tr -d ' ' | tr ',' '\n' | sort | paste -sd,)" "204 $methods" \
		"OPTIONS $path: Allow is what the document says"
done < <(jq -r '.paths | to_entries[] | select(.value.options)
	| "\(.key) \([.value | keys[] | select(test("^(get|head|post|options)$")) | ascii_upcase] | sort | join(","))"' "$DOC")

# record NOTE METHOD PATH STATUS HEADERS-FILE BODY-FILE: keeps an answer
# for check.js (NOTE says what the request was, for the TAP line).
: >"$TMP/answers"
record() {
	jq -nc --arg note "$1" --arg method "$2" --arg path "${3%%\?*}" --arg status "$4" \
		--rawfile headers "$5" --rawfile body "$6" \
		'{note: $note, method: $method, path: $path, status: ($status | tonumber), body: $body,
		  headers: ($headers | split("\r\n") | map(select(test("^[A-Za-z-]+:")))
			| map(capture("^(?<k>[^:]+):[ ]*(?<v>.*)$")) | map({key: (.k | ascii_downcase), value: .v})
			| from_entries)}' >>"$TMP/answers"
}

# answer NOTE METHOD PATH [curl options...]: req, and records its answer. A
# HEAD (curl --head) reads no body: api-headers.t checks there is none.
answer() {
	local note=$1
	shift
	req "$@"
	[ "$1" = HEAD ] && : >"$TMP/body"
	record "$note" "$1" "$2" "$STATUS" "$TMP/headers" "$TMP/body"
}

# The public and read routes.
answer "" GET /health
answer "" HEAD /health --head
answer "" GET /products
answer "" HEAD /products --head
answer "" OPTIONS /orders
answer "no token" GET /orders
answer "no token" HEAD /orders --head
answer "" GET /orders -H "$ALICE"
answer "bad limit" GET '/orders?limit=0' -H "$ALICE"
answer "" GET /idempotency-keys -H "$ALICE"
answer "unknown path" GET /nowhere
answer "DELETE" DELETE /orders -H "$ALICE"
answer "id 0" GET /orders/0 -H "$ALICE"
answer "not yours" GET /orders/999 -H "$ALICE"
answer "not yours" HEAD /orders/999 --head -H "$ALICE"
answer "static miss" GET /problems/nope
answer "" GET /problems/out-of-stock

# POST /orders: the refusals before the handler, then its answers.
post() { answer "$1" POST /orders -H "$ALICE" "${@:2}"; }
post "no key" -H "$JSON" -d "$mug"
post "malformed key" -H "$JSON" -H "Idempotency-Key: 'q'" -d "$mug"
post "not JSON" -H 'Content-Type: text/plain' -H 'Idempotency-Key: o-1' -d "$mug"
post "broken JSON" -H "$JSON" -H 'Idempotency-Key: o-1' -d '{"items":'
post "quantity 0" -H "$JSON" -H 'Idempotency-Key: o-1' -d '{"items":[{"sku":"MUG-KYOTO","quantity":0}]}'
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMP/big"
post "over 64 KiB" -H "$JSON" -H 'Idempotency-Key: o-1' --data-binary @"$TMP/big"
head -c 1048577 /dev/zero | tr '\0' ' ' >"$TMP/huge"
post "over 1 MiB, lighttpd's" -H "$JSON" -H 'Idempotency-Key: o-1' --data-binary @"$TMP/huge"
post "new" -H "$JSON" -H 'Idempotency-Key: o-1' -d "$mug"
order=$(json .id) total=$(json .total)
post "replay" -H "$JSON" -H 'Idempotency-Key: o-1' -d "$mug"
post "other body, same key" -H "$JSON" -H 'Idempotency-Key: o-1' -d '{"items":[{"sku":"MUG-KYOTO","quantity":2}]}'
post "unknown sku" -H "$JSON" -H 'Idempotency-Key: o-2' -d '{"items":[{"sku":"NOPE","quantity":1}]}'
post "out of stock" -H "$JSON" -H 'Idempotency-Key: o-3' -d '{"items":[{"sku":"MUG-KYOTO","quantity":999}]}'
post "out of stock, replayed" -H "$JSON" -H 'Idempotency-Key: o-3' -d '{"items":[{"sku":"MUG-KYOTO","quantity":999}]}'
answer "" GET "/orders/$order" -H "$ALICE"
answer "" HEAD "/orders/$order" --head -H "$ALICE"

# POST /payments/confirm, through paysim.
pay() { # pay NOTE KEY ORDER AMOUNT [CARD]
	answer "$1" POST /payments/confirm -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $2" \
		-d "{\"order_id\":$3,\"amount\":$4,\"currency\":\"JPY\"${5:+,\"card\":\"$5\"}}"
}
# new_order KEY: places a one-mug order; sets ORDER and TOTAL.
new_order() {
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" -d "$mug"
	ORDER=$(json .id) TOTAL=$(json .total)
}
pay "not your order" p-0 999 1
pay "wrong amount" p-1 "$order" 1
pay "new" p-2 "$order" "$total"
payment=$(json .id)
pay "replay" p-2 "$order" "$total"
pay "paid already" p-3 "$order" "$total"
answer "paid" GET "/orders/$order" -H "$ALICE"
answer "" GET "/payments/$payment" -H "$ALICE"
answer "" HEAD "/payments/$payment" --head -H "$ALICE"
answer "not yours" GET /payments/999 -H "$ALICE"

new_order o-10
pay "declined" p-10 "$ORDER" "$TOTAL" tok_declined
declined=$(json .payment_id)
pay "declined, replayed" p-10 "$ORDER" "$TOTAL" tok_declined
answer "failed" GET "/payments/$declined" -H "$ALICE"

# tok_flaky: paysim fails the first attempt, the shop answers 502; the
# retry with the same key resumes and pays.
new_order o-11
pay "provider failed" p-11 "$ORDER" "$TOTAL" tok_flaky
pay "provider failed, retried" p-11 "$ORDER" "$TOTAL" tok_flaky

# tok_slow answers after PAYSIM_SLOW_MS, later than the shop waits
# (ONCESHOP_PROVIDER_TIMEOUT_MS): 504. Meanwhile the key is in progress,
# and another key for the order finds its payment pending.
new_order o-12
curl -s -o "$TMP/slow.body" -D "$TMP/slow.headers" -w '%{http_code}' "$BASE/payments/confirm" \
	-H "$ALICE" -H "$JSON" -H 'Idempotency-Key: p-12' \
	-d "{\"order_id\":$ORDER,\"amount\":$TOTAL,\"currency\":\"JPY\",\"card\":\"tok_slow\"}" \
	>"$TMP/slow.status" &
slow=$!
for _ in $(seq 50); do	# until the payment is pending
	[ "$(sql "SELECT count(*) FROM payments WHERE order_id = $ORDER")" = 1 ] && break
	sleep 0.05
done
pay "same key, in progress" p-12 "$ORDER" "$TOTAL" tok_slow
answer "pending" GET "/payments/$(sql "SELECT id FROM payments WHERE order_id = $ORDER")" -H "$ALICE"
answer "" GET /idempotency-keys -H "$ALICE"
pay "another key, payment pending" p-13 "$ORDER" "$TOTAL"
wait "$slow"
record "provider too slow" POST /payments/confirm "$(cat "$TMP/slow.status")" "$TMP/slow.headers" "$TMP/slow.body"
answer "" GET /idempotency-keys -H "$ALICE"

# paysim.
charge() {
	answer "$1" POST /paysim/v1/charges -H "$SECRET" -H "$JSON" -H "Idempotency-Key: $2" \
		-d "{\"amount\":1200,\"currency\":\"JPY\",\"card\":\"$3\",\"reference\":\"r-$2\"}"
}
answer "" GET /paysim/health
answer "" OPTIONS /paysim/v1/charges
answer "no secret" POST /paysim/v1/charges -H "$JSON" -H 'Idempotency-Key: c-0' -d '{}'
charge "new" c-1 tok_ok
charge "replay" c-1 tok_ok
charge "declined" c-2 tok_declined
charge "declined, replayed" c-2 tok_declined
charge "flaky, first attempt" c-3 tok_flaky
charge "flaky, retried" c-3 tok_flaky
answer "" GET '/paysim/v1/charges?reference=r-c-1' -H "$SECRET"
answer "" HEAD '/paysim/v1/charges?reference=r-c-1' --head -H "$SECRET"
answer "empty reference" GET '/paysim/v1/charges?reference=' -H "$SECRET"

checks < <(node "$CHECK" live "$DOC" "$TMP/answers")

# The answers above are the representative set this test promises: each
# of these (method, path, status, problem type) was among them.
seen=$(jq -r '"\(.method) \(.path | gsub("/[0-9]+"; "/{id}")) \(.status)" +
	([.body | fromjson? | .type? | strings | " " + ltrimstr("/problems/")] | first // "")' \
	"$TMP/answers" | sort -u)
missing=$(comm -23 - <(echo "$seen") <<'LIST'
DELETE /orders 405 method-not-allowed
GET /health 200
GET /idempotency-keys 200
GET /nowhere 404 not-found
GET /orders 200
GET /orders 400 invalid-parameter
GET /orders 401 unauthorized
GET /orders/{id} 200
GET /orders/{id} 404 not-found
GET /orders/{id} 404 order-not-found
GET /payments/{id} 200
GET /payments/{id} 404 not-found
GET /paysim/health 200
GET /paysim/v1/charges 200
GET /paysim/v1/charges 400 invalid-parameter
GET /products 200
HEAD /health 200
OPTIONS /orders 204
POST /orders 201
POST /orders 400 idempotency-key-invalid
POST /orders 400 idempotency-key-missing
POST /orders 400 invalid-body
POST /orders 400 invalid-json
POST /orders 409 out-of-stock
POST /orders 413 payload-too-large
POST /orders 415 unsupported-media-type
POST /orders 422 idempotency-key-reused
POST /orders 422 unknown-product
POST /payments/confirm 201
POST /payments/confirm 402 payment-declined
POST /payments/confirm 404 order-not-found
POST /payments/confirm 409 idempotency-key-in-progress
POST /payments/confirm 409 order-already-paid
POST /payments/confirm 409 payment-in-progress
POST /payments/confirm 422 amount-mismatch
POST /payments/confirm 502 payment-provider-unavailable
POST /payments/confirm 504 payment-provider-unavailable
POST /paysim/v1/charges 201
POST /paysim/v1/charges 401 unauthorized
POST /paysim/v1/charges 402 card-declined
POST /paysim/v1/charges 500 internal-error
LIST
)
is "$missing" "" "the live answers cover the representative set of statuses and problem types"
echo "# seen: $(paste -sd';' <<<"$seen")"

done_testing
