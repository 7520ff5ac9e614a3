#!/usr/bin/env bash
# The foundation: health, catalogue, auth, routing errors, the HTTP layer,
# static pages, and the same binary answering as plain CGI.
. "$(dirname "$0")/lib.sh"
start_server

req GET /health
is "$STATUS $(json .status)" "200 ok" "GET /health answers 200 ok"
is "$(header Cache-Control)" "no-store" "API responses carry Cache-Control: no-store"
is "$(header Content-Type)" "application/json" "... and are JSON"

req GET /products
is "$STATUS" 200 "GET /products needs no token"
is "$(json '.products | length')" 6 "the demo catalogue has six products"
is "$(json '.products[] | select(.sku == "CUP-LIMITED") | "\(.price) \(.stock)"')" \
	"4800 5" "a product has price and stock (CUP-LIMITED: 4800 yen, 5 left)"
is "$(json '[.products[] | keys | join(",")] | unique | .[]')" \
	"name,price,sku,stock" "every product has exactly sku, name, price, stock"

# --- authentication ---
req GET /orders
problem 401 unauthorized "GET /orders without a token is 401"
like "$(header WWW-Authenticate)" '^Bearer' "... with WWW-Authenticate: Bearer"
req GET /orders -H 'Authorization: Bearer wrong-token'
problem 401 unauthorized "a wrong token is 401"
req GET /orders -H 'Authorization: Basic YWxpY2U6eA=='
problem 401 unauthorized "a Basic credential is 401"
req GET /orders -H "Authorization: Bearer "
problem 401 unauthorized "an empty bearer token is 401"
req GET /orders -H "$ALICE"
is "$STATUS $(json '.orders | length')" "200 0" "alice's orders: none yet"
req GET /orders -H 'authorization: bearer alice-token'
is "$STATUS" 200 "the scheme name is case-insensitive"

# A token found is trusted for ONCESHOP_TOKEN_CACHE_MS (1 s) without a
# look-up: one deleted from the database is refused within that.
hash=$(printf %s temp-token | sha256sum | cut -c1-64)
sql "INSERT INTO api_tokens (token_sha256, user_id, created_at)
	SELECT '$hash', id, '2026-01-01T00:00:00Z' FROM users WHERE name = 'alice'" >/dev/null
# tokens FILE: 40 GET /orders at once with the token, their statuses in FILE.
tokens() {
	local i pids=()
	for i in $(seq 40); do
		curl -s -o /dev/null -w '%{http_code}\n' -H 'Authorization: Bearer temp-token' \
			"$BASE/orders" >"$1.$i" & pids+=($!)
	done
	wait "${pids[@]}"
	cat "$1".* >"$1"
}
tokens "$TMP/token-before"
is "$(sort -u "$TMP/token-before")" 200 "a new token works at once (40 requests at once, on many threads)"
sql "DELETE FROM api_tokens WHERE token_sha256 = '$hash'" >/dev/null
sleep 1.2
tokens "$TMP/token-after"
is "$(sort -u "$TMP/token-after")" 401 "... and once deleted, is refused by every thread after ONCESHOP_TOKEN_CACHE_MS"

# --- GET /orders ?limit= ---
for limit in 0 1001 abc -1 '10x' ''; do
	req GET "/orders?limit=$limit" -H "$ALICE"
	problem 400 invalid-parameter "GET /orders?limit=$limit is 400"
done
req GET '/orders?limit=1000' -H "$ALICE"
is "$STATUS" 200 "limit=1000 is allowed"

# --- routing ---
req GET /nope -H "$ALICE"
problem 404 not-found "an unknown path is 404 problem+json"
is "$(json .title)" "Not found" "... with a title"
like "$(json .detail)" "/nope" "... and a detail naming the path"
req GET /orders/ -H "$ALICE"
problem 404 not-found "/orders/ (empty id) is 404"
req GET /orders/abc -H "$ALICE"
problem 404 not-found "/orders/abc is 404"
req GET /orders/0 -H "$ALICE"
problem 404 not-found "/orders/0 is 404"
req GET /orders/99 -H "$ALICE"
problem 404 order-not-found "an order that does not exist is 404"
req GET /orders/1234567890123456789012 -H "$ALICE"
problem 404 not-found "an id too long to be one is 404"

