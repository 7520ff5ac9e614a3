#!/usr/bin/env bash
# Faults injected from outside, with SQLite triggers this test adds to the
# live database: a handler that fails among concurrent requests, a
# RAISE(ROLLBACK) that undoes the whole transaction, a COMMIT that fails on
# a deferred foreign key. However the server lays out its transactions,
# each request is either 201 and entirely there, or a 5xx problem and
# entirely absent; once the fault is gone, a failed key retried with the
# same body succeeds, once.
. "$(dirname "$0")/lib.sh"
sqlite_only "SQLite triggers that make the writer's statements fail"
start_server

# ddl SQL: changes the live database's schema (waits for a writer).
ddl() { sqlite3 -cmd '.timeout 5000' "$ONCESHOP_DB" "$1"; }

# KEYS[i] and BODIES[i] are the requests of a burst; burst sets REQ[i], the
# items of BODIES[i] as "sku:quantity,..." in sku order.
# burst NAME: POSTs every BODIES[i] to /orders under KEYS[i], all at once;
# answer i lands in $TMP/NAME/i.status, i.headers and i.body.
burst() {
	local dir=$TMP/$1 i pids=()
	mkdir -p "$dir"
	mapfile -t REQ < <(printf '%s\n' "${BODIES[@]}" | items)
	# Each curl starts and waits for its body on a FIFO; writing the
	# bodies then sends them all at once.
	for i in "${!KEYS[@]}"; do
		mkfifo "$dir/$i.in"
		curl -s --max-time 20 -o "$dir/$i.body" -D "$dir/$i.headers" \
			-w '%{http_code}' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
			-H "Idempotency-Key: ${KEYS[$i]}" --data-binary "@$dir/$i.in" \
			> "$dir/$i.status" &
		pids+=($!)
	done
	timeout 10 bash -c 'd=$1; shift; i=0
		for b; do printf %s "$b" > "$d/$i.in"; i=$((i + 1)); done' - "$dir" "${BODIES[@]}" ||
		kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}"
}

# answer NAME I: answer I of burst NAME becomes the last response (STATUS,
# BODY, HEADERS), for header, json and problem.
answer() {
	STATUS=$(cat "$TMP/$1/$2.status")
	BODY=$(cat "$TMP/$1/$2.body" 2>/dev/null)	# none if curl failed
	HEADERS=$(tr -d '\r' 2>/dev/null < "$TMP/$1/$2.headers")
}

# items: for each JSON object read, its items as "sku:quantity,...".
items() { jq -r '[.items[]? | "\(.sku):\(.quantity)"] | sort | join(",")' 2>/dev/null; }

