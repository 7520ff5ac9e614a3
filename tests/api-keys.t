#!/usr/bin/env bash
# The life of an idempotency key: it expires after ONCESHOP_IDEMPOTENCY_TTL
# and is new again; expired rows are swept; a key still being processed is
# answered 409 with Retry-After.
export ONCESHOP_IDEMPOTENCY_TTL=2
. "$(dirname "$0")/lib.sh"
start_server

mug='{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
keys() { sql "SELECT count(*) FROM idempotency_keys $1"; }

req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: short-lived' -d "$mug"
is "$STATUS" 201 "an order under a key that lives 2 seconds"
first=$(json .id)
req GET /idempotency-keys -H "$ALICE"
created=$(json '.idempotency_keys[0].created_at')
expires=$(json '.idempotency_keys[0].expires_at')
is "$(( $(date -d "$expires" +%s) - $(date -d "$created" +%s) ))" 2 \
	"expires_at is created_at + ONCESHOP_IDEMPOTENCY_TTL"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: short-lived' -d "$mug"
is "$STATUS $(header Idempotent-Replayed) $(json .id)" "201 true $first" "within its lifetime it replays"

req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: also-short' -d "$mug"
req POST /orders -H "$BOB" -H "$JSON" -H 'Idempotency-Key: bobs-short' -d "$mug"
sleep 3

# An expired key is new again, even with another body: the row is replaced.
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: short-lived' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":2}]}'
is "$STATUS $(header Idempotent-Replayed)" "201 " "after it expired the same key makes a new order"
[ "$(json .id)" != "$first" ] && pass "... with a new id" || fail "... with a new id"
is "$(keys "WHERE idem_key = 'short-lived'")" 1 "... and one row for the key, replaced in place"
is "$(keys "WHERE expires_at <= '$(now_utc)'")" 0 \
	"a new claim also swept the other expired rows (alice's and bob's)"

# onceshop sweep deletes expired rows in batches and says how many.
sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
     INSERT INTO idempotency_keys (user_id, operation, idem_key, fingerprint, status,
       response_status, response_headers, response_body, created_at, expires_at)
     SELECT 1, 'create-order', 'old-' || i, 'x', 'completed', 201, '', '{}',
       '2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z' FROM n"
is "$("$BIN" sweep)" "deleted 1200 expired idempotency keys" "onceshop sweep deletes 1200 expired rows"
is "$(keys "WHERE idem_key LIKE 'old-%'") $(keys "WHERE idem_key = 'short-lived'")" "0 1" \
	"... and leaves the live ones"
is "$("$BIN" sweep)" "deleted 0 expired idempotency keys" "a second sweep finds nothing"

# A key whose first request is still running (a 'processing' row, as work
# spanning several transactions would leave) is 409 with Retry-After.
fp=$(printf '%s' '{"items":[{"quantity":1,"sku":"TEA-SENCHA"}]}' | sha256sum | cut -c1-64)
sql "INSERT INTO idempotency_keys (user_id, operation, idem_key, fingerprint, status, created_at, expires_at)
     VALUES (1, 'create-order', 'busy-key', '$fp', 'processing', '2026-01-01T00:00:00Z', '2999-01-01T00:00:00Z')"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: busy-key' \
	-d '{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
problem 409 idempotency-key-in-progress "a key still processing is 409 idempotency-key-in-progress"
is "$(header Retry-After)" 1 "... with Retry-After: 1"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: busy-key' \
	-d '{"items":[{"sku":"TEA-SENCHA","quantity":2}]}'
problem 422 idempotency-key-reused "... and with another body it is 422, as for any key"

# A busy database: a writer outside onceshop holds the lock past the busy
# timeout; the request is 503 with Retry-After, and leaves nothing behind.
stop_server
export ONCESHOP_BUSY_TIMEOUT_MS=200
start_server
orders=$(sql 'SELECT count(*) FROM orders')
hold_write_lock 2
holder=$HOLDER
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: while-busy' -d "$mug"
problem 503 service-busy "a database locked past the busy timeout is 503"
is "$(header Retry-After)" 1 "... with Retry-After"
wait "$holder"
is "$(sql 'SELECT count(*) FROM orders') $(keys "WHERE idem_key = 'while-busy'")" "$orders 0" \
	"... and nothing was written"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: while-busy' -d "$mug"
is "$STATUS" 201 "once the lock is gone the same key succeeds"

done_testing
