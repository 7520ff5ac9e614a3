#!/usr/bin/env bash
# paysim, the payment-provider simulator lighttpd serves under /paysim/:
# one charge per Idempotency-Key, replays, the test cards (declined, slow,
# lost, flaky), twenty concurrent copies, and the ledger that counts the
# charges — with onceshop beside it, unaffected.
PAYSIM_SLOW_MS=1000
PAYSIM_LOST_MS=2500
. "$(dirname "$0")/lib.sh"
start_server

SECRET='Authorization: Bearer paysim-secret'

# charge KEY CARD REFERENCE [curl options...]: POST /paysim/v1/charges
# with the shared secret (or AUTH), 1200 yen; sets STATUS, BODY, HEADERS
# and MS, the milliseconds it took.
charge() {
	local key=$1 card=$2 ref=$3 start
	shift 3
	start=$(date +%s%N)
	req POST /paysim/v1/charges -H "${AUTH:-$SECRET}" -H "$JSON" -H "Idempotency-Key: $key" "$@" \
		-d "{\"amount\":1200,\"currency\":\"JPY\",\"card\":\"$card\",\"reference\":\"$ref\"}"
	MS=$((($(date +%s%N) - start) / 1000000))
}
# charges REFERENCE: the charges paysim's database holds for it.
charges() { sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM charges WHERE reference = '$1'"; }
# ledger REFERENCE: the ids GET /paysim/v1/charges?reference= shows.
ledger() {
	req GET /paysim/v1/charges -G --data-urlencode "reference=$1" -H "$SECRET"
	json '[.charges[].id] | join(",")'
}
# stored KEY: paysim's stored keys called KEY.
stored() { sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM idempotency_keys WHERE idem_key = '$1'"; }

# --- the program and its routes ---
like "$("$PAYSIM_BIN" --version)" '^paysim [0-9]+\.[0-9]+\.[0-9]+$' "paysim --version"
req GET /paysim/health
is "$STATUS $(json .status)" "200 ok" "GET /paysim/health is public"
like "$(grep -c 'paysim: method=GET path=/paysim/health' "$TMP/error.log")" '^[1-9]' \
	"... and answered by paysim, which logs whole paths"
req GET /products
is "$STATUS $(json '.products | length')" "200 6" "onceshop's GET /products is unaffected"
req GET /paysim/nope
problem 404 not-found "an unknown /paysim/ path is paysim's 404"
req OPTIONS /paysim/v1/charges
is "$STATUS $(header Allow)" "204 GET, HEAD, POST, OPTIONS" "OPTIONS /paysim/v1/charges lists its methods"
req DELETE /paysim/v1/charges -H "$SECRET"
problem 405 method-not-allowed "DELETE is paysim's 405"

# --- the shared secret ---
AUTH='Authorization: Bearer wrong' charge c-auth tok_ok r-auth
problem 401 unauthorized "a wrong secret is 401"
is "$(header WWW-Authenticate)" 'Bearer realm="paysim"' "... in paysim's realm"
like "$(json .detail)" "PAYSIM_SECRET" "... and the detail names the shared secret"
AUTH=$ALICE charge c-auth tok_ok r-auth
problem 401 unauthorized "a shop user's token means nothing to paysim"
req GET /paysim/v1/charges
problem 401 unauthorized "the ledger needs the secret too"
is "$(charges r-auth)" 0 "... and nothing was charged"
is "$(sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM api_tokens WHERE token_sha256 = '$(printf %s paysim-secret | sha256sum | cut -c1-64)'")" 1 \
	"paysim init stored the secret's SHA-256 ..."
is "$(sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM api_tokens WHERE token_sha256 = 'paysim-secret'")" 0 "... never the secret"

# --- tok_ok: a charge, then replays ---
charge c-ok tok_ok r-ok
is "$STATUS $(header Idempotent-Replayed)" "201 " "tok_ok is charged: 201"
is "$(json '"\(.status) \(.amount) \(.currency) \(.card) \(.reference)"')" \
	"succeeded 1200 JPY tok_ok r-ok" "... succeeded, with amount, currency, card and reference"
