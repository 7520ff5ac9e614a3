#!/usr/bin/env bash
# make install into a DESTDIR: the programs, the migrations, www/ and the
# deployment examples land where the README says; the installed programs
# run and create their databases from the installed schema; and the
# installed lighttpd example, included from a bare lighttpd config, serves
# the shop and its static files; the systemd units parse, and onceshop
# serves on a socket handed to it (spawn-fcgi), as under systemd.
. "$(dirname "$0")/lib.sh"

DEST=$TMP/dest
if ! make -s -C "$ROOT" install DESTDIR="$DEST" PREFIX=/usr >"$TMP/install.log" 2>&1; then
	echo "Bail out! make install failed:"
	sed 's/^/# /' "$TMP/install.log"
	exit 1
fi
pass "make install DESTDIR=... PREFIX=/usr"

SHARE=$DEST/usr/share/onceshop
for f in bin/onceshop bin/paysim; do
	is "$([ -x "$DEST/usr/$f" ] && echo executable)" executable "/usr/$f is installed"
done
for f in schema/001-init.sql schema/demo.sql schema/paysim/001-init.sql schema/pg/001-init.sql \
	www/index.html www/openapi.json www/errors/problem-404.html \
	www/problems/out-of-stock.html examples/lighttpd-onceshop.conf \
	examples/onceshop.socket examples/onceshop.service examples/nginx-onceshop.conf; do
	is "$([ -f "$SHARE/$f" ] && echo file)" file "/usr/share/onceshop/$f is installed"
done
for d in schema schema/paysim schema/pg schema/common; do
	is "$(cd "$SHARE/$d" && ls *.sql)" "$(cd "$ROOT/$d" && ls *.sql)" "/usr/share/onceshop/$d holds $d/*.sql"
done
is "$(ls "$SHARE/schema")" "$(ls "$ROOT/schema" | grep -vx examples)" \
	"... and no examples among the migrations"

is "$(grep -l '@PREFIX@' "$SHARE"/examples/* | wc -l)" 0 "the examples name the real prefix ..."
is "$(grep -c '^ExecStart=/usr/bin/onceshop$' "$SHARE/examples/onceshop.service")" 1 "... /usr/bin/onceshop"

is "$("$DEST/usr/bin/onceshop" --version)" "$("$ROOT/build/onceshop" --version)" \
	"the installed onceshop runs: --version"
is "$("$DEST/usr/bin/paysim" --version)" "$("$ROOT/build/paysim" --version)" "... and paysim"

