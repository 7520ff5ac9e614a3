#!/usr/bin/env bash
# Faults below the database, each followed by a retry of every key with the
# same body and a count of rows: nothing lost, nothing doubled, and every
# answer honest (a 5xx problem+json whose detail claims no success, and
# says "nothing was written" only when that is true: such a key must not
# replay on its retry).
#
#  1. A full disk: the database on a small tmpfs, filled with a filler
#     file, so the WAL's growth gets ENOSPC (SQLITE_FULL) mid-burst.
#  2. I/O errors: the WAL's pwrite and the COMMIT's fdatasync fail during
#     a burst; random pwrite failures; an fdatasync failure followed by a
#     crash, after which SQLite's WAL recovery may bring the "failed"
#     commit back (why such a failure must be answered "unknown").
#  3. A crash after COMMIT, before the answer is out: the answer's write
#     to lighttpd fails, then the process is SIGKILLed; the retry replays.
#
# (A writer stuck past the busy timeout: api-stuck-writer.t.)
#
# Faults 2 and 3 use libfiu (Debian's fiu-utils), not an SQLite VFS shim
# of our own: fiu-run preloads a library that fails the real POSIX calls
# (pwrite for WAL frames, fdatasync at COMMIT, libfcgi's write(2) to
# lighttpd), in the unchanged binary, sanitizer build included, with no
# test-only code in the product; and fiu-ctrl switches a fault on and off
# in the running process, so one server lives through fault and recovery
# and the test can tell whether it recovered without a restart.
. "$(dirname "$0")/lib.sh"
sqlite_only "a full disk and failed writes under SQLite's own files (tmpfs, libfiu)"

# libfiu's wrappers share their state between threads in ways
# ThreadSanitizer reports as races (in libfiu, not in onceshop): make tsan
# skips this file; make test and make asan run it.
if ldd "$BIN" 2>/dev/null | grep -q libtsan; then
	echo "1..0 # SKIP libfiu's own wrappers race under ThreadSanitizer"
	exit 0
fi

REAL_BIN=$(readlink -f "$BIN")
DISK=$TMP/disk
MOUNTED=

# workers: this server's onceshop processes, which run REAL_BIN (also
# when spawned through the fiu wrapper).
workers_real() { workers "$SERVER_PID" "$REAL_BIN"; }

