#!/usr/bin/env bash
# A writer that cannot go on past the busy timeout, beyond what
# api-crash.t's bounded-wait test covers (a lock held from outside, eight
# distinct keys 503, then each a new order):
#
#  1. The writer stuck inside a group: a trigger makes one order's job run
#     about 2 s (calibrated here), over six times the 300 ms busy timeout.
#     The jobs queued behind it answer 503 service-busy in bounded time and
#     write nothing; the job that had started is not abandoned at its
#     deadline but gets its 201; health and replays answer meanwhile; then
#     every key that was 503 succeeds exactly once.
#  2. A lock held from outside past the timeout: three copies of one key
#     and a key retried while still locked are 503 every time and leave no
#     key row (a retry is not 409 in-progress); after the release, one
#     order per key, and the copies' retries share it.
#  3. A lock released while requests still wait (held 1 s, timeout 4 s):
#     the writer takes them up; every one is a 201, none a 503, once.
. "$(dirname "$0")/lib.sh"
sqlite_only "the single writer stuck behind SQLite's lock (PostgreSQL has no such lock)"

HOLD=()
trap 'stop_server; [ ${#HOLD[@]} -eq 0 ] || kill "${HOLD[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM HUP

mug='{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
pot='{"items":[{"sku":"POT-TETSU","quantity":1}]}'	# 9800 yen: the slow one

ddl() { sqlite3 -cmd '.timeout 5000' "$ONCESHOP_DB" "$1"; }
orders() { sql 'SELECT count(*) FROM orders'; }
alice_rows() {
	sql "SELECT count(*) FROM idempotency_keys WHERE idem_key LIKE '$1'
	     AND user_id = (SELECT id FROM users WHERE name = 'alice')"
}
# under LIMIT TIME: 1 if TIME (seconds) < LIMIT.
under() { awk -v l="$1" -v t="$2" 'BEGIN { print (t < l) ? 1 : 0 }'; }

# send NAME KEY BODY: POSTs BODY under KEY in the background; the answer
# lands in $TMP/NAME.out ("status seconds"), .headers and .body; PIDS
# collects the curl.
PIDS=()
send() {
	curl -s --max-time 20 -o "$TMP/$1.body" -D "$TMP/$1.headers" \
		-w '%{http_code} %{time_total}' -X POST "$BASE/orders" -H "$ALICE" \
		-H "$JSON" -H "Idempotency-Key: $2" -d "$3" > "$TMP/$1.out" &
	PIDS+=($!)
}
# got NAME: that answer becomes the last response; TIME is its seconds.
got() {
	read -r STATUS TIME < "$TMP/$1.out"
	BODY=$(cat "$TMP/$1.body" 2>/dev/null)
	HEADERS=$(tr -d '\r' 2>/dev/null < "$TMP/$1.headers")
}
busy() {
	[ "$STATUS $(header Content-Type) $(json .type 2>/dev/null)" = \
	  "503 application/problem+json /problems/service-busy" ] &&
	[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]]
}
# hold SECONDS: a sqlite3 shell takes the write lock and keeps it SECONDS;
# returns once it holds it. HOLDER is its pid.
hold() {
	rm -f "$TMP/locked"
	( printf '.timeout 2000\nBEGIN IMMEDIATE;\n.shell touch %s\n' "$TMP/locked"
	  sleep "$1"; printf 'ROLLBACK;\n' ) | sqlite3 "$ONCESHOP_DB" &
	HOLDER=$!
	HOLD+=("$HOLDER")
	for _ in $(seq 100); do [ -e "$TMP/locked" ] && break; sleep 0.02; done
}
# locked: 1 if another connection holds the write lock now.
locked() {
	[[ $(sqlite3 "$ONCESHOP_DB" 'BEGIN IMMEDIATE; ROLLBACK;' 2>&1) == *locked* ]] && echo 1 || echo 0
}

export ONCESHOP_BUSY_TIMEOUT_MS=300
start_server

req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: warm' -d "$mug"
is "$STATUS" 201 "an order before the faults"
cp "$TMP/body" "$TMP/warm.ref"

# --- 1. the writer stuck inside a group -----------------------------------