# stocks: "SKU=stock ..." now. snap: remembers stock and row counts;
# want I...: the stock once the orders BODIES[I]... are made.
stocks() { sql "SELECT sku || '=' || stock FROM products" | LC_ALL=C sort | tr '\n' ' '; }
declare -A STOCK
snap() {
	local s n
	while IFS='|' read -r s n; do STOCK[$s]=$n; done < <(sql 'SELECT sku, stock FROM products')
	ORDERS=$(sql 'SELECT count(*) FROM orders')
	ITEMS=$(sql 'SELECT count(*) FROM order_items')
}
want() {
	local -A w
	local s i item
	for s in "${!STOCK[@]}"; do w[$s]=${STOCK[$s]}; done
	for i in "$@"; do
		for item in ${REQ[$i]//,/ }; do
			w[${item%:*}]=$((w[${item%:*}] - ${item#*:}))
		done
	done
	for s in "${!w[@]}"; do echo "$s=${w[$s]}"; done | LC_ALL=C sort | tr '\n' ' '
}

# whole I: the last response, a 201 for request I, is entirely there: its
# body has the requested items, the order row with its id is alice's with
# its total and those items, and the key's row is stored as completed.
whole() {
	local id total got
	read -r id total got < <(jq -r '"\(.id) \(.total) " +
		([.items[]? | "\(.sku):\(.quantity)"] | sort | join(","))' <<<"$BODY" 2>/dev/null)
	[[ $id =~ ^[0-9]+$ && $total =~ ^[0-9]+$ ]] && [ "$got" = "${REQ[$1]}" ] &&
	[ "$(sql "SELECT (SELECT count(*) FROM orders WHERE id = $id AND total = $total
	       AND user_id = (SELECT id FROM users WHERE name = 'alice'))
	     || ' ' || (SELECT group_concat(sku || ':' || quantity, ',') FROM
	       (SELECT sku, quantity FROM order_items WHERE order_id = $id ORDER BY sku))")" \
	  = "1 ${REQ[$1]}" ] &&
	[ "$(key_row "${KEYS[$1]}")" = "completed 201" ]
}

# key_row KEY: "status response_status" of alice's stored KEY, or "".
key_row() {
	sql "SELECT status || ' ' || coalesce(response_status, '-') FROM idempotency_keys
	     WHERE idem_key = '$1' AND user_id = (SELECT id FROM users WHERE name = 'alice')"
}

# absent I: the last response, a 5xx for request I, is a problem and left
# nothing behind: no key row (and no Location to an order).
absent() {
	[ "$(header Content-Type) $(json .status 2>/dev/null)" = "application/problem+json $STATUS" ] &&
	[ -z "$(header Location)" ] && [ -z "$(key_row "${KEYS[$1]}")" ]
}

# check NAME: the either/or invariant for every answer of burst NAME, and
# the totals: orders, items and stock moved by exactly the 201s. Sets WON
# (indices answered 201) and LOST (indices answered 5xx).
check() {
	local name=$1 i bad='' other=''
	WON=() LOST=()
	for i in "${!KEYS[@]}"; do
		answer "$name" "$i"
		case $STATUS in
		201)	WON+=("$i"); cp "$TMP/$name/$i.body" "$TMP/$name/$i.final"
			whole "$i" || bad+=" ${KEYS[$i]}(201)" ;;
		5[0-9][0-9])
			LOST+=("$i"); absent "$i" || bad+=" ${KEYS[$i]}($STATUS)" ;;
		*)	other+=" ${KEYS[$i]}=$STATUS" ;;
		esac
	done
	echo "# $name: ${#WON[@]} answered 201, ${#LOST[@]} answered 5xx"
	is "$other" "" "$name: every answer is a 201 or a 5xx"
	is "$bad" "" "$name: each 201 is entirely there (order, items, key row completed), each 5xx a problem entirely absent (no key row)"
	local n_items=0 commas ids=0
	for i in "${WON[@]}"; do
		commas=${REQ[$i]//[^,]/}
		n_items=$((n_items + 1 + ${#commas}))
	done
	[ ${#WON[@]} -gt 0 ] && ids=$(for i in "${WON[@]}"; do echo "$TMP/$name/$i.body"; done |
		xargs jq -r .id | sort -u | wc -l)
	is "$(sql 'SELECT count(*) FROM orders') $(sql 'SELECT count(*) FROM order_items') $ids" \
		"$((ORDERS + ${#WON[@]})) $((ITEMS + n_items)) ${#WON[@]}" \
		"$name: orders and order items grew by exactly the 201s' (each its own order)"
	is "$(stocks)" "$(want "${WON[@]}")" "$name: stock went down by exactly the 201s' quantities"
}

# settle NAME: the fault is gone. Every failed key of burst NAME, retried
# with its body, is a new 201 and entirely there; then every key replays
# its 201 byte for byte; one order per key in all.
settle() {
	local name=$1 i bad='' ids
	for i in "${LOST[@]}"; do
		req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: ${KEYS[$i]}" \
			--max-time 20 -d "${BODIES[$i]}"
		cp "$TMP/body" "$TMP/$name/$i.final"
		[ "$STATUS $(header Idempotent-Replayed)" = "201 " ] && whole "$i" ||
			bad+=" ${KEYS[$i]}($STATUS)"
	done
	is "$bad" "" "$name: once the fault is gone, each of the ${#LOST[@]} failed keys retried is a new 201, entirely there"
	bad=
	for i in "${!KEYS[@]}"; do
		req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: ${KEYS[$i]}" \
			--max-time 20 -d "${BODIES[$i]}"
		[ "$STATUS $(header Idempotent-Replayed)" = "201 true" ] &&
			cmp -s "$TMP/body" "$TMP/$name/$i.final" || bad+=" ${KEYS[$i]}($STATUS)"
	done
	is "$bad" "" "$name: then every key replays its 201 (Idempotent-Replayed: true, same body)"
	ids=$(jq -r .id "$TMP/$name"/*.final | sort -u | wc -l)
	is "$(sql 'SELECT count(*) FROM orders') $ids" "$((ORDERS + ${#KEYS[@]})) ${#KEYS[@]}" \
		"$name: one order per key, ${#KEYS[@]} in all"
	is "$(stocks)" "$(want "${!KEYS[@]}")" "$name: stock went down once per key"
}

# statuses NAME I...: "count status;" for the answers I... of burst NAME.
statuses() {
	local name=$1 i
	shift
	for i in "$@"; do cat "$TMP/$name/$i.status"; echo; done | sort | uniq -c |
		awk '{ printf "%s %s;", $1, $2 }'
}

# --- 1. a handler fails (RAISE(ABORT)) among concurrent requests ---------
# A teapot can no longer be recorded: each order with one fails after its
# sencha line was written; the sencha-only orders around it must not care.
ddl "CREATE TRIGGER inject_abort BEFORE INSERT ON order_items
     WHEN NEW.sku = 'POT-TETSU' BEGIN SELECT RAISE(ABORT, 'injected handler failure'); END;"
KEYS=() BODIES=() tea=() pot=()
for i in $(seq 0 19); do
	KEYS[i]=abort-$i
	if ((i % 5 == 2)); then
		pot+=("$i")
		BODIES[i]='{"items":[{"sku":"TEA-SENCHA","quantity":7},{"sku":"POT-TETSU","quantity":1}]}'
	else
		tea+=("$i")
		BODIES[i]="{\"items\":[{\"sku\":\"TEA-SENCHA\",\"quantity\":$((i + 1))}]}"
	fi
done
snap
burst abort
is "$(statuses abort "${tea[@]}")" "${#tea[@]} 201;" \
	"abort: all ${#tea[@]} concurrent sencha orders are 201"
is "$(statuses abort "${pot[@]}")" "${#pot[@]} 500;" \
	"abort: all ${#pot[@]} teapot orders (the handler fails) are 500"
bad=
for i in "${pot[@]}"; do
	answer abort "$i"
	[ "$(header Content-Type) $(json .status 2>/dev/null)" = "application/problem+json 500" ] ||
		bad+=" ${KEYS[$i]}"
done
is "$bad" "" "abort: ... each a problem+json with status 500"
check abort
is "$(sql "SELECT count(*) FROM order_items WHERE sku = 'POT-TETSU'") $(stocks | grep -o 'POT-TETSU=[0-9]*')" \
	"0 POT-TETSU=${STOCK[POT-TETSU]}" "abort: no teapot line and no teapot stock change"
ddl 'DROP TRIGGER inject_abort'
settle abort

# --- 2. RAISE(ROLLBACK): SQLite undoes the whole transaction -------------
# A writer that commits several requests in one transaction loses them all
# here, so only the either/or invariant is asserted for the others; the
# mug orders themselves can never succeed.
ddl "CREATE TRIGGER inject_rollback BEFORE INSERT ON order_items
     WHEN NEW.sku = 'MUG-KYOTO' BEGIN SELECT RAISE(ROLLBACK, 'injected rollback'); END;"
KEYS=() BODIES=() mug=()
for i in $(seq 0 15); do
	KEYS[i]=rollback-$i
	q=$((i % 3 + 1))
	case $((i % 4)) in
	1)	mug+=("$i")
		BODIES[i]="{\"items\":[{\"sku\":\"TEA-MATCHA\",\"quantity\":$q},{\"sku\":\"MUG-KYOTO\",\"quantity\":1}]}" ;;
	2)	BODIES[i]="{\"items\":[{\"sku\":\"TEA-SENCHA\",\"quantity\":$q},{\"sku\":\"TEA-MATCHA\",\"quantity\":1}]}" ;;
	*)	BODIES[i]="{\"items\":[{\"sku\":\"TEA-SENCHA\",\"quantity\":$q}]}" ;;
	esac
done
snap
burst rollback
check rollback
is "$(statuses rollback "${mug[@]}" | grep -c ' 201;')" 0 "rollback: no mug order is 201"
is "$(sql 'PRAGMA integrity_check')" ok "rollback: PRAGMA integrity_check is ok"
ddl 'DROP TRIGGER inject_rollback'
settle rollback

# --- 3. COMMIT itself fails: a deferred foreign key ----------------------
# An order of exactly 9800 yen (one teapot) leaves a dangling reference
# that SQLite only checks at COMMIT.
ddl "CREATE TABLE inject_parent (id INTEGER PRIMARY KEY);
     CREATE TABLE inject_child (pid INTEGER REFERENCES inject_parent(id)
       DEFERRABLE INITIALLY DEFERRED);
     CREATE TRIGGER inject_commit AFTER INSERT ON orders WHEN NEW.total = 9800
     BEGIN INSERT INTO inject_child VALUES (424242); END;"
KEYS=() BODIES=() pot=()
for i in $(seq 0 11); do
	KEYS[i]=commit-$i
	q=$((i % 3 + 1))
	case $((i % 4)) in
	0)	pot+=("$i")
		BODIES[i]='{"items":[{"sku":"POT-TETSU","quantity":1}]}' ;;
	1)	BODIES[i]="{\"items\":[{\"sku\":\"MUG-KYOTO\",\"quantity\":$q}]}" ;;
	*)	BODIES[i]="{\"items\":[{\"sku\":\"TEA-SENCHA\",\"quantity\":$q}]}" ;;
	esac
done
snap
burst commit
check commit
is "$(statuses commit "${pot[@]}" | grep -c ' 201;')" 0 \
	"commit: no 9800-yen order is 201 (its COMMIT fails)"
bad=
for i in "${pot[@]}"; do
	answer commit "$i"
	detail=$(json .detail 2>/dev/null)
	[ -n "$detail" ] && [ "$(json .id 2>/dev/null)" = null ] &&
		! grep -qiE 'succe|created|placed|accepted|confirmed|committed|completed' <<<"$detail" ||
		bad+=" ${KEYS[$i]}: $detail;"
done
is "$bad" "" "commit: ... and its problem detail does not claim success"
is "$(sql 'SELECT count(*) FROM inject_child') $(sql 'PRAGMA foreign_key_check')" "0 " \
	"commit: no dangling row was committed"
is "$(sql 'PRAGMA integrity_check')" ok "commit: PRAGMA integrity_check is ok"
ddl 'DROP TRIGGER inject_commit; DROP TABLE inject_child; DROP TABLE inject_parent;'
settle commit

done_testing
