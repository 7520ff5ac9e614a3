#!/usr/bin/env bash
# HTTP details: HEAD works wherever GET does (same headers, no body);
# OPTIONS answers 204 with Allow; an "Idempotency_Key" header (underscore)
# is ignored, never read as the Idempotency-Key.
. "$(dirname "$0")/lib.sh"
start_server

mug='{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'

for path in /health /products; do
	req GET "$path"
	get_len=$(header Content-Length) get_type=$(header Content-Type)
	req HEAD "$path" --head
	is "$STATUS $(header Content-Type) $(header Content-Length)" "200 $get_type $get_len" \
		"HEAD $path: 200 with the headers of GET $path"
	is "$(curl -sI -o /dev/null -w '%{size_download}' "$BASE$path")" 0 "... and no body"
done
# lighttpd drops a HEAD's body anyway; as plain CGI onceshop must not send it.
out=$(env -i ONCESHOP_DB="$ONCESHOP_DB" ONCESHOP_DATABASE_URL="$ONCESHOP_DATABASE_URL" REQUEST_METHOD=HEAD PATH_INFO=/products "$BIN" 2>/dev/null; echo END)
like "$out" $'Content-Length: [1-9][0-9]*\r\n\r\nEND$' \
	"CGI: HEAD /products sends GET's Content-Length and nothing after the headers"
req HEAD /orders/1 --head -H "$ALICE"
is "$STATUS $(header Content-Type)" "404 application/problem+json" \
	"HEAD of a missing order is the same 404 problem as GET, without its body"
req HEAD /orders --head
is "$STATUS $(header WWW-Authenticate)" '401 Bearer realm="onceshop"' "HEAD needs the token as GET does"

req OPTIONS /orders
is "$STATUS $(header Allow)" "204 GET, HEAD, POST, OPTIONS" "OPTIONS /orders: 204 with Allow"
is "$(header Content-Length)$BODY" "" "... with no body and no Content-Length"
req OPTIONS /payments/confirm
is "$STATUS $(header Allow)" "204 POST, OPTIONS" "OPTIONS /payments/confirm: 204, POST"
req OPTIONS /orders/7
is "$STATUS $(header Allow)" "204 GET, HEAD, OPTIONS" "OPTIONS /orders/7: 204, GET"
req OPTIONS /nowhere
problem 404 not-found "OPTIONS of an unknown path is 404"
req DELETE /orders -H "$ALICE"
problem 405 method-not-allowed "DELETE /orders is 405"
is "$(header Allow)" "GET, HEAD, POST, OPTIONS" "... and says what is allowed"

# Idempotency_Key would be HTTP_IDEMPOTENCY_KEY in CGI, like the real header.
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency_Key: under-1' -d "$mug"
problem 400 idempotency-key-missing "Idempotency_Key alone is no key: 400 idempotency-key-missing"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency_Key: under-2' \
	-H 'Idempotency-Key: real-2' -d "$mug"
is "$STATUS" 201 "Idempotency_Key before Idempotency-Key: the real key is used"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: real-3' \
	-H 'Idempotency_Key: under-3' -d "$mug"
is "$STATUS" 201 "... and after it"
is "$(sql "SELECT idem_key FROM idempotency_keys ORDER BY id" | paste -sd' ')" \
	"real-2 real-3" "only the real keys were stored"

# A malformed key: the detail says what exactly is wrong, and the key was not used.
keyprob() { # keyprob HEADER-VALUE EXPECTED-REGEX DESCRIPTION
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" -d "$mug"
	is "$STATUS $(json .type)" "400 /problems/idempotency-key-invalid" "$3"
	like "$(json .detail)" "$2" "... the detail says: $2"
}
keyprob "'sq'" "single quotes" "a key in single quotes is refused, not kept with its quotes"
keyprob "a b" "cannot contain spaces" "a bare key with a space"
keyprob 'a"b' 'cannot contain "' "a bare key with a double quote"
keyprob '"abc' "closing quote" "an unterminated quoted key"
keyprob "$(printf 'k%.0s' $(seq 256))" "longer than 255" "a key of 256 characters"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: "a b"' -d "$mug"
is "$STATUS" 201 "... while the same key in double quotes is fine"

# Query parameters: digits only.
for q in '+5' '%205' 'abc' '0' '1001' '5x' ''; do
	req GET "/orders?limit=$q" -H "$ALICE"
	is "$STATUS $(json .type)" "400 /problems/invalid-parameter" "?limit=$q is 400 invalid-parameter"
done
is "$(json .title)" "Invalid query parameter" "... titled 'Invalid query parameter'"
req GET "/orders?limit=5" -H "$ALICE"
is "$STATUS" 200 "?limit=5 is fine"

# Problem details quote the request, and stay valid UTF-8 when it is not.
long=$(printf 'x%.0s' $(seq 195))
for path in "/a%c3%28b%80c" "/$long%e2%82%ac%e2%82%ac" "/b%80%bfz"; do
	req GET "$path"
	is "$STATUS $(printf '%s' "$BODY" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 && echo valid)" \
		"404 valid" "GET $path: 404 whose body is valid UTF-8"
done
req GET "/$long%e2%82%ac%e2%82%ac"
like "$(json .detail)" "x€\\. The API" "... and a detail cut short ends on a whole character"

done_testing