# Calibrate: how far to count for about 2 s on this machine (the fastest
# of three runs, so a busy machine makes the slow order slower, not faster).
best=
for _ in 1 2 3; do
	t0=$EPOCHREALTIME
	sqlite3 :memory: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
		WHERE x < 300000) SELECT count(*) FROM c' >/dev/null
	best=$(awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="$best" \
		'BEGIN { t = b - a; print (m == "" || t < m) ? t : m }')
done
count=$(awk -v t="$best" 'BEGIN { n = 300000 * 2.0 / t;
	print int(n < 1000000 ? 1000000 : n > 200000000 ? 200000000 : n) }')
echo "# the slow order's trigger counts to $count"
ddl "CREATE TRIGGER inject_slow AFTER INSERT ON orders WHEN NEW.total = 9800 BEGIN
     SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL
       SELECT x + 1 FROM c WHERE x < $count) SELECT x FROM c); END;"
before=$(orders)
PIDS=()
send slow stuck-slow "$pot"
slow=${PIDS[0]}
# Its group has begun when the write lock is taken (twice in a row, so
# not a sweep between groups).
for _ in $(seq 250); do
	[ "$(locked)$(sleep 0.02; locked)" = 11 ] && break
done
is "$(locked) $(kill -0 "$slow" 2>/dev/null && echo running)" "1 running" \
	"stuck: the slow order's group holds the write lock"

PIDS=()
for i in 1 2 3 4 5 6; do send "stuck-$i" "stuck-$i" "$mug"; done
for i in 1 2 3; do send "stuck-dup-$i" stuck-dup "$mug"; done
curl -s --max-time 10 -o /dev/null -w '%{http_code} %{time_total}' "$BASE/health" \
	> "$TMP/health.out" & PIDS+=($!)
curl -s --max-time 10 -o "$TMP/replay.body" -D "$TMP/replay.headers" \
	-w '%{http_code} %{time_total}' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
	-H 'Idempotency-Key: warm' -d "$mug" > "$TMP/replay.out" & PIDS+=($!)
wait "${PIDS[@]}"
kill -0 "$slow" 2>/dev/null && still=yes || still=no
is "$still" yes "stuck: every other answer came while the slow order was still running"

bad='' times=''
for n in stuck-1 stuck-2 stuck-3 stuck-4 stuck-5 stuck-6 stuck-dup-1 stuck-dup-2 stuck-dup-3; do
	got "$n"
	busy || bad+=" $n($STATUS)"
	[ "$(under 1.5 "$TIME")" = 1 ] || bad+=" $n(${TIME}s)"
	times+=" $TIME"
done
echo "# stuck: the queued POSTs answered after$times s: $STATUS $(json .detail)"
is "$bad" "" "stuck: each of the 9 POSTs queued behind it is 503 service-busy with Retry-After, in under 1.5 s"
got health
is "$STATUS $(under 1.0 "$TIME")" "200 1" "stuck: GET /health meanwhile is 200 in under 1 s (${TIME}s)"
got replay
cmp -s "$TMP/replay.body" "$TMP/warm.ref" && same=same || same=different
is "$STATUS $(header Idempotent-Replayed) $same $(under 1.0 "$TIME")" "201 true same 1" \
	"stuck: a replay meanwhile is its 201 in under 1 s (${TIME}s)"

wait "$slow"
got slow
is "$STATUS $(json .total) $(under 0.3 "$TIME")" "201 9800 0" \
	"stuck: the slow order itself is a 201 after ${TIME}s: its caller waited past the busy timeout for its group"
is "$(orders) $(alice_rows 'stuck-%')" "$((before + 1)) 1" \
	"stuck: nothing was written for the 9 busy POSTs (only the slow order and its key)"

ddl 'DROP TRIGGER inject_slow'
bad=
for i in 1 2 3 4 5 6; do
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: stuck-$i" --max-time 10 -d "$mug"
	[ "$STATUS $(header Idempotent-Replayed)" = "201 " ] || bad+=" stuck-$i($STATUS)"