like "$(json .id)" '^ch_[0-9]+$' "... and an id ch_<n>"
like "$(json .created_at)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' \
	"... created_at is RFC 3339 UTC"
ok_id=$(json .id)
ok_body=$BODY
is "$(ledger r-ok)" "$ok_id" "the ledger for its reference shows that one charge"
charge c-ok tok_ok r-ok
is "$STATUS $(header Idempotent-Replayed)" "201 true" "the same key again is a replay"
is "$BODY" "$ok_body" "... with the same body, byte for byte"
is "$(charges r-ok)" 1 "... and no second charge"
req POST /paysim/v1/charges -H "$SECRET" -H "$JSON" -H 'Idempotency-Key: "c-ok"' \
	-d '{ "reference": "r-ok", "card": "tok_ok", "currency": "JPY", "amount": 1200 }'
is "$STATUS $(header Idempotent-Replayed)" "201 true" "reordered members, a quoted key: the same request"
req POST /paysim/v1/charges -H "$SECRET" -H "$JSON" -H 'Idempotency-Key: c-ok' \
	-d '{"amount":1300,"currency":"JPY","card":"tok_ok","reference":"r-ok"}'
problem 422 idempotency-key-reused "the same key with another amount is 422"
is "$(charges r-ok)" 1 "... and charges nothing"
is "$(sqlite3 "$PAYSIM_DB" "SELECT operation || ' ' || status || ' ' || response_status FROM idempotency_keys WHERE idem_key = 'c-ok'")" \
	"create-charge completed 201" "paysim stores the key under its operation, create-charge"

# --- requests refused before the key is used ---
req POST /paysim/v1/charges -H "$SECRET" -H "$JSON" \
	-d '{"amount":1200,"currency":"JPY","card":"tok_ok","reference":"r-bad"}'
problem 400 idempotency-key-missing "no Idempotency-Key is 400"
for b in '{"amount":0,"currency":"JPY","card":"tok_ok","reference":"r-bad"}' \
	'{"amount":1000000000000000,"currency":"JPY","card":"tok_ok","reference":"r-bad"}' \
	'{"amount":"1200","currency":"JPY","card":"tok_ok","reference":"r-bad"}' \
	'{"amount":1200,"currency":"","card":"tok_ok","reference":"r-bad"}' \
	'{"amount":1200,"currency":"JPYJPYJPY","card":"tok_ok","reference":"r-bad"}' \
	"{\"amount\":1200,\"currency\":\"JPY\",\"card\":\"tok_$(printf 'x%.0s' {1..29})\",\"reference\":\"r-bad\"}" \
	"{\"amount\":1200,\"currency\":\"JPY\",\"card\":\"tok_ok\",\"reference\":\"$(printf 'r%.0s' {1..65})\"}" \
	'{"amount":1200,"currency":"JPY","card":"tok_ok"}' \
	'{"amount":1200,"currency":"JPY","card":"tok_ok","reference":"r-bad","cvc":"123"}'; do
	req POST /paysim/v1/charges -H "$SECRET" -H "$JSON" -H 'Idempotency-Key: c-bad' -d "$b"
	problem 400 invalid-body "a body out of bounds (${b:0:50}) is 400"
done
is "$(charges r-bad) $(stored c-bad)" "0 0" "... none charged or used the key"

# --- tok_declined, and cards paysim does not know: a stored 402 ---
charge c-declined tok_declined r-declined
problem 402 card-declined "tok_declined is 402 card-declined"
like "$(json .detail)" "Nothing was charged" "... and says nothing was charged"
declined_body=$BODY
charge c-declined tok_declined r-declined
is "$STATUS $(header Idempotent-Replayed)" "402 true" "... stored and replayed"
is "$BODY" "$declined_body" "... byte for byte"
charge c-unknown tok_nope r-declined
problem 402 card-declined "an unknown card is declined too"
like "$(json .detail)" 'tok_nope.*tok_ok, tok_declined, tok_slow, tok_lost and tok_flaky' \
	"... and the detail names the test cards"
is "$(charges r-declined) $(ledger r-declined)" "0 " "no declined card was charged"