cleanup() {
	stop_server
	if [ -n "$MOUNTED" ]; then
		umount "$DISK" 2>/dev/null || umount -l "$DISK"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# skip DESCRIPTION REASON: a TAP test skipped.
skip() { TESTS=$((TESTS + 1)); echo "ok $TESTS - $1 # SKIP $2"; }

# ---- keys, bodies, bursts ----------------------------------------------

declare -A BODY_OF	# key -> its body (one line item)
declare -A WANT		# key -> "SKU:quantity", the order it stands for
declare -A NOTHING	# key -> 1 if a 5xx for it said nothing was written
declare -A DETAILS	# "status detail" -> how many 5xx answers gave it
ALL=()			# every key of the current server, in order
NEXT=0
SUCCESS_RE='succe|created|placed|accepted|confirmed|committed|completed'
NOTHING_RE='[Nn]othing (was|has been) (written|saved|stored)|rolled back|(was|were) not (written|saved|stored)'

# new_keys PREFIX N: N new keys PREFIX-1..N with their bodies, in K.
new_keys() {
	local i sku qty
	K=()
	for i in $(seq "$2"); do
		NEXT=$((NEXT + 1))
		((NEXT % 2)) && sku=TEA-SENCHA || sku=TEA-MATCHA
		qty=$((NEXT % 3 + 1))
		K+=("$1-$i")
		ALL+=("$1-$i")
		BODY_OF[$1-$i]="{\"items\":[{\"sku\":\"$sku\",\"quantity\":$qty}]}"
		WANT[$1-$i]=$sku:$qty
	done
}

# fire NAME KEY...: POSTs every KEY with its body to /orders, all at once;
# the answers land in $TMP/NAME/KEY.status, .headers and .body.
fire() {
	local dir=$TMP/$1 k pids=() args=()
	shift
	mkdir -p "$dir"
	# Each curl starts and waits for its body on a FIFO; writing the
	# bodies then sends them all at once.
	for k; do
		mkfifo "$dir/$k.in"
		curl -s --max-time 20 -o "$dir/$k.body" -D "$dir/$k.headers" \
			-w '%{http_code}' -X POST "$BASE/orders" -H "$ALICE" -H "$JSON" \
			-H "Idempotency-Key: $k" --data-binary "@$dir/$k.in" \
			> "$dir/$k.status" &
		pids+=($!)
		args+=("$dir/$k.in" "${BODY_OF[$k]}")
	done
	timeout 10 bash -c 'while [ $# -gt 0 ]; do printf %s "$2" > "$1"; shift 2; done' \
		- "${args[@]}" || kill "${pids[@]}" 2>/dev/null
	wait "${pids[@]}"
}

# answer NAME KEY: that answer becomes the last response (STATUS, BODY,
# HEADERS), for header, json and problem.
answer() {
	STATUS=$(cat "$TMP/$1/$2.status")
	BODY=$(cat "$TMP/$1/$2.body" 2>/dev/null)	# none if curl failed
	HEADERS=$(tr -d '\r' 2>/dev/null < "$TMP/$1/$2.headers")
}

# post KEY: POSTs KEY with its body, as the last response.
post() {
	req POST /orders -H "$ALICE" -H "$JSON" -H "Idempotency-Key: $1" \
		--max-time 20 -d "${BODY_OF[$1]}"
}

# key_row KEY: "status response_status order-id" of alice's KEY, or "".
key_row() {
	sql "SELECT status || ' ' || coalesce(response_status, '-') || ' ' ||
	       coalesce(json_extract(CAST(response_body AS TEXT), '\$.id'), '-')
	     FROM idempotency_keys WHERE idem_key = '$1' AND operation = 'create-order'
	       AND user_id = (SELECT id FROM users WHERE name = 'alice')"
}

# jx PATH...: the values at the JSON PATHs ('$.id') of the last response
# body, one a line; empty lines if it is not JSON (one sqlite3, no jq: a
# test this size would spend seconds starting jq).
jx() {
	local lit=${BODY//\'/\'\'} p q=''
	for p; do q+="${q:+, }json_extract(j, '$p')"; done
	sqlite3 -separator $'\n' :memory: "SELECT $q FROM (SELECT CASE WHEN json_valid('$lit')
	    THEN '$lit' ELSE '{}' END AS j)" 2>/dev/null
}

# whole KEY: the last response is a 201 for KEY that is entirely there: its
# body is the key's order, the key's row is completed with 201 and this
# order id, and the order is alice's with exactly the key's line item.
whole() {
	local lit=${BODY//\'/\'\'}
	[ "$(sql "SELECT k.status || ' ' || k.response_status || ' ' || u.name || ' ' ||
	       (SELECT group_concat(sku || ':' || quantity) FROM order_items WHERE order_id = o.id)
	       || ' ' || json_extract(b.j, '\$.items[0].sku') || ':'
	       || json_extract(b.j, '\$.items[0].quantity') || ' ' || json_array_length(b.j, '\$.items')
	     FROM (SELECT '$lit' AS j WHERE json_valid('$lit')) b, idempotency_keys k
	       JOIN users u ON u.id = k.user_id
	       JOIN orders o ON o.id = json_extract(CAST(k.response_body AS TEXT), '\$.id')
	         AND o.user_id = u.id
	     WHERE k.idem_key = '$1' AND k.operation = 'create-order'
	       AND o.id = json_extract(b.j, '\$.id')")" \
	  = "completed 201 alice ${WANT[$1]} ${WANT[$1]} 1" ]
}

# honest KEY: the last response, a 5xx for KEY, is an honest problem:
# problem+json with its own status, a detail that claims no success, no
# Location; if it says nothing was written, nothing is there (noted in
# NOTHING, for the retry to check).
honest() {
	local status detail
	{ read -r status; read -r detail; } < <(jx '$.status' '$.detail')
	DETAILS["$STATUS $detail"]=$((${DETAILS["$STATUS $detail"]:-0} + 1))
	[[ $STATUS =~ ^5[0-9][0-9]$ ]] && [ "$status" = "$STATUS" ] &&
	[ "$(header Content-Type)" = application/problem+json ] &&
	[ -n "$detail" ] && [ -z "$(header Location)" ] &&
	! grep -qiE "$SUCCESS_RE" <<<"$detail" || return 1
	if grep -qE "$NOTHING_RE" <<<"$detail"; then
		NOTHING[$1]=1
		[ -z "$(key_row "$1")" ] || return 1
	fi
	return 0
}

# judge NAME KEY...: every answer of burst NAME is a 201 entirely there (the
# first 201 of a key is kept as its reference, a later one must equal it)
# or an honest 5xx. Sets WON and LOST (keys).
judge() {
	local name=$1 k bad='' lie='' other=''
	shift
	WON=() LOST=()
	for k; do
		answer "$name" "$k"
		case $STATUS in
		201)	WON+=("$k")
			whole "$k" || bad+=" $k"
			if [ -f "$TMP/ref/$k" ]; then
				cmp -s "$TMP/$name/$k.body" "$TMP/ref/$k" || bad+=" $k(differs)"
			else
				cp "$TMP/$name/$k.body" "$TMP/ref/$k"
			fi ;;
		5[0-9][0-9])
			LOST+=("$k")
			honest "$k" || lie+=" $k($STATUS: $BODY)" ;;
		*)	other+=" $k=$STATUS" ;;
		esac
	done
	echo "# $name: $# requests, ${#WON[@]} answered 201, ${#LOST[@]} answered 5xx"
	is "$other" "" "$name: every answer is a 201 or a 5xx"
	is "$bad" "" "$name: each 201 is entirely there (key row completed, the order with its item)"
	is "$lie" "" "$name: each 5xx is an honest problem+json (no success claimed, no Location, 'nothing written' only if so)"
}

