#!/usr/bin/env bash
# A writer's group that meets a deadlock on PostgreSQL is rolled back
# whole and run again, and still answers every job exactly once: one
# order per request, one stock decrement per order.
#
# The deadlock, made on purpose with two psql sessions beside one writer
# (ONCESHOP_WRITERS=1):
#   S1 holds MUG-KYOTO: order 0 (a mug) blocks the writer's first group,
#      while order 1 (sencha) and order 2 (matcha) queue behind it;
#   S2 takes TEA-SENCHA;
#   S1 commits: the second group runs its jobs in the order of their lane
#      hints (writer.h), whatever order they came in: order 2 (takes
#      TEA-MATCHA), then order 1, which waits for S2's TEA-SENCHA;
#   S2 asks for TEA-MATCHA, held by the group: a cycle. The writer waited
#      first, so its deadlock check (deadlock_timeout 2 s; S2's is longer)
#      finds it and the group is the one refused.
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP a deadlock between two PostgreSQL sessions (SQLite has one writer and one lock)"; exit 0; }
export ONCESHOP_WRITERS=1
sql "ALTER DATABASE $PGDB SET deadlock_timeout = '2s'" >/dev/null
start_server
stock() { sql "SELECT string_agg(stock::text, ' ' ORDER BY sku) FROM products WHERE sku IN ('MUG-KYOTO', 'TEA-MATCHA', 'TEA-SENCHA')"; }
before=$(stock)
orders=$(sql 'SELECT count(*) FROM orders')

order() {	# order N SKU: in the background, status and body to $TMP/o-N.*
	curl -s --max-time 20 -o "$TMP/o-$1.body" -w '%{http_code}' "$BASE/orders" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: dl-$1" \
		-d "{\"items\":[{\"sku\":\"$2\",\"quantity\":1}]}" >"$TMP/o-$1.status" &
}

hold_row s1 2.5
order 0 MUG-KYOTO
sleep 0.5
order 1 TEA-SENCHA
sleep 0.5
order 2 TEA-MATCHA
session s2 "SET deadlock_timeout = '20s';
BEGIN;
UPDATE products SET stock = stock WHERE sku = 'TEA-SENCHA';
SELECT pg_sleep(2.5);
UPDATE products SET stock = stock WHERE sku = 'TEA-MATCHA';
\\! touch $TMP/s2
COMMIT;"
for _ in $(seq 200); do
	[ -s "$TMP/o-0.status" ] && [ -s "$TMP/o-1.status" ] && [ -s "$TMP/o-2.status" ] && break
	sleep 0.1
done
waitfor s2 || echo "# S2 never took its second row"

is "$(for i in 0 1 2; do cat "$TMP/o-$i.status"; echo; done | paste -sd' ')" "201 201 201" \
	"three orders, the two in the deadlocked group among them: each answered 201 once"
is "$(grep -c 'deadlock detected' "$TMP/error.log")" 1 \
	"... the writer's group met the deadlock (the server log says so, once)"
groups=$(grep -o 'key=dl-[12] outcome=new stored=yes group=[0-9]*' "$TMP/error.log" | sed 's/.*group=//' | paste -sd' ')
is "$groups" "3 3" \
	"... and its two jobs each logged one answer, from group 3: group 2 was rolled back and ran again whole"
is "$(($(sql 'SELECT count(*) FROM orders') - orders))" 3 "three new orders, no more"
is "$(sql "SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id
	WHERE i.sku IN ('TEA-SENCHA', 'TEA-MATCHA')")" 2 "... one item each for the two that ran again"
read -r m0 t0 s0 <<<"$before"
is "$(stock)" "$((m0 - 1)) $((t0 - 1)) $((s0 - 1))" "... and each product's stock went down by one"
order_replays dl-1 TEA-SENCHA "$TMP/o-1.body"
order_replays dl-2 TEA-MATCHA "$TMP/o-2.body"

# random_orders NAME BASE...: 400 single-product orders of four products
# at random, 32 in flight at a time (one curl, --parallel), order i to
# the BASEs in turn; their statuses to $TMP/NAME.status.
random_orders() {
	local name=$1 i bases
	shift
	bases=("$@")
	for i in $(seq 400); do
		printf 'next\nurl = "%s/orders"\nheader = "%s"\nheader = "%s"\nheader = "Idempotency-Key: %s-%d"\n' \
			"${bases[i % ${#bases[@]}]}" "$ALICE" "$JSON" "$name" "$i"
		printf 'data = "{\\"items\\":[{\\"sku\\":\\"%s\\",\\"quantity\\":1}]}"\noutput = /dev/null\nwrite-out = "%%{http_code}\\n"\n' \
			"${skus[RANDOM % 4]}"
	done | sed 1d > "$TMP/$name.curl"
	curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 32 \
		-K "$TMP/$name.curl" > "$TMP/$name.status"
}
deadlocks() { cat "$TMP/error.log" "$TMP/error-2.log" 2>/dev/null | grep -c 'deadlock detected'; }
skus=(BISCUIT-SEMBEI TEA-SENCHA TEA-MATCHA MUG-KYOTO)

# Lanes: a host's writers take each order by its product, so four writers
# given single-product orders of four products at random never hold a
# product another one wants: no deadlock, where groups taking them in
# opposite orders on different writers would meet one.
stop_server
sql "ALTER DATABASE $PGDB SET deadlock_timeout = '50ms'" >/dev/null
ONCESHOP_WRITERS=4 start_server
deadlocks=$(deadlocks)
orders=$(sql 'SELECT count(*) FROM orders')
random_orders lane "$BASE"
is "$(sort "$TMP/lane.status" | uniq -c | awk '{print $1, $2}')" "400 201" \
	"four writers, 400 orders of four products at random, 32 at a time: all 201"
is "$(($(sql 'SELECT count(*) FROM orders') - orders)) $(($(deadlocks) - deadlocks))" "400 0" \
	"... 400 orders, and no deadlock between the writers"

# Two hosts, one writer each: each host's groups hold all four products,
# and the orders come in at random. A group runs its jobs in the order of
# their lane hints, not as they came (writer.h), so both hosts' groups
# take the products in one order: no deadlock between them. (Taken as they
# came, this made deadlocks in every run.)
stop_server
sql "UPDATE products SET stock = 100000" >/dev/null	# no 409: all are sold
ONCESHOP_WRITERS=1 start_server
ONCESHOP_WRITERS=1 start_second_host
deadlocks=$(deadlocks)
orders=$(sql 'SELECT count(*) FROM orders')
random_orders hosts "$BASE" "$B"
is "$(sort "$TMP/hosts.status" | uniq -c | awk '{print $1, $2}')" "400 201" \
	"two hosts of one writer each, 400 orders of four products at random: all 201"
is "$(($(sql 'SELECT count(*) FROM orders') - orders)) $(($(deadlocks) - deadlocks))" "400 0" \
	"... 400 orders, and no deadlock between the hosts"
done_testing