req DELETE /orders -H "$ALICE"
problem 405 method-not-allowed "DELETE /orders is 405"
is "$(header Allow)" "GET, HEAD, POST, OPTIONS" "... with Allow: GET, HEAD, POST, OPTIONS"
req PUT /products
problem 405 method-not-allowed "PUT /products is 405"
is "$(header Allow)" "GET, HEAD, OPTIONS" "... with Allow: GET, HEAD, OPTIONS"
req GET /payments/confirm -H "$ALICE"
problem 405 method-not-allowed "GET /payments/confirm is 405"
is "$(header Allow)" "POST, OPTIONS" "... with Allow: POST, OPTIONS"
req POST /health -H "$JSON" -d '{}'
is "$STATUS $(header Allow)" "405 GET, HEAD, OPTIONS" "POST /health is 405"

# --- static pages ---
req GET /
is "$STATUS" 200 "the demo page is served at /"
like "$(header Content-Type)" "^text/html" "... as HTML"
for p in out-of-stock idempotency-key-reused not-found unauthorized; do
	req GET "/problems/$p"
	is "$STATUS" 200 "/problems/$p explains the problem type"
done

# --- the log: one logfmt line per request ---
like "$(grep -c 'onceshop: method=GET path=/health' "$TMP/error.log")" '^[1-9]' \
	"every request is logged in lighttpd's error log"

# --- plain CGI: the same binary, one request, no FastCGI socket ---
cgi() {
	env -i ONCESHOP_DB="$ONCESHOP_DB" ONCESHOP_DATABASE_URL="$ONCESHOP_DATABASE_URL" REQUEST_METHOD="$1" PATH_INFO="$2" \
		HTTP_AUTHORIZATION="${3:-}" QUERY_STRING="" "$BIN" </dev/null 2>/dev/null | tr -d '\r'
}
out=$(cgi GET /health)
like "$out" '^Status: 200 OK' "CGI: GET /health is Status: 200"
like "$out" '"status": "ok"' "CGI: ... with the JSON body"
out=$(cgi GET /orders)
like "$out" '^Status: 401' "CGI: GET /orders without a token is 401"
out=$(cgi GET /orders 'Bearer bob-token')
like "$out" '^Status: 200' "CGI: GET /orders as bob is 200"
out=$(env -i ONCESHOP_DB="$ONCESHOP_DB" ONCESHOP_DATABASE_URL="$ONCESHOP_DATABASE_URL" REQUEST_METHOD=POST PATH_INFO=/orders \
	HTTP_AUTHORIZATION='Bearer bob-token' HTTP_IDEMPOTENCY_KEY=cgi-1 \
	CONTENT_TYPE=application/json CONTENT_LENGTH=45 "$BIN" 2>/dev/null \
	<<<'{"items":[{"sku":"MUG-KYOTO","quantity":1}]}' | tr -d '\r')
like "$out" $'^Status: 201 Created\n' "CGI: POST /orders creates an order"
like "$out" $'\nLocation: /orders/[0-9]+\n' "CGI: ... with a Location"
is "$(sql "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE u.name = 'bob'")" 1 \
	"CGI: ... written to the database"
# An answer that cannot be written (here: to a full disk) is logged so:
# it was stored all the same, and a retry with the key gets it.
err=$(env -i ONCESHOP_DB="$ONCESHOP_DB" ONCESHOP_DATABASE_URL="$ONCESHOP_DATABASE_URL" REQUEST_METHOD=POST PATH_INFO=/orders \
	HTTP_AUTHORIZATION='Bearer bob-token' HTTP_IDEMPOTENCY_KEY=cgi-unsent \
	CONTENT_TYPE=application/json CONTENT_LENGTH=45 "$BIN" 2>&1 >/dev/full \
	<<<'{"items":[{"sku":"MUG-KYOTO","quantity":1}]}')
like "$err" 'key=cgi-unsent outcome=new stored=yes.* status=201 sent=no' \
	"CGI: a 201 that could not be written is logged stored=yes ... sent=no"
req POST /orders -H "$BOB" -H "$JSON" -H 'Idempotency-Key: cgi-unsent' -d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
is "$STATUS $(header Idempotent-Replayed)" "201 true" "... and its retry gets the stored 201"

# --- a database that cannot be opened is a 500, not a crash ---
out=$(env -i ONCESHOP_DB=/nonexistent/x.db REQUEST_METHOD=GET PATH_INFO=/products "$BIN" 2>/dev/null | tr -d '\r')
like "$out" '^Status: 500' "a database that cannot be opened gives 500"
like "$out" 'problem\+json' "... as a problem"

done_testing
