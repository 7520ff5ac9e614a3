#!/usr/bin/env bash
# The writer's group commit, made visible. A sqlite3 shell holds the write
# lock while a burst of POSTs arrives: none is stored yet, so each passes the
# replay read and queues for the writer, which is waiting for the lock. When
# the lock goes, the writer takes the whole queue as one group (the log line
# of each request says group=N). So it is known which requests shared a
# transaction, and what each must see:
#   - thirty copies of one request: one order, the others answered from the
#     row the first wrote, in the same group, byte for byte;
#   - one handler failing in a group: the others are committed;
#   - a COMMIT failing: every request of the group gets a 5xx, nothing is
#     written, and the same keys then succeed.
export ONCESHOP_BUSY_TIMEOUT_MS=5000
. "$(dirname "$0")/lib.sh"
sqlite_only "the single writer's group commit, made visible by a sqlite3 shell holding SQLite's lock (PostgreSQL has no such lock)"
start_server

# hold_lock SECONDS: a writer outside onceshop holds the lock that long;
# returns once it holds it.
hold_lock() {
	rm -f "$TMP/locked"
	( printf 'BEGIN IMMEDIATE;\n.shell touch %s\n' "$TMP/locked"
	  sleep "$1"; printf 'ROLLBACK;\n' ) | sqlite3 "$ONCESHOP_DB" &
	HOLDER=$!
	for _ in $(seq 50); do [ -f "$TMP/locked" ] && return; sleep 0.05; done
	echo "Bail out! could not take the write lock"; exit 1
}

# burst NAME KEY BODY...: one POST /orders per BODY, under KEY-<i> (or KEY
# itself when KEY ends in "="), all started at once; answers in $TMP/NAME.
burst() {
	local name=$1 key=$2 i=0 k
	shift 2
	mkdir -p "$TMP/$name"
	for body; do
		i=$((i + 1)); k=${key%=}; [ "$k" = "$key" ] && k=$key-$i
		curl -s --max-time 20 -o "$TMP/$name/$i.body" -D "$TMP/$name/$i.hdr" \
			-w '%{http_code}\n' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
			-H "Idempotency-Key: $k" -d "$body" > "$TMP/$name/$i.status" &
	done
}
statuses() { cat "$TMP/$1"/*.status | sort | uniq -c | awk '{printf "%s %s;", $1, $2}'; }
groups_of() { grep "key=$1" "$TMP/error.log" | grep -o 'group=[0-9]*' | sort -u; }

tea='{"items":[{"sku":"TEA-SENCHA","quantity":1}]}'
pot='{"items":[{"sku":"POT-TETSU","quantity":1}]}'

# --- thirty copies of one request, in one group -----------------------------
hold_lock 2
burst twins twin= $(for i in $(seq 30); do echo "$tea"; done)
wait "$HOLDER"; wait $(jobs -p | grep -v "^$SERVER_PID\$")
is "$(statuses twins)" "30 201;" "30 copies sent while the lock was held: all 201"
is "$(sql 'SELECT count(*) FROM orders')" 1 "... one order"
is "$(md5sum "$TMP"/twins/*.body | awk '{print $1}' | sort -u | wc -l)" 1 "... 30 identical bodies"
is "$(cat "$TMP"/twins/*.hdr | tr -d '\r' | grep -ci '^Idempotent-Replayed: true$')" 29 \
	"... 29 of them replayed"
is "$(groups_of twin | wc -l)" 1 "... all in one group of the writer"
is "$(grep 'key=twin outcome=replayed stored=no group=' "$TMP/error.log" | grep -c ' status=201 ')" 29 \
	"... the copies answered inside the group, from the row the first wrote"

# --- a handler failing inside a group ----------------------------------------
sqlite3 "$ONCESHOP_DB" "CREATE TRIGGER inject_abort BEFORE INSERT ON order_items
	WHEN NEW.sku = 'POT-TETSU' BEGIN SELECT RAISE(ABORT, 'injected'); END"
orders=$(sql 'SELECT count(*) FROM orders')
hold_lock 2
burst mixed mixed "$tea" "$tea" "$pot" "$tea" "$tea"
wait "$HOLDER"; wait $(jobs -p | grep -v "^$SERVER_PID\$")
is "$(groups_of mixed- | wc -l)" 1 "five orders sent while the lock was held share one group"
is "$(cat "$TMP"/mixed/3.status) $(cat "$TMP"/mixed/{1,2,4,5}.status | tr '\n' ' ')" \
	"500 201 201 201 201 " "the teapot's handler failed (500); the four others are 201"
is "$(sql 'SELECT count(*) FROM orders') $(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key LIKE 'mixed-%'")" \
	"$((orders + 4)) 4" "... and committed: four orders, four keys, none for the teapot"
sqlite3 "$ONCESHOP_DB" "DROP TRIGGER inject_abort"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: mixed-3' -d "$pot"
is "$STATUS $(header Idempotent-Replayed)" "201 " "the teapot's key, retried, makes its order"

# --- a COMMIT failing ----------------------------------------------------------
# A deferred foreign key fails at COMMIT, for the whole group.
sqlite3 "$ONCESHOP_DB" "CREATE TABLE inject_parent (id INTEGER PRIMARY KEY);
	CREATE TABLE inject_child (pid INTEGER REFERENCES inject_parent(id)
	  DEFERRABLE INITIALLY DEFERRED);
	CREATE TRIGGER inject_commit AFTER INSERT ON orders WHEN NEW.total = 9800
	  BEGIN INSERT INTO inject_child VALUES (424242); END"
orders=$(sql 'SELECT count(*) FROM orders')
hold_lock 2
burst commit commit "$tea" "$pot" "$tea"
wait "$HOLDER"; wait $(jobs -p | grep -v "^$SERVER_PID\$")
is "$(groups_of commit- | wc -l)" 1 "three orders, one of which fails the COMMIT, share one group"
is "$(statuses commit)" "3 500;" "... every request of the group is 500"
like "$(jq -r .detail "$TMP"/commit/1.body)" "unknown.*same key" \
	"... whose detail says the outcome is unknown and to retry with the same key"
is "$(sql 'SELECT count(*) FROM orders') $(sql "SELECT count(*) FROM idempotency_keys WHERE idem_key LIKE 'commit-%'")" \
	"$orders 0" "... and nothing of the group was written"
sqlite3 "$ONCESHOP_DB" "DROP TRIGGER inject_commit"
for i in 1 2 3; do
	body=$tea; [ $i = 2 ] && body=$pot
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: commit-$i" -d "$body"
	is "$STATUS $(header Idempotent-Replayed)" "201 " "commit-$i retried: a new 201"
done
is "$(sql 'SELECT count(*) FROM orders')" "$((orders + 3))" "... one order per key"
integrity_ok
done_testing