# settle NAME KEY...: the fault is gone. Every KEY retried with its body is
# a 201 entirely there: a key that had a 201 replays it byte for byte, a
# key whose 5xx said nothing was written is a new order. Then one order
# per key of the server, and the stock moved once per key.
settle() {
	local name=$1 k bad='' deadline=$((SECONDS + 30))
	shift
	for k; do
		# A 5xx from lighttpd while it starts a new worker is retried
		# (bounded).
		for _ in $(seq 30); do
			post "$k"
			[[ $STATUS =~ ^5 ]] && [ "$SECONDS" -lt "$deadline" ] || break
			sleep 0.1
		done
		if [ "$STATUS" != 201 ] || ! whole "$k"; then
			bad+=" $k($STATUS)"
		elif [ -f "$TMP/ref/$k" ]; then
			[ "$(header Idempotent-Replayed)" = true ] && cmp -s "$TMP/body" "$TMP/ref/$k" ||
				bad+=" $k(not-replayed-identically)"
		else
			[ -n "${NOTHING[$k]:-}" ] && [ -n "$(header Idempotent-Replayed)" ] &&
				bad+=" $k(said-nothing-written-but-replays)"
			cp "$TMP/body" "$TMP/ref/$k"
		fi
	done
	is "$bad" "" "$name: retried with the same body, each of the $# keys is 201, entirely there; earlier 201s replayed byte for byte"
	totals "$name"
}