done
PIDS=()
for i in 1 2 3; do send "again-dup-$i" stuck-dup "$mug"; done
wait "${PIDS[@]}"
for i in 1 2 3; do got "again-dup-$i"; [ "$STATUS" = 201 ] || bad+=" stuck-dup#$i($STATUS)"; done
is "$bad" "" "stuck: then every key that was 503 is a new 201 (three copies of stuck-dup at once, all 201)"
is "$(md5sum "$TMP"/again-dup-*.body | awk '{ print $1 }' | sort -u | wc -l) $(orders)" \
	"1 $((before + 8))" "stuck: ... one order each (the copies share one body), $((before + 8)) in all"

# --- 2. a lock held from outside past the timeout -------------------------

before=$(orders)
hold 3
is "$(locked)" 1 "locked: a sqlite3 shell holds the write lock"
PIDS=()
for i in 1 2 3 4; do send "lock-$i" "lock-$i" "$mug"; done
for i in 1 2 3; do send "lock-dup-$i" lock-dup "$mug"; done
wait "${PIDS[@]}"
bad=
for n in lock-1 lock-2 lock-3 lock-4 lock-dup-1 lock-dup-2 lock-dup-3; do
	got "$n"; busy || bad+=" $n($STATUS)"
done
is "$bad" "" "locked: 4 keys and 3 copies of another, at once, are each 503 service-busy with Retry-After"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: lock-1' --max-time 10 -d "$mug"
busy && again=busy || again="$STATUS $(json .type)"
req GET '/idempotency-keys?limit=1000' -H "$ALICE"
listed=$(json '[.idempotency_keys[].key | select(startswith("lock-"))] | length')
kill -0 "$HOLDER" 2>/dev/null && held=yes || held=no
is "$again $STATUS $listed $held" "busy 200 0 yes" \
	"locked: lock-1 retried while still locked is 503 again (not 409 in-progress); GET /idempotency-keys lists none of them"
wait "$HOLDER"
is "$(orders) $(alice_rows 'lock-%')" "$before 0" "locked: nothing was written for them"
bad=
for i in 1 2 3 4; do
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: lock-$i" --max-time 10 -d "$mug"
	[ "$STATUS $(header Idempotent-Replayed)" = "201 " ] || bad+=" lock-$i($STATUS)"
done
PIDS=()
for i in 1 2 3; do send "lock-again-$i" lock-dup "$mug"; done
wait "${PIDS[@]}"
for i in 1 2 3; do got "lock-again-$i"; [ "$STATUS" = 201 ] || bad+=" lock-dup#$i($STATUS)"; done
is "$bad" "" "locked: once released, each key is a new 201 (the three copies of lock-dup at once, all 201)"
is "$(md5sum "$TMP"/lock-again-*.body | awk '{ print $1 }' | sort -u | wc -l) $(orders)" \
	"1 $((before + 5))" "locked: ... one order per key, $((before + 5)) in all"

# --- 3. a lock released while requests still wait -------------------------

stop_server
export ONCESHOP_BUSY_TIMEOUT_MS=4000
start_server
before=$(orders)
hold 1
PIDS=()
for i in 1 2 3 4 5 6; do send "wait-$i" "wait-$i" "$mug"; done
for i in 1 2 3; do send "wait-dup-$i" wait-dup "$mug"; done
sleep 0.3
waiting=0
for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && waiting=$((waiting + 1)); done
kill -0 "$HOLDER" 2>/dev/null && held=yes || held=no
is "$waiting $held" "9 yes" "released: 9 POSTs wait while the lock is held (busy timeout 4 s, lock 1 s)"
wait "${PIDS[@]}" "$HOLDER"
bad=
for n in wait-1 wait-2 wait-3 wait-4 wait-5 wait-6 wait-dup-1 wait-dup-2 wait-dup-3; do
	got "$n"
	[ "$STATUS $(under 4.0 "$TIME")" = "201 1" ] || bad+=" $n($STATUS ${TIME}s)"
done
is "$bad" "" "released: once the lock goes, the writer takes them up: each is a 201 within the busy timeout"
is "$(md5sum "$TMP"/wait-dup-*.body | awk '{ print $1 }' | sort -u | wc -l) $(orders) $(alice_rows 'wait-%')" \
	"1 $((before + 7)) 7" "released: one order per key (the copies share one), $((before + 7)) in all"
integrity_ok

done_testing
