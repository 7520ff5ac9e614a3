#!/usr/bin/env bash
# Crashes and bounded waits. Every onceshop process is SIGKILLed in the
# middle of a burst of orders: retrying each key until it answers 201 makes
# exactly one order per key, and an answer given before the crash is the
# one replayed after it. A database locked from outside makes writes wait
# a bounded time (503 service-busy, nothing written) while reads, health
# and replays go on.
. "$(dirname "$0")/lib.sh"
start_server

alice_keys() {
	sql "SELECT count(*) FROM idempotency_keys
	     WHERE user_id = (SELECT id FROM users WHERE name = 'alice') $1"
}
stock() { sql "SELECT stock FROM products WHERE sku = '$1'"; }


# post KEY BODY [curl options...]: POST /orders as alice.
post() {
	local key=$1 body=$2
	shift 2
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $key" \
		--max-time 10 "$@" -d "$body"
}

# --- 1. SIGKILL in the middle of a burst ----------------------------------
N=40
body() { printf '{"items":[{"sku":"TEA-SENCHA","quantity":%d}]}' "$1"; }
export -f body
stock_before=$(stock TEA-SENCHA)
orders_before=$(sql 'SELECT count(*) FROM orders')
mkdir "$TMP/crash"
victims=$(workers | tr '\n' ' ')
# Each curl starts and waits for its body on a FIFO; writing the bodies
# then sends all N at once.
pids=()
for i in $(seq "$N"); do
	mkfifo "$TMP/crash/$i.in"
	curl -s --max-time 10 -o "$TMP/crash/$i.body" -w '%{http_code}\n' \
		-X POST "$BASE/orders" -H "$ALICE" -H "$JSON" -H "Idempotency-Key: crash-$i" \
		--data-binary "@$TMP/crash/$i.in" > "$TMP/crash/$i.status" &
	pids+=($!)
done
timeout 10 bash -c 'for i in $(seq "$1"); do body "$i" > "$2/$i.in"; done' - "$N" "$TMP/crash" ||
	kill "${pids[@]}" 2>/dev/null
# Kill as soon as a few orders are committed, the others still in flight.
for _ in $(seq 1000); do
	[ "$(sql 'SELECT count(*) FROM orders')" -ge $((orders_before + 3)) ] && break
	sleep 0.001
done
kill -KILL $victims 2>/dev/null
wait "${pids[@]}"
alive=
for pid in $(workers); do [[ " $victims" == *" $pid "* ]] && alive+=" $pid"; done
echo "# first answers: $(cat "$TMP"/crash/*.status | sort | uniq -c |
	awk '{ printf "%s %s; ", $1, $2 }')"
[ -n "$victims" ] && [ -z "$alive" ] &&
	pass "every onceshop process of this server ($(echo $victims | wc -w)) was SIGKILLed mid-burst" ||
	fail "every onceshop process of this server was SIGKILLed mid-burst" \
		"found: '$victims'" "still alive: '$alive'"

# lighttpd starts new workers; if it does not, start the server again on
# the same database.
for _ in $(seq 30); do
	curl -sf --max-time 2 -o /dev/null "$BASE/health" && break
	sleep 0.1
done
if ! curl -sf --max-time 2 -o /dev/null "$BASE/health"; then
	echo "# the server did not recover by itself: restarting it"
	stop_server
	start_server
fi

# Retry every key with its body until it is 201 (bounded; 5xx in between,
# such as lighttpd's own 500 for a request whose process died).
deadline=$((SECONDS + 20))
late='' replayed=0 lost=0
for i in $(seq "$N"); do
	for _ in $(seq 30); do
		post "crash-$i" "$(body "$i")"
		[ "$STATUS" = 201 ] && break
		[ "$SECONDS" -ge "$deadline" ] && break
		sleep 0.1
	done
	if [ "$STATUS" != 201 ]; then
		late+=" crash-$i($STATUS)"
		continue
	fi
	cp "$TMP/body" "$TMP/crash/$i.final"
	if [ "$(header Idempotent-Replayed)" = true ]; then
		replayed=$((replayed + 1))
		# Committed, but the answer was lost with the process.
		[ "$(cat "$TMP/crash/$i.status")" != 201 ] && lost=$((lost + 1))
	fi
	# A 201 given before the crash is what the key replays now.
	if [ "$(cat "$TMP/crash/$i.status")" = 201 ]; then
		[ "$(header Idempotent-Replayed)" = true ] &&
			cmp -s "$TMP/crash/$i.body" "$TMP/body" || late+=" crash-$i(differs)"
	fi
done
echo "# after the crash: $replayed keys replayed ($lost of them had no 201 before: committed," \
	"answer lost), $((N - replayed)) made anew"
is "$late" "" "every key retried with its body ends 201; each 201 given before the kill is replayed byte for byte"

