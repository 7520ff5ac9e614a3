#!/usr/bin/env bash
# Strict JSON at the edge: bodies that json-c alone would take but that do
# not say one thing (a member twice, \u0000, a lone surrogate), invalid
# UTF-8 and a top level that is not an object are 400 invalid-json with a
# detail that names the problem; nothing is written and the key stays
# free for the corrected body.
. "$(dirname "$0")/lib.sh"
start_server

orders() { sql "SELECT count(*) FROM orders"; }
keys() { sql "SELECT count(*) FROM idempotency_keys"; }

# post KEY BODY: POST /orders as alice; BODY goes through printf, so \xff
# becomes that byte and \\u0000 stays the six characters \u0000.
post() {
	printf "$2" > "$TMP/req"
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" \
		--data-binary @"$TMP/req"
}

# rejected TEXT NAME: the last answer is 400 invalid-json and its detail
# contains TEXT.
rejected() {
	local detail
	problem 400 invalid-json "$2 is 400 invalid-json"
	detail=$(json .detail)
	if [[ $detail == *"$1"* ]]; then pass "... the detail says: $1"
	else fail "... the detail says: $1" "got: '$detail'"; fi
}

# --- each problem, under one key that none of them uses up ---
post k-json '{"items":[{"sku":"MUG-KYOTO","quantity":1}],"items":[{"sku":"MUG-KYOTO","quantity":9}]}'
rejected 'member "items" appears twice' 'a member twice at the top level'
like "$(json .detail)" 'The key was not used; fix the body and retry with the same key\.$' \
	"... and that the key was not used"
post k-json '{"items":[{"sku":"MUG-KYOTO","quantity":1,"quantity":9}]}'
rejected 'member "quantity" appears twice' 'a member twice in an item'
post k-json '{"items":[{"sku":"MUG-KYOTO","quantity":1}],"\\u0069tems":[]}'
rejected 'member "items" appears twice' '"items" and "\u0069tems"'
post k-json '{"items":[{"sku":"MUG-KYOTO","quantity":1,"sku\\u0000x":"TEA-SENCHA"}]}'
rejected '\u0000 at byte 46 is a NUL character, which no member name may hold' \
	'\u0000 in a member name'
post k-json '{"items":[{"sku":"MUG-KYOTO\\u0000","quantity":1}]}'
rejected '\u0000 at byte 27 is a NUL character, which no field of this API accepts' \
	'\u0000 in a value'
post k-json '{"items":[{"sku":"MUG-KYOTO\\ud800","quantity":1}]}'
rejected '\ud800 at byte 27 is a lone UTF-16 high surrogate' 'a lone \ud800'
post k-json '{"items":[{"sku":"MUG-KYOTO\\udc00","quantity":1}]}'
rejected '\udc00 at byte 27 is a lone UTF-16 low surrogate' 'a lone \udc00'
post k-json '{"items":[{"sku":"MUG-KYOTO\\ud800\\u0041","quantity":1}]}'
rejected '\ud800 at byte 27 is followed by \u0041, not by a low surrogate' '\ud800\u0041'
post k-json '{"items":[{"sku":"MUG-KYOTO\xff","quantity":1}]}'
rejected 'the body is not valid UTF-8 (byte 27)' 'a raw \xff byte'
for top in 'null:null' '[]:an array' '1:a number' '"x":a string' 'true:true'; do
	post k-json "${top%%:*}"
	rejected "the body must be a JSON object, not ${top#*:}" "a body of ${top%%:*}"
done
post k-json '[{"items":[{"sku":"MUG-KYOTO","quantity":1}]}]'
rejected 'must be a JSON object, not an array' 'an order inside an array'
is "$(orders) $(keys)" "0 0" "nothing was written: no order, no idempotency key"

# --- the corrected body under the same key ---
post k-json '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
is "$STATUS $(header Idempotent-Replayed)" "201 " "the corrected body under the same key is a new order"
is "$(orders) $(keys)" "1 1" "... one order, one key"
post k-json '{"items":[{"sku":"MUG-KYOTO","quantity":1}],"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
problem 400 invalid-json "after that, a body with a member twice is still 400, not a replay"
is "$(orders) $(keys)" "1 1" "... and writes nothing"

# --- a proper surrogate pair is a character like any other ---
post k-emoji '{"items":[{"sku":"\\ud83d\\ude00","quantity":1}]}'
problem 422 unknown-product "a sku of \\ud83d\\ude00 gets to the handler: 422 unknown-product"
like "$(json .detail)" $'\xf0\x9f\x98\x80' "... which names it as the character U+1F600"
post k-emoji $'{"items":[{"sku":"\xf0\x9f\x98\x80","quantity":1}]}'
is "$STATUS $(header Idempotent-Replayed)" "422 true" \
	"the same sku in raw UTF-8 is the same request: a replay"

done_testing
