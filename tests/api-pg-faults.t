#!/usr/bin/env bash
# Faults injected on PostgreSQL with triggers that fail a statement once:
# a sequence counts the tries, and unlike the rows, a sequence keeps its
# count through a rollback. (api-faults.t does the same on SQLite.)
#   - a refusal (422) whose key cannot be claimed again after its writes
#     are undone: a 500 that says so, not a 500 carrying the 422's body;
#   - a payment whose first run meets a serialization failure: run again,
#     it reaches the provider and answers 201, one charge;
#   - a writer's group of orders that meets one: rolled back whole and run
#     again, every order answered 201 exactly once (api-pg-deadlock.t does
#     the same for a deadlock).
. "$(dirname "$0")/lib.sh"
[ "$ENGINE" = postgres ] || { echo "1..0 # SKIP PostgreSQL triggers and sequences"; exit 0; }
# No completer: it would take a released payment over whenever its tick
# falls between the 500 and the client's retry (as api-payments-faults.t).
export ONCESHOP_COMPLETER_MS=0
start_server

# fail_once NAME TABLE CONDITION SQLSTATE: the N-th insert into TABLE that
# meets CONDITION (on NEW) fails with SQLSTATE, for N in FAILS (a list).
fail_on() {
	sql "CREATE SEQUENCE $1_seq;
	CREATE FUNCTION $1() RETURNS trigger LANGUAGE plpgsql AS \$\$
	BEGIN
		IF nextval('$1_seq') IN ($5) THEN
			RAISE EXCEPTION 'injected by the test' USING ERRCODE = '$4';
		END IF;
		RETURN NEW;
	END \$\$;
	CREATE TRIGGER $1 BEFORE INSERT ON $2 FOR EACH ROW WHEN ($3) EXECUTE FUNCTION $1();" >/dev/null
}

# ---- defect: a refusal whose key cannot be claimed again -----------------
# The first claim passes; the handler refuses (unknown product: 422), its
# writes are undone with the claim, and the claim again fails.
fail_on reclaim idempotency_keys "NEW.idem_key = 'reclaim-fails'" P0001 2
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: reclaim-fails' \
	-d '{"items":[{"sku":"NO-SUCH-SKU","quantity":1}]}'
is "$STATUS $(json .type) $(json .status)" "500 /problems/internal-error 500" \
	"a refusal whose key cannot be claimed again: a 500 internal-error, its body too (not the 422's)"
is "$(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key = 'reclaim-fails'")" 0 "... nothing stored"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: reclaim-fails' \
	-d '{"items":[{"sku":"NO-SUCH-SKU","quantity":1}]}'
is "$STATUS $(json .type)" "422 /problems/unknown-product" "... and the retry gets the 422, stored"

# ---- defect: a payment run again after a serialization failure ------------
fail_on retry_pay payments "true" 40001 1
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: retry-order' \
	-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
o=$(json .id)
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: retry-pay' \
	-d "{\"order_id\":$o,\"amount\":600,\"currency\":\"JPY\"}"
is "$STATUS $(json .status)" "201 succeeded" \
	"a payment whose first run met a serialization failure is run again: 201"
is "$(payment_facts "$o" retry-pay)" "charges=1 payments=succeeded order=paid key=completed/finished" \
	"... one charge, the payment succeeded, the order paid, the key completed"
is "$(sql "SELECT last_value FROM retry_pay_seq")" 2 "... (the trigger saw two tries)"
# ---- a group of orders that meets a serialization failure ---------------
# A psql session holds MUG-KYOTO's row: the first mug order waits for it in
# a group of its own, and four more queue behind it, to be one group when
# the row is released. The third order row written fails once with 40001:
# the second of that group's. (MUG-KYOTO's writer does not sweep keys.)
fail_on group_retry orders "true" 40001 3
orders_before=$(sql 'SELECT count(*) FROM orders')
mugs_before=$(sql "SELECT stock FROM products WHERE sku = 'MUG-KYOTO'")
hold_row g 1.5
pids=()
for i in 1 2 3 4 5; do
	curl -s --max-time 20 -o "$TMP/g-$i.body" -w '%{http_code}' "$BASE/orders" \
		-H "$ALICE" -H "$JSON" -H "Idempotency-Key: group-$i" \
		-d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}' >"$TMP/g-$i.status" &
	pids+=($!)
	[ "$i" = 1 ] && sleep 0.5
