#!/usr/bin/env bash
# On PostgreSQL a writer sends an order's items and its stored answer with
# the next statement whose result it needs, often the next job's: one
# round trip less each. When one of those writes fails, its job has
# already ended; the group is then rolled back and runs again with every
# write sent on its own, so that the failure is its job's alone: that
# order gets its 500 with nothing written, and every other job of the
# group answers once, as if nothing had happened.
#
# The failure: a trigger refuses an item of quantity 7. The group: one
# writer (ONCESHOP_WRITERS=1) kept busy by an order that waits for a row
# a psql session holds, while five orders queue behind it and then run
# in one group; the third of them has quantity 7.
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP SQLite runs each statement on its own: no write is sent later"; exit 0; }
export ONCESHOP_WRITERS=1
start_server
sql "CREATE FUNCTION no_seven() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.quantity = 7 THEN RAISE EXCEPTION 'no item of seven'; END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER no_seven BEFORE INSERT ON order_items
	FOR EACH ROW EXECUTE FUNCTION no_seven()" >/dev/null
orders=$(sql 'SELECT count(*) FROM orders')
stock() { sql "SELECT stock FROM products WHERE sku = 'TEA-SENCHA'"; }
before=$(stock)

# writer_busy KEY: the one writer waits 1.5 s with an order (under KEY)
# whose product's row a psql session holds; what is sent meanwhile
# queues behind it, for one group.
writer_busy() {
	hold_row "$1" 1.5
	curl -s --max-time 20 -o /dev/null "$BASE/orders" -H "$ALICE" -H "$JSON" \
		-H "Idempotency-Key: $1" -d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}' &
	sleep 0.3
}