# --- tok_slow: the answer comes PAYSIM_SLOW_MS after the commit ---
charge c-slow tok_slow r-slow
is "$STATUS $(json .card)" "201 tok_slow" "tok_slow is charged: 201"
[ "$MS" -ge 1000 ] && pass "... after PAYSIM_SLOW_MS (${MS} ms >= 1000)" ||
	fail "... after PAYSIM_SLOW_MS" "took ${MS} ms"
slow_body=$BODY
charge c-slow tok_slow r-slow
is "$STATUS $(header Idempotent-Replayed)" "201 true" "its replay ..."
[ "$MS" -lt 1000 ] && pass "... is answered at once (${MS} ms): replays are never held" ||
	fail "... is answered at once" "took ${MS} ms"
is "$BODY $(charges r-slow)" "$slow_body 1" "... the same body, one charge"

# A copy sent while the first one's answer is held: the charge is already
# committed, so the copy gets it as a replay, before the first one does.
start=$(date +%s%N)
curl -s -o "$TMP/slow2.body" -w '%{http_code}' -X POST "$BASE/paysim/v1/charges" \
	-H "$SECRET" -H "$JSON" -H 'Idempotency-Key: c-slow-2' \
	-d '{"amount":1200,"currency":"JPY","card":"tok_slow","reference":"r-slow-2"}' \
	> "$TMP/slow2.status" &
slow_pid=$!
for _ in $(seq 200); do [ "$(charges r-slow-2)" = 1 ] && break; sleep 0.01; done
charge c-slow-2 tok_slow r-slow-2
copy_ms=$MS
is "$STATUS $(header Idempotent-Replayed)" "201 true" "a copy sent while the answer is held gets the committed charge, replayed"
wait "$slow_pid"
first_ms=$((($(date +%s%N) - start) / 1000000))
[ "$copy_ms" -lt "$first_ms" ] && [ "$first_ms" -ge 1000 ] &&
	pass "... at once (${copy_ms} ms), while the first one waits (${first_ms} ms)" ||
	fail "... at once, while the first one waits" "copy ${copy_ms} ms, first ${first_ms} ms"
is "$(cat "$TMP/slow2.status") $(charges r-slow-2)" "201 1" "the first one gets its 201 too; one charge"
is "$(cat "$TMP/slow2.body")" "$BODY" "... and both have the same body"

# --- tok_lost: charged, but the answer comes after the caller gave up ---
charge c-lost tok_lost r-lost --max-time 1
is "$STATUS" 000 "tok_lost: a caller that waits 1 s (PAYSIM_LOST_MS is 2.5 s) gets no answer"
is "$(charges r-lost)" 1 "... yet the ledger's database holds the charge"
lost_id=$(ledger r-lost)
like "$lost_id" '^ch_[0-9]+$' "... and GET /paysim/v1/charges?reference= shows it"
charge c-lost tok_lost r-lost --max-time 2
is "$STATUS $(header Idempotent-Replayed) $(json .id)" "201 true $lost_id" \
	"the retry with the same key replays the 201 of that charge ..."
[ "$MS" -lt 1000 ] && pass "... at once (${MS} ms)" || fail "... at once" "took ${MS} ms"
is "$(charges r-lost)" 1 "... and charges nothing again"

# --- tok_flaky: a 500 on the first attempt under a key, then success ---
charge c-flaky tok_flaky r-flaky
problem 500 internal-error "tok_flaky's first attempt is 500"
like "$(json .detail)" "nothing was charged.*same key" "... which says nothing was charged, retry with the same key"
is "$(charges r-flaky) $(stored c-flaky)" "0 0" "... charged nothing, stored nothing"
charge c-flaky tok_flaky r-flaky
is "$STATUS $(header Idempotent-Replayed) $(json .card)" "201  tok_flaky" "the retry with the same key is charged: 201, not a replay"
flaky_body=$BODY
charge c-flaky tok_flaky r-flaky
is "$STATUS $(header Idempotent-Replayed)" "201 true" "a third attempt replays it"
is "$BODY $(charges r-flaky)" "$flaky_body 1" "... the same body, exactly one charge"
charge c-flaky-2 tok_flaky r-flaky
is "$STATUS" 500 "another key's first attempt fails again"