# totals NAME: one order and one completed key per key of this server,
# distinct ids, the stock moved once per key, the database intact.
totals() {
	local k ids want_s=0 want_m=0 item
	ids=$(cd "$TMP/ref" && jq -r .id "${ALL[@]}" 2>/dev/null | sort -u | grep -c '^[0-9]')
	is "$(sql 'SELECT count(*) FROM orders') $(sql "SELECT count(*) FROM idempotency_keys
	      WHERE status = 'completed' AND response_status = 201") $ids" \
		"${#ALL[@]} ${#ALL[@]} ${#ALL[@]}" \
		"$1: exactly one order and one completed key per key, ${#ALL[@]} in all, each its own id"
	for k in "${ALL[@]}"; do
		item=${WANT[$k]}
		case $item in
		TEA-SENCHA:*) want_s=$((want_s + ${item#*:})) ;;
		*) want_m=$((want_m + ${item#*:})) ;;
		esac
	done
	is "$(sql "SELECT group_concat(stock, ' ') FROM (SELECT stock FROM products
	      WHERE sku IN ('TEA-SENCHA', 'TEA-MATCHA') ORDER BY sku DESC)")" \
		"$((1000 - want_s)) $((500 - want_m))" "$1: the stock went down once per key"
	is "$(sql 'PRAGMA integrity_check')" ok "$1: PRAGMA integrity_check is ok"
}

# new_server: a fresh database at ONCESHOP_DB and a server on it; WORKER
# is its onceshop process.
new_server() {
	rm -f "$ONCESHOP_DB" "$ONCESHOP_DB"-wal "$ONCESHOP_DB"-shm
	rm -rf "$TMP/ref"
	mkdir -p "$TMP/ref"
	ALL=() NOTHING=() DETAILS=()
	start_server
	WORKER=$(workers_real)
	LOG_FROM=$(wc -l < "$TMP/error.log")
}

# log_since: the server log since the last new_server or report.
log_since() { tail -n +$((LOG_FROM + 1)) "$TMP/error.log"; }

# report NAME: what the 5xx answers said, and the log's error lines.
report() {
	local d
	for d in "${!DETAILS[@]}"; do echo "# $1 answered ${DETAILS[$d]}x: $d"; done
	log_since | grep -E 'error|signalled|died|unexpected' |
		sed 's/ rid=.*//; s/^[0-9-]* [0-9:]*: //; s/pid: [0-9]*/pid: N/; s/onceshop-test\.[^/]*/TMP/' |
		sort | uniq -c | sed "s/^ */# $1 log: /"
	DETAILS=()
	LOG_FROM=$(wc -l < "$TMP/error.log")
}

# same_worker NAME: the server came through without a restart.
same_worker() {
	is "$(workers_real)" "$WORKER" "$1: the same onceshop process served before, during and after the fault (no restart)"
}

# ---- 1. a full disk ------------------------------------------------------

mkdir "$DISK"
if [ "$(id -u)" -ne 0 ]; then
	skip "full disk" "not root: mounting a small tmpfs for the database needs root"
elif ! err=$(mount -t tmpfs -o size=4m,mode=0700 onceshop-test "$DISK" 2>&1); then
	skip "full disk" "mount -t tmpfs refused: $err"
else
	MOUNTED=1
	export ONCESHOP_DB=$DISK/onceshop.db
	new_server
	new_keys full-warm 3
	fire full-warm "${K[@]}"
	judge full-warm "${K[@]}"
	# Fill the file system, then leave 192 KiB: a few groups' WAL frames.
	dd if=/dev/zero of="$DISK/filler" bs=64k 2>/dev/null
	truncate -s -192K "$DISK/filler"
	echo "# full disk: $(df -k --output=avail "$DISK" | tail -1 | tr -d ' ') KiB left on the tmpfs"
	# Bursts of new keys until answers turn 5xx (bounded).
	FULL=() FULL_LOST=()
	for round in $(seq 20); do
		new_keys "full-$round" 8
		FULL+=("${K[@]}")
		fire "full-$round" "${K[@]}"
		for k in "${K[@]}"; do
			[[ $(cat "$TMP/full-$round/$k.status") =~ ^5 ]] && FULL_LOST+=("$k")
		done
		[ ${#FULL_LOST[@]} -gt 0 ] && break
	done
	is "$(( ${#FULL_LOST[@]} > 0 ))" 1 \
		"full disk: answers turned 5xx ($round bursts of 8 sent, ${#FULL_LOST[@]} answers 5xx)"
	for r in $(seq "$round"); do
		judge "full-$r" $(cd "$TMP/full-$r" && ls *.status | sed 's/\.status$//')
	done
	# The status of a full disk: 507 insufficient storage, or 503 with
	# Retry-After (the retry may succeed once space is freed).
	bad=
	for k in "${FULL_LOST[@]}"; do
		answer "${k%-*}" "$k"
		[ "$STATUS" = 507 ] || { [ "$STATUS" = 503 ] && [ -n "$(header Retry-After)" ]; } ||
			bad+=" $k($STATUS)"
	done
	if [ -z "$bad" ]; then
		pass "full disk: each 5xx is 507 insufficient-storage, or 503 with Retry-After"
	else
		fail "full disk: each 5xx is 507 insufficient-storage, or 503 with Retry-After" \
			"got:$bad"
	fi

	# Still full: a failed key retried is again an honest 5xx, or a 201
	# entirely there (a group no bigger than the one that failed fits in
	# the WAL's space already taken); reads and replays go on.
	k=${FULL_LOST[0]:-full-1-1}
	post "$k"
	if [ "$STATUS" = 201 ] && whole "$k"; then
		cp "$TMP/body" "$TMP/ref/$k"
		ok=yes
		echo "# full disk: the failed key $k retried while still full was a 201"
	else
		honest "$k" && ok=yes || ok="no: $STATUS $BODY"
	fi
	is "$ok" yes "full disk: while still full, a failed key retried is an honest 5xx again (or a 201 entirely there)"
	req GET /health
	is "$STATUS" 200 "full disk: GET /health is 200 while the disk is full"
	post full-warm-1
	cmp -s "$TMP/body" "$TMP/ref/full-warm-1" && same=same || same=different
	is "$STATUS $(header Idempotent-Replayed) $same" "201 true same" \
		"full disk: a replay is answered while the disk is full"

	rm -f "$DISK/filler"
	settle "full disk, space freed" full-warm-1 full-warm-2 full-warm-3 "${FULL[@]}"
	same_worker "full disk"
	report "full disk"
	stop_server
	umount "$DISK" && MOUNTED=
fi

# ---- 2. I/O errors on write and on fsync (fiu) ---------------------------

if ! command -v fiu-run >/dev/null || ! command -v fiu-ctrl >/dev/null; then
	skip "I/O errors and crash after COMMIT" "fiu-run and fiu-ctrl (fiu-utils) are not installed"
	done_testing
	exit
fi

# lighttpd runs this wrapper: subcommands plain, serving under fiu-run with
# every fault off until fiu-ctrl turns one on. A sanitizer runtime must come
# first in LD_PRELOAD, so it goes before fiu's libraries.
san_rt=$(ldd "$REAL_BIN" 2>/dev/null | awk '/lib[at]san\.so/ { print $3 }')
cat > "$TMP/onceshop-fiu" <<EOF
#!/bin/sh
[ \$# -gt 0 ] && exec "$REAL_BIN" "\$@"
exec fiu-run -x -f "$TMP/fiu" /bin/sh -c 'LD_PRELOAD="$san_rt \$LD_PRELOAD" exec "\$0"' "$REAL_BIN"
EOF
chmod +x "$TMP/onceshop-fiu"
BIN=$TMP/onceshop-fiu
export ONCESHOP_DB=$TMP/io.db

# fault COMMAND: a fiu-ctrl command for the running worker.
fault() {
	timeout 10 fiu-ctrl -f "$TMP/fiu" -c "$1" "$WORKER" ||
		{ echo "Bail out! fiu-ctrl -c '$1' $WORKER failed"; exit 1; }
}

# respawned: after the worker died, waits (bounded) for lighttpd's new one.
respawned() {
	for _ in $(seq 50); do
		curl -sf --max-time 2 -o /dev/null "$BASE/health" && break
		sleep 0.1
	done
	WORKER=$(workers_real)
	[ -n "$WORKER" ]
}

# io_burst NAME FAILPOINT: with FAILPOINT failing every call (EIO), a burst
# of 10 new keys and the 3 warm keys' replays: every new key is an honest
# 5xx saying the outcome is unknown, every replay still its 201; then the
# fault is switched off and every key retried.
io_burst() {
	local name=$1 fp=$2 k bad='' detail
	new_keys "$name" 10
	fault "enable name=$fp,failinfo=5"
	fire "$name" "${K[@]}" io-warm-1 io-warm-2 io-warm-3
	fault "disable name=$fp"
	judge "$name" "${K[@]}" io-warm-1 io-warm-2 io-warm-3
	is "${#LOST[@]} ${#WON[@]}" "10 3" \
		"$name: with $fp failing, all 10 new keys are 5xx and the 3 replays 201"
	# After a failed COMMIT or fsync, the outcome is unknown: the detail
	# must say so and send the client back with the same key.
	for k in "${LOST[@]}"; do
		answer "$name" "$k"
		detail=$(jx '$.detail')
		[[ $detail =~ unknown && $detail =~ same\ key ]] || bad+=" $k"
	done
	is "$bad" "" "$name: ... each 5xx says the outcome is unknown and to retry with the same key"
	settle "$name" "${K[@]}" io-warm-1 io-warm-2 io-warm-3
	same_worker "$name"
	report "$name"
}

new_server
new_keys io-warm 3
fire io-warm "${K[@]}"
judge io-warm "${K[@]}"

io_burst pwrite posix/io/rw/pwrite
io_burst fdatasync posix/io/sync/fdatasync

# Random pwrite failures during bursts: any mix of 201 and 5xx, but every
# answer honest, and every key one order once the fault is off.
fault 'enable_random name=posix/io/rw/pwrite,probability=0.03,failinfo=5'
RANDOM_KEYS=()
for round in 1 2 3; do
	new_keys "random-$round" 12
	RANDOM_KEYS+=("${K[@]}")
	fire "random-$round" "${K[@]}"
	judge "random-$round" "${K[@]}"
done
fault 'disable name=posix/io/rw/pwrite'
settle "random pwrite" "${RANDOM_KEYS[@]}"
same_worker "random pwrite"
report "random pwrite"

# An fsync fails, then the process dies before anything else is written:
# the WAL frames were written, only not synced, so SQLite's recovery in the
# next process may find the "failed" commit. The retry must replay it or
# make it anew, once; an answer that said nothing was written would be a
# lie if it replays.
new_keys ghost 1
fault 'enable name=posix/io/sync/fdatasync,failinfo=5'
fire ghost ghost-1
judge ghost ghost-1
kill -KILL "$WORKER"
respawned || { echo "# lighttpd did not start a new worker: restarting it"; stop_server; start_server; WORKER=$(workers_real); }
settle "fsync failed, then a crash" ghost-1
# (the last response is ghost-1's retry)
[ "$(header Idempotent-Replayed)" = true ] &&
	echo "# ghost: the commit whose fsync failed came back after the crash: the retry replayed it" ||
	echo "# ghost: the commit whose fsync failed did not come back after the crash: the retry made it anew"
report "fsync failed, then a crash"

# ---- 3. a crash after COMMIT, before the answer is sent ------------------

# The answers' write(2) to lighttpd (libfcgi's OS_Write) fails: each group
# commits, but no answer gets out. Then the process is SIGKILLed, and every
# key retried replays the committed answer.
new_keys lost 6
fault 'enable_stack_by_name name=posix/io/rw/write,func_name=OS_Write,pos_in_stack=-1,failinfo=5'
fire lost "${K[@]}"
bad=
for k in "${K[@]}"; do
	answer lost "$k"
	[ "$STATUS" != 201 ] && honest "$k" || bad+=" $k($STATUS)"
	[[ $(key_row "$k") =~ ^completed\ 201\ [0-9]+$ ]] || bad+=" $k(not-committed)"
done
is "$bad" "" "lost answers: all 6 committed, none answered 201, each got an honest 5xx problem"
kill -KILL "$WORKER"
respawned || { echo "# lighttpd did not start a new worker: restarting it"; stop_server; start_server; WORKER=$(workers_real); }
bad=
for k in "${K[@]}"; do
	for _ in $(seq 30); do
		post "$k"
		[[ $STATUS =~ ^5 ]] || break
		sleep 0.1
	done
	[ "$STATUS $(header Idempotent-Replayed)" = "201 true" ] && whole "$k" || bad+=" $k($STATUS)"
	cp "$TMP/body" "$TMP/ref/$k"
done
is "$bad" "" "lost answers: after the crash each key replays its committed 201 (Idempotent-Replayed: true)"
totals "lost answers"
report "lost answers"

done_testing
