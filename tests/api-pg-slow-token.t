#!/usr/bin/env bash
# A token look-up that PostgreSQL is slow to answer is one look-up, not one
# per request thread: requests whose token's time (ONCESHOP_TOKEN_CACHE_MS)
# has run out while a thread looks it up wait for that look-up, at most the
# cache's time, instead of asking too. (Before, every thread asked at once,
# each look-up slower for the others: two hosts sharing two cores showed a
# hundred at once, and answers stalled up to 1.5 s.)
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP a slow token look-up needs a database server (SQLite reads its file)"; exit 0; }
export ONCESHOP_TOKEN_CACHE_MS=2000
# Longer than the table is locked below: no look-up gives up on its lock.
export ONCESHOP_BUSY_TIMEOUT_MS=10000
start_server
req GET /orders -H "$ALICE"
is "$STATUS" 200 "alice's token is found, and trusted for 2 s"

# Every look-up of a token waits while the table is locked.
session lock "BEGIN;
LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE;
\\! touch $TMP/locked
SELECT pg_sleep(8);
COMMIT;"
waitfor locked || echo "# the token table was never locked"
sleep 2.1	# alice's token's time runs out
pids=()
for i in $(seq 20); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 15 -H "$ALICE" \
		"$BASE/orders" >"$TMP/t-$i.status" &
	pids+=($!)
done
# waiting: how many look-ups wait for the table; waiting_reaches N
# SECONDS: polls until N do, for at most SECONDS.
waiting() { sql "SELECT count(*) FROM pg_locks WHERE relation = 'api_tokens'::regclass AND NOT granted"; }
waiting_reaches() {
	local _
	for _ in $(seq $(($2 * 10))); do
		[ "$(waiting)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
waiting_reaches 1 2
sleep 0.3
is "$(waiting)" 1 \
	"20 requests whose token's time ran out while its table is locked: one look-up waits, not 20"
waiting_reaches 20 5
is "$(waiting)" 20 "... the others wait for it at most the cache's time (2 s), then each asks"
wait "${pids[@]}"
is "$(cat "$TMP"/t-*.status | sort | uniq -c | awk '{print $1, $2}')" "20 200" \
	"... and once the table is free, all 20 are answered 200"

# A token deleted is still refused within the cache's time, waiting or not.
hash=$(printf %s alice-token | sha256sum | cut -c1-64)
sql "DELETE FROM api_tokens WHERE token_sha256 = '$hash'" >/dev/null
sleep 2.1
req GET /orders -H "$ALICE"
is "$STATUS" 401 "alice's token deleted: refused once the cache's time is over"
done_testing