# --- twenty concurrent copies: one charge, one answer ---
mkdir "$TMP/burst"
pids=()
for i in $(seq 20); do
	curl -s -o "$TMP/burst/$i.body" -w '%{http_code}\n' -X POST "$BASE/paysim/v1/charges" \
		-H "$SECRET" -H "$JSON" -H 'Idempotency-Key: c-burst' \
		-d '{"amount":1200,"currency":"JPY","card":"tok_ok","reference":"r-burst"}' \
		> "$TMP/burst/$i.status" &
	pids+=($!)
done
wait "${pids[@]}"
is "$(cat "$TMP"/burst/*.status | sort | uniq -c | awk '{ print $1, $2 }')" "20 201" \
	"20 concurrent copies under one key: twenty 201s"
is "$(md5sum "$TMP"/burst/*.body | cut -d' ' -f1 | sort -u | wc -l)" 1 "... with identical bodies"
is "$(charges r-burst)" 1 "... and exactly one charge"

# --- the ledger ---
req POST /paysim/v1/charges -H "$SECRET" -H "$JSON" -H 'Idempotency-Key: c-odd' \
	-d '{"amount":5,"currency":"JPY","card":"tok_ok","reference":"pay 7/ü&x"}'
is "$STATUS" 201 "a reference with a space, a slash, UTF-8 and & ..."
is "$(ledger 'pay 7/ü&x')" "$(json .id)" "... is found percent-encoded"
req GET /paysim/v1/charges -H "$SECRET"
is "$(json '.charges | length')" "$(sqlite3 "$PAYSIM_DB" 'SELECT count(*) FROM charges')" \
	"without reference the ledger shows every charge"
is "$(json '[.charges[].id | ltrimstr("ch_") | tonumber] | . == sort')" true "... oldest first"
# (lighttpd itself refuses control characters in the query, and passes
# a stray % on as %25; tests/unit/serve.c has those cases.)
for q in 'reference=' "reference=$(printf 'r%.0s' {1..65})"; do
	req GET "/paysim/v1/charges?$q" -H "$SECRET"
	problem 400 invalid-parameter "?${q:0:20} (empty, or over 64 characters) is 400"
done

# --- onceshop, beside it ---
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: o-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
is "$STATUS" 201 "onceshop still takes orders"
req POST /orders -H 'Authorization: Bearer paysim-secret' -H "$JSON" -H 'Idempotency-Key: o-2' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
is "$STATUS $(header WWW-Authenticate)" '401 Bearer realm="onceshop"' "paysim's secret means nothing to onceshop"
is "$(grep -c '^onceshop: .*path=/paysim' "$TMP/error.log")" 0 "no /paysim/ request reached onceshop"
is "$(sql 'SELECT count(*) FROM idempotency_keys') $(sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM idempotency_keys WHERE idem_key LIKE 'o-%'")" \
	"1 0" "each program keeps its keys in its own database"

# --- paysim init: again, and with another secret ---
is "$("$PAYSIM_BIN" init)" "" "paysim init again applies nothing"
PAYSIM_SECRET=other-secret "$PAYSIM_BIN" init
charge c-new tok_ok r-new
is "$STATUS" 401 "after init with another PAYSIM_SECRET the old one is refused"
AUTH='Authorization: Bearer other-secret' charge c-new tok_ok r-new
is "$STATUS" 201 "... and the new one charges"
is "$(sqlite3 "$PAYSIM_DB" "SELECT count(*) FROM users; SELECT count(*) FROM api_tokens")" "1
1" "... still one merchant with one token"
PAYSIM_SLOW_MS=soon "$PAYSIM_BIN" init 2>"$TMP/err"
is "$? $(cat "$TMP/err")" "1 paysim: PAYSIM_SLOW_MS must be 0 to 600000 ms" \
	"a bad PAYSIM_SLOW_MS is refused with a message"
PAYSIM_SECRET='has space' "$PAYSIM_BIN" init 2>/dev/null
is "$?" 1 "a PAYSIM_SECRET with a space is refused"
is "$(sqlite3 "$PAYSIM_DB" 'PRAGMA integrity_check')" ok "paysim's PRAGMA integrity_check is ok"

done_testing