done
wait "${pids[@]}"
is "$(for i in 1 2 3 4 5; do cat "$TMP/g-$i.status"; echo; done | paste -sd' ')" "201 201 201 201 201" \
	"a group of four orders meets a serialization failure: all five orders 201"
is "$(grep -c '(40001; in: INSERT INTO orders' "$TMP/error.log")" 1 \
	"... the server log names the failure once"
is "$(for i in 1 2 3 4 5; do grep -c "key=group-$i outcome=new stored=yes" "$TMP/error.log"; done | paste -sd' ')" \
	"1 1 1 1 1" "... each order answered once"
groups=$(for i in 2 3 4 5; do grep -o "key=group-$i outcome=new stored=yes group=[0-9]*" "$TMP/error.log" |
	sed 's/.*group=//'; done | sort -u)
first=$(grep -o 'key=group-1 outcome=new stored=yes group=[0-9]*' "$TMP/error.log" | sed 's/.*group=//')
is "$(wc -l <<<"$groups") $((groups > first + 1))" "1 1" \
	"... the four of the failed group in one group, run again after it was rolled back"
is "$(($(sql 'SELECT count(*) FROM orders') - orders_before)) $(sql "SELECT stock FROM products WHERE sku = 'MUG-KYOTO'")" \
	"5 $((mugs_before - 5))" "... five orders, the mug's stock down by five"
is "$(sql "SELECT last_value FROM group_retry_seq")" 7 "... (the trigger saw seven order rows: one undone)"
order_replays group-1 MUG-KYOTO "$TMP/g-1.body"
order_replays group-3 MUG-KYOTO "$TMP/g-3.body"
sql "DROP TRIGGER group_retry ON orders" >/dev/null

# ---- defect: a local step after the provider says "later" ---------------
# Recording the provider's answer fails once: the charge happened, the
# answer is a 500, the key goes back to payment-created with its lease
# given up, so the client's immediate retry resumes (no 409 until the
# lease runs out) and the provider replays its charge.
sql "CREATE SEQUENCE settle_seq;
CREATE FUNCTION settle_fails() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
	IF NEW.status <> OLD.status AND nextval('settle_seq') = 1 THEN
		RAISE EXCEPTION 'injected by the test';
	END IF;
	RETURN NEW;
END \$\$;
CREATE TRIGGER settle_fails BEFORE UPDATE ON payments FOR EACH ROW EXECUTE FUNCTION settle_fails();" >/dev/null
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: settle-order' \
	-d '{"items":[{"sku":"BISCUIT-SEMBEI","quantity":1}]}'
o=$(json .id)
pay() {
	req POST /payments/confirm -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: settle-pay' \
		-d "{\"order_id\":$o,\"amount\":600,\"currency\":\"JPY\"}"
}
pay
is "$STATUS $(payment_facts "$o" settle-pay)" "500 charges=1 payments=pending order=pending key=processing/payment-created" \
	"recording the provider's answer fails: 500; charged once, the key back at payment-created"
is "$(sql "SELECT lease_owner IS NULL FROM idempotency_keys WHERE idem_key = 'settle-pay'")" t \
	"... its lease given up"
pay
is "$STATUS $(payment_facts "$o" settle-pay)" "201 charges=1 payments=succeeded order=paid key=completed/finished" \
	"... so the retry at once resumes it: 201, still one charge"
done_testing
