#!/usr/bin/env bash
# A PostgreSQL that stops answering without closing its connections (its
# backends stopped with SIGSTOP: a hung server, a cut network) holds no
# request longer than the busy timeout and a second: the connection is
# given up, a write answers 503 with nothing written, a read connects again
# (the server still takes new connections here) and answers. The retry
# makes its one order.
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP a hung PostgreSQL server (SQLite has none)"; exit 0; }
export ONCESHOP_BUSY_TIMEOUT_MS=1000
start_server
order='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
req POST /orders --max-time 10 -H "$ALICE" -H "$JSON" -H "Idempotency-Key: hang-0" -d "$order"
is "$STATUS" 201 "an order, so that the writer has its connection"
tokens=$(for i in $(seq 20); do curl -s -o /dev/null -w '%{http_code}\n' "$BASE/products" & done; sleep 1)
is "$(sort -u <<<"$tokens")" 200 "... and reads, so that request threads have theirs"

# Every backend of this database stops, as a hung server would.
stopped=$(sql "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid()")
AT_EXIT="kill -CONT $stopped 2>/dev/null; $AT_EXIT"
# shellcheck disable=SC2086
kill -STOP $stopped
like "$stopped" '^[0-9]+( [0-9]+)+$' "the server's backends for onceshop are stopped ($(wc -w <<<"$stopped") of them)"

start=$(date +%s%N)
req POST /orders --max-time 10 -H "$ALICE" -H "$JSON" -H "Idempotency-Key: hang-1" -d "$order"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
is "$STATUS $(json .type)" "503 /problems/service-busy" \
	"a new order while the writer's backend hangs: 503 service-busy"
like "$(header Retry-After)" '^[0-9]+$' "... with Retry-After"
verdict=$([ "$ms" -lt 4000 ] && echo bounded || echo "$ms ms")
is "$verdict" bounded "... after the busy timeout and a second, not a hang (${ms} ms)"

start=$(date +%s%N)
statuses=$(for i in $(seq 20); do curl -s -o /dev/null --max-time 10 -w '%{http_code}\n' "$BASE/products" & done; sleep 5)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
like "$(sort -u <<<"$statuses" | paste -sd' ')" '^(200|200 503|503)$' \
	"20 reads at once: each answered, 200 on a new connection or 503, none hung"

for i in $(seq 40); do
	req POST /orders --max-time 10 -H "$ALICE" -H "$JSON" -H "Idempotency-Key: hang-1" -d "$order"
	[ "$STATUS" = 201 ] && break
	sleep 0.25
done
is "$STATUS" 201 "the retry, with the backends still stopped, makes its order on a new connection"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'hang-1'") $(sql "SELECT count(*) FROM orders")" "1 2" \
	"... one key, one order: the 503 wrote nothing"
req GET /products --max-time 10
is "$STATUS" 200 "reads answer again"
# shellcheck disable=SC2086
kill -CONT $stopped
done_testing