order() {	# order N QUANTITY: in the background, status and body to $TMP/o-N.*
	curl -s --max-time 20 -o "$TMP/o-$1.body" -w '%{http_code}' "$BASE/orders" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: late-$1" \
		-d "{\"items\":[{\"sku\":\"TEA-SENCHA\",\"quantity\":$2}]}" >"$TMP/o-$1.status" &
}

# One order alone: its failure is found at the COMMIT.
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: late-alone" \
	-d '{"items":[{"sku":"TEA-SENCHA","quantity":7}]}'
is "$STATUS $(json .type)" "500 /problems/internal-error" \
	"an order whose item the database refuses gets 500, even when the refusal comes after its job"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'late-alone'")" 0 \
	"... its key is not stored: a retry may run it again"

writer_busy late-mug
for i in 1 2 3 4 5; do
	order "$i" "$([ "$i" = 3 ] && echo 7 || echo 1)"
	sleep 0.15
done
for _ in $(seq 200); do
	n=0
	for i in 1 2 3 4 5; do [ -s "$TMP/o-$i.status" ] && n=$((n + 1)); done
	[ "$n" = 5 ] && break
	sleep 0.1
done

is "$(for i in 1 2 3 4 5; do cat "$TMP/o-$i.status"; echo; done | paste -sd' ')" "201 201 500 201 201" \
	"five orders in one group, the third refused after its job: it alone gets 500, every other one 201"
groups=$(grep -o 'key=late-[1245] outcome=new stored=yes group=[0-9]*' "$TMP/error.log" |
	sed 's/.*group=//' | sort -u | paste -sd' ')
like "$groups" '^[0-9]+$' "... the four were answered from one group, each logged as new (the run rolled back says nothing)"
like "$(grep -c 'failed after its job ended; the group runs again' "$TMP/error.log")" '^[1-9]' \
	"... which ran again after the late failure (the server log says so)"
is "$(($(sql 'SELECT count(*) FROM orders') - orders))" 5 \
	"five orders written (the mug's and four sencha), not the refused one"
is "$(($(stock) - before))" -4 "... the sencha's stock went down by four, nothing for the refused order"
is "$(sql "SELECT count(*) FROM order_items WHERE quantity = 7")" 0 "... and no item of seven"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key LIKE 'late-%' AND status = 'completed'")" 5 \
	"... five answers stored: the refused order's key is free"
for i in 1 2; do order_replays "late-$i" TEA-SENCHA "$TMP/o-$i.body"; done

sql 'DROP TRIGGER no_seven ON order_items' >/dev/null
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: late-3" \
	-d '{"items":[{"sku":"TEA-SENCHA","quantity":7}]}'
is "$STATUS $(json '.items[0].quantity')" "201 7" \
	"once the database takes it, the refused order's retry makes the order"
is "$(($(stock) - before))" -11 "... and takes its seven from stock, once"

# The order's row is sent later too, with its items and its answer: a
# refusal of the row itself is found after its job, and handled the same.
# The failure: a trigger refuses an order whose total is six sencha.
six=$(($(sql "SELECT price FROM products WHERE sku = 'TEA-SENCHA'") * 6))
sql "CREATE FUNCTION no_six() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.total = $six THEN RAISE EXCEPTION 'no order of six'; END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER no_six BEFORE INSERT ON orders
	FOR EACH ROW EXECUTE FUNCTION no_six()" >/dev/null
orders=$(sql 'SELECT count(*) FROM orders')
before=$(stock)
reruns=$(grep -c 'failed after its job ended; the group runs again' "$TMP/error.log")
writer_busy six-mug
for i in 11 12 13; do
	order "$i" "$([ "$i" = 12 ] && echo 6 || echo 1)"
	sleep 0.15
done
for _ in $(seq 200); do
	n=0
	for i in 11 12 13; do [ -s "$TMP/o-$i.status" ] && n=$((n + 1)); done
	[ "$n" = 3 ] && break
	sleep 0.1
done
is "$(for i in 11 12 13; do cat "$TMP/o-$i.status"; echo; done | paste -sd' ')" "201 500 201" \
	"three orders in one group, the second's row refused after its job: it alone gets 500"
like "$(($(grep -c 'failed after its job ended; the group runs again' "$TMP/error.log") - reruns))" '^[1-9]' \
	"... found after its job ended: the group ran again (the server log says so)"
is "$(($(sql 'SELECT count(*) FROM orders') - orders))" 3 \
	"... three orders written (the mug's and two sencha), not the refused one"
is "$(($(stock) - before))" -2 "... the sencha's stock went down by two, nothing for the refused order"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'late-12'")" 0 \
	"... and its key is free"
ids=$(for i in 11 13; do jq -r .id "$TMP/o-$i.body"; done | paste -sd' ')
is "$(sql "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id IN (${ids// /,}) AND i.sku = 'TEA-SENCHA'")" 2 \
	"... the two orders answered are there, under the ids they were given, with their items"
sql 'DROP TRIGGER no_six ON orders' >/dev/null
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: late-12" \
	-d '{"items":[{"sku":"TEA-SENCHA","quantity":6}]}'
is "$STATUS $(json '.items[0].quantity')" "201 6" \
	"once the database takes it, the refused order's retry makes the order"
id=$(json .id)
req GET "/orders/$id" -H "$ALICE"
is "$STATUS $(json .total)" "200 $six" "... under the id its answer names"

# A copy that finds the first copy's answer inside their group (its claim
# meets the first's) replays it; if that group then fails at its COMMIT,
# the answer was never committed, and a retry must not be given it from
# the replay cache. The failure: a deferred trigger refuses an item of
# nine when the transaction commits.
sql "CREATE FUNCTION no_nine() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.quantity = 9 THEN RAISE EXCEPTION 'no item of nine'; END IF;
	RETURN NULL;
END \$\$;
CREATE CONSTRAINT TRIGGER no_nine AFTER INSERT ON order_items
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_nine()" >/dev/null
writer_busy nine-mug
nine='{"items":[{"sku":"TEA-SENCHA","quantity":9}]}'
pids=()
for i in 1 2; do
	curl -s --max-time 20 -o "$TMP/n-$i.body" -w '%{http_code}' "$BASE/orders" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: nine" -d "$nine" >"$TMP/n-$i.status" &
	pids+=($!)
	sleep 0.15
done
wait "${pids[@]}"
like "$(cat "$TMP/n-1.status") $(cat "$TMP/n-2.status")" '^5[0-9][0-9] 5[0-9][0-9]$' \
	"two copies in one group whose COMMIT fails: neither is told it was made"
is "$(grep -o 'key=nine outcome=unknown stored=no group=[0-9]*' "$TMP/error.log" |
	sed 's/.*group=//' | sort | uniq -c | awk '{ print $1 }')" 2 \
	"... both ran in one group: the second met the first's claim there (the server log says so)"
sql 'DROP TRIGGER no_nine ON order_items' >/dev/null
req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: nine" -d "$nine"
is "$STATUS $(header Idempotent-Replayed)" "201 " \
	"... their retry makes the order: the answer that was never committed is not replayed"
id=$(json .id)
req GET "/orders/$id" -H "$ALICE"
is "$STATUS $(json '.items[0].quantity')" "200 9" "... and the order it names is there"

done_testing