is "$(sql 'SELECT count(*) FROM orders')" $((orders_before + N)) "exactly $N orders, one per key"
ids=$(for i in $(seq "$N"); do jq -r .id "$TMP/crash/$i.final" 2>/dev/null; done | sort -u | grep -c '^[0-9]')
is "$ids" "$N" "... $N distinct order ids in the keys' answers"
bad=
for i in $(seq "$N"); do
	id=$(jq -r .id "$TMP/crash/$i.final" 2>/dev/null)
	[[ $id =~ ^[0-9]+$ ]] && [ "$(sql "SELECT sku || ':' || quantity
		FROM order_items WHERE order_id = $id" | paste -sd,)" = "TEA-SENCHA:$i" ] || bad+=" crash-$i"
done
is "$bad" "" "... each order holds its key's quantity"
is "$(stock TEA-SENCHA)" $((stock_before - N * (N + 1) / 2)) \
	"stock went down by exactly the sum of the quantities, $((N * (N + 1) / 2))"
is "$(alice_keys "AND idem_key LIKE 'crash-%'") $(alice_keys "AND idem_key LIKE 'crash-%'
	AND status = 'completed' AND response_status = 201")" "$N $N" \
	"one key row per key, each completed with 201"
integrity_ok

# --- 2. a lock held outside onceshop: bounded waits -----------------------
stop_server
export ONCESHOP_BUSY_TIMEOUT_MS=300
start_server
mug='{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
post before-lock "$mug"
is "$STATUS" 201 "an order before the lock"
cp "$TMP/body" "$TMP/before-lock.body"
orders_before=$(sql 'SELECT count(*) FROM orders')

# A client outside onceshop takes the write lock and keeps it 3 seconds.
hold_write_lock 3 && pass "a client outside onceshop holds the write lock" \
	|| fail "a client outside onceshop holds the write lock"
holder=$HOLDER

W=8
mkdir "$TMP/busy"
pids=()
for i in $(seq "$W"); do
	curl -s --max-time 10 -o "$TMP/busy/$i.body" -D "$TMP/busy/$i.headers" \
		-w '%{http_code} %{time_total}' -X POST "$BASE/orders" -H "$ALICE" \
		-H "$JSON" -H "Idempotency-Key: busy-$i" -d "$mug" > "$TMP/busy/$i.out" &
	pids+=($!)
done
curl -s --max-time 10 -o "$TMP/busy/health.body" -w '%{http_code} %{time_total}' \
	"$BASE/health" > "$TMP/busy/health.out" &
pids+=($!)
curl -s --max-time 10 -o "$TMP/busy/replay.body" -D "$TMP/busy/replay.headers" \
	-w '%{http_code} %{time_total}' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
	-H "Idempotency-Key: before-lock" -d "$mug" > "$TMP/busy/replay.out" &
pids+=($!)
wait "${pids[@]}"
kill -0 "$holder" 2>/dev/null && held=yes || held=no
echo "# while locked: $(for f in "$TMP"/busy/*.out; do printf '%s=%s; ' "$(basename "$f" .out)" "$(cat "$f")"; done)"
is "$held" yes "every answer came while the lock was still held"

# under LIMIT TIME: 1 if TIME (seconds) < LIMIT.
under() { awk -v l="$1" -v t="$2" 'BEGIN { print (t < l) ? 1 : 0 }'; }
bad='' slow=''
for i in $(seq "$W"); do
	read -r STATUS time < "$TMP/busy/$i.out"
	BODY=$(cat "$TMP/busy/$i.body" 2>/dev/null)
	HEADERS=$(tr -d '\r' 2>/dev/null < "$TMP/busy/$i.headers")
	[ "$STATUS $(header Content-Type) $(json .type 2>/dev/null)" = \
	  "503 application/problem+json /problems/service-busy" ] &&
		[[ $(header Retry-After) =~ ^[1-9][0-9]*$ ]] || bad+=" busy-$i($STATUS)"
	[ "$(under 2.0 "$time")" = 1 ] || slow+=" busy-$i(${time}s)"
done
is "$bad" "" "each of $W POSTs while locked is 503 service-busy with Retry-After"
is "$slow" "" "... each answered in under 2 s (busy timeout 0.3 s, lock held 3 s)"

read -r STATUS time < "$TMP/busy/health.out"
is "$STATUS $(under 1.0 "$time")" "200 1" "GET /health while locked is 200 in under 1 s (${time}s)"
read -r STATUS time < "$TMP/busy/replay.out"
HEADERS=$(tr -d '\r' 2>/dev/null < "$TMP/busy/replay.headers")
cmp -s "$TMP/busy/replay.body" "$TMP/before-lock.body" && same=same || same=different
is "$STATUS $(header Idempotent-Replayed) $same" "201 true same" \
	"a replay while locked is answered: 201, Idempotent-Replayed, the same body (${time}s)"

wait "$holder"
is "$(sql 'SELECT count(*) FROM orders') $(alice_keys "AND idem_key LIKE 'busy-%'")" \
	"$orders_before 0" "nothing was written for the busy POSTs"
bad=
for i in $(seq "$W"); do
	post "busy-$i" "$mug"
	[ "$STATUS $(header Idempotent-Replayed)" = "201 " ] || bad+=" busy-$i($STATUS)"
done
is "$bad" "" "once the lock is gone the same keys succeed, as new orders"
is "$(sql 'SELECT count(*) FROM orders')" $((orders_before + W)) "... one order each"
integrity_ok

done_testing
