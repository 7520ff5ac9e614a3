#!/usr/bin/env bash
# www/openapi.json, the OpenAPI 3.1 document, is valid (redocly lint, with
# tests/openapi/redocly.yaml), matches the code (every problem type of the
# registry and of lighttpd's www/errors/ with its exact title and status;
# every route of app/router.c and app/paysim.c; each problem answered only
# with its own status), and matches a live server: lighttpd serves it, each
# documented path's OPTIONS says the documented methods, and a
# representative set of real answers — successes, replays, refusals of
# onceshop, paysim and lighttpd — is each a documented status with its
# documented headers and a body of the documented schema
# (tests/openapi/check.js).
PAYSIM_SLOW_MS=200
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
# paysim shares the registry; if it lists its own one day, use that too.
"$PAYSIM_BIN" problems >>"$TMP/problems" 2>/dev/null || true
sort -u -o "$TMP/problems" "$TMP/problems"
checks < <(node "$CHECK" registry "$DOC" "$TMP/problems" "$ROOT/www/errors" \
	"$ROOT/app/router.c" "$ROOT/app/paysim.c")

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

# answer NOTE METHOD PATH [curl options...]: req, then records the answer
# for check.js (NOTE says what the request is, for the TAP line). A HEAD
# (curl --head) reads no body: api-headers.t checks there is none.
: >"$TMP/answers"
answer() {
	local note=$1
	shift
	req "$@"
	[ "$1" = HEAD ] && : >"$TMP/body"
	jq -nc --arg note "$note" --arg method "$1" --arg path "${2%%\?*}" --arg status "$STATUS" \
		--rawfile headers "$TMP/headers" --rawfile body "$TMP/body" \
		'{note: $note, method: $method, path: $path, status: ($status | tonumber), body: $body,
		  headers: ($headers | split("\r\n") | map(select(test("^[A-Za-z-]+:")))
			| map(capture("^(?<k>[^:]+):[ ]*(?<v>.*)$")) | map({key: (.k | ascii_downcase), value: .v})
			| from_entries)}' >>"$TMP/answers"
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

# POST /payments/confirm.
pay() { answer "$1" POST /payments/confirm -H "$ALICE" -H "$JSON" "${@:2}"; }
pay "not your order" -H 'Idempotency-Key: p-0' -d '{"order_id":999,"amount":1,"currency":"JPY"}'
pay "wrong amount" -H 'Idempotency-Key: p-1' -d "{\"order_id\":$order,\"amount\":1,\"currency\":\"JPY\"}"
pay "new" -H 'Idempotency-Key: p-2' -d "{\"order_id\":$order,\"amount\":$total,\"currency\":\"JPY\"}"
pay "replay" -H 'Idempotency-Key: p-2' -d "{\"order_id\":$order,\"amount\":$total,\"currency\":\"JPY\"}"
pay "paid already" -H 'Idempotency-Key: p-3' -d "{\"order_id\":$order,\"amount\":$total,\"currency\":\"JPY\"}"
answer "paid" GET "/orders/$order" -H "$ALICE"
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
charge "slow" c-4 tok_slow
answer "" GET '/paysim/v1/charges?reference=r-c-1' -H "$SECRET"
answer "" HEAD '/paysim/v1/charges?reference=r-c-1' --head -H "$SECRET"
answer "empty reference" GET '/paysim/v1/charges?reference=' -H "$SECRET"

checks < <(node "$CHECK" live "$DOC" "$TMP/answers")

# Which documented statuses this run saw, per operation: a note, not a test.
echo "# statuses seen: $(jq -rs 'map("\(.method) \(.path | gsub("/[0-9]+"; "/{id}")) \(.status)") | unique | join("; ")' "$TMP/answers")"

done_testing