# The databases, from the installed migrations only: SQLite's, which the
# examples use, whatever engine the other tests run on (pg-prove.sh).
export ONCESHOP_DATABASE_URL=
# The names the lighttpd example gives them (lib.sh set these too).
export ONCESHOP_DB=$TMP/onceshop.db PAYSIM_DB=$TMP/paysim.db
export ONCESHOP_SCHEMA=$SHARE/schema PAYSIM_SCHEMA=$SHARE/schema/paysim
# latest DIR: the number of the last migration in DIR (the schema version).
latest() { local f; f=$(ls "$1"/[0-9]*.sql | tail -n 1); f=${f##*/}; echo $((10#${f%%-*})); }
(cd / && "$DEST/usr/bin/onceshop" init --demo >"$TMP/init.log" 2>&1)
is "$? $(sqlite3 "$ONCESHOP_DB" 'PRAGMA user_version')" "0 $(latest "$ROOT/schema")" \
	"onceshop init --demo with ONCESHOP_SCHEMA=/usr/share/onceshop/schema"
(cd / && "$DEST/usr/bin/paysim" init >>"$TMP/init.log" 2>&1)
is "$? $(sqlite3 "$PAYSIM_DB" 'PRAGMA user_version')" "0 $(latest "$ROOT/schema/paysim")" \
	"paysim init with its installed schema"

# The lighttpd example, as a site of an otherwise bare lighttpd: its paths
# moved into DEST, its databases and sockets into TMP, its port free.
for try in 1 2 3 4 5; do
	port=$((PORT_LO + RANDOM % (PORT_HI - PORT_LO + 1)))
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
done
sed -e "s|\"/usr/|\"$DEST/usr/|" -e "s|\"/var/lib/onceshop\"|\"$TMP\"|" \
	-e "s|\"/run/lighttpd\"|\"$TMP\"|" -e "s|127\.0\.0\.1:8080|127.0.0.1:$port|g" \
	"$SHARE/examples/lighttpd-onceshop.conf" >"$TMP/site.conf"
cat >"$TMP/lighttpd.conf" <<EOF
server.bind          = "127.0.0.1"
server.port          = $((port == PORT_HI ? port - 1 : port + 1))
server.document-root = "$TMP"
server.errorlog      = "$TMP/error.log"
mimetype.assign      = ( ".html" => "text/html; charset=utf-8", ".json" => "application/json",
	".css" => "text/css; charset=utf-8", ".js" => "text/javascript; charset=utf-8" )
include "$TMP/site.conf"
EOF
is "$(lighttpd -tt -f "$TMP/lighttpd.conf" 2>&1)" "" "lighttpd accepts the installed example (lighttpd -tt)"

lighttpd -D -f "$TMP/lighttpd.conf" 2>>"$TMP/error.log" &
SERVER_PID=$!
BASE=http://127.0.0.1:$port
for _ in $(seq 50); do
	curl -sf -o /dev/null "$BASE/health" && break
	sleep 0.1
done
req GET /health
is "$STATUS $(json .status)" "200 ok" "through it: GET /health"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: install-1' \
	-d '{"items":[{"sku":"MUG-KYOTO","quantity":1}]}'
is "$STATUS $(header Location)" "201 /orders/1" "... POST /orders"
total=$(json .total)
req POST /payments/confirm -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: install-2' \
	-d "{\"order_id\":1,\"amount\":$total,\"currency\":\"JPY\"}"
is "$STATUS $(json .status)" "201 succeeded" "... POST /payments/confirm, charged by its paysim"
req GET /paysim/health
is "$STATUS $(json .status)" "200 ok" "... GET /paysim/health, by paysim"
req GET /openapi.json
is "$STATUS $(header Content-Type)" "200 application/json" "... the OpenAPI document"
req GET /problems/out-of-stock
is "$STATUS $(header Content-Type)" "200 text/html; charset=utf-8" "... a problem page"
req GET /demo/demo.css
is "$STATUS $(header Content-Type)" "200 text/css; charset=utf-8" "... the demo page's CSS"
req GET /favicon.ico
problem 404 not-found "... and lighttpd's own 404, as problem+json"
stop_server

# The systemd example: the units parse (systemd-analyze verify says nothing).
if command -v systemd-analyze >/dev/null; then
	mkdir "$TMP/units"
	sed "s|/usr/|$DEST/usr/|g" "$SHARE/examples/onceshop.service" >"$TMP/units/onceshop.service"
	cp "$SHARE/examples/onceshop.socket" "$TMP/units/"
	is "$(timeout 20 systemd-analyze verify "$TMP/units/onceshop.socket" \
		"$TMP/units/onceshop.service" 2>&1)" "" "systemd-analyze verify onceshop.socket onceshop.service"
fi

# What that service does, without systemd: onceshop started by someone else
# with the listening socket as its stdin (spawn-fcgi -n, as systemd's
# StandardInput=socket), and a web server that only connects to it.
if command -v spawn-fcgi >/dev/null; then
	spawn-fcgi -n -s "$TMP/ext.sock" -- "$DEST/usr/bin/onceshop" 2>>"$TMP/error.log" &
	FCGI_PID=$!
	trap 'kill "$FCGI_PID" 2>/dev/null; wait "$FCGI_PID" 2>/dev/null; stop_server; rm -rf "$TMP"' EXIT
	cat >"$TMP/ext.conf" <<EOF
server.modules       = ( "mod_fastcgi" )
server.bind          = "127.0.0.1"
server.port          = $port
server.document-root = "$SHARE/www"
server.errorlog      = "$TMP/error.log"
fastcgi.server       = ( "/" => (( "socket" => "$TMP/ext.sock", "check-local" => "disable",
	"fix-root-scriptname" => "enable" )) )
EOF
	lighttpd -D -f "$TMP/ext.conf" 2>>"$TMP/error.log" &
	SERVER_PID=$!
	for _ in $(seq 50); do
		curl -sf -o /dev/null "$BASE/health" && break
		sleep 0.1
	done
	req GET /orders/1 -H "$ALICE"
	is "$STATUS $(json .id)" "200 1" "onceshop on a socket it was handed (spawn-fcgi): GET /orders/1"
fi

done_testing
