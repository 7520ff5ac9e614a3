#!/usr/bin/env bash
# lighttpd's own refusals are problem details too: what it refuses before a
# request reaches onceshop (400, 405, 411, 413, 431, 501, 505), static misses
# (404, 416) and workers that fail (500, 502, 503) all answer
# application/problem+json from www/errors/ (server.errorfile-prefix), with a type
# whose page exists. Static pages and the API are unchanged.
. "$(dirname "$0")/lib.sh"
start_server

# raw REQUEST: sends REQUEST (backslash escapes as in printf %b) on a new
# connection, for what curl will not send; sets STATUS, HEADERS and BODY like
# req. Send "Connection: close" unless lighttpd closes after the answer.
raw() {
	local resp
	exec 3<>"/dev/tcp/127.0.0.1/${BASE##*:}"
	printf '%b' "$1" >&3
	timeout 5 cat <&3 >"$TMP/raw"
	exec 3<&-
	resp=$(tr -d '\r' <"$TMP/raw")
	STATUS=$(sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' <<<"$resp")
	HEADERS=$(sed -n '2,/^$/p' <<<"$resp" | sed '/^$/d')
	BODY=$(sed '1,/^$/d' <<<"$resp")
}

# lighttpd_problem STATUS NAME DESCRIPTION: the last response is the problem
# STATUS /problems/NAME, with the four members, and NAME's page exists and
# has the same title.
lighttpd_problem() {
	local title page
	problem "$1" "$2" "$3"
	is "$(jq -r '[keys_unsorted[], (.status | type), (.title | type), (.detail | type)] | join(" ")' \
		<<<"$BODY" 2>&1)" "type title status detail number string string" \
		"... type, title, status (a number) and detail"
	title=$(json .title)
	page=$(curl -s -o "$TMP/page" -w '%{http_code} %{content_type}' "$BASE$(json .type)")
	is "$page $(grep -o '<h1>[^<]*</h1>' "$TMP/page")" "200 text/html; charset=utf-8 <h1>$title</h1>" \
		"... and $(json .type) is a page with the title '$title'"
}

keys() { sql "SELECT count(*) FROM idempotency_keys"; }

# --- 411: a body without a length ---
req POST /orders -H "$ALICE" -H 'Idempotency-Key: no-length'
lighttpd_problem 411 length-required "POST without Content-Length is 411"

# --- 413: over server.max-request-size (1 MiB) ---
head -c 1048577 /dev/zero | tr '\0' ' ' >"$TMP/big"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: too-big' --data-binary @"$TMP/big"
lighttpd_problem 413 payload-too-large "a body over 1 MiB is 413 from lighttpd"
like "$(json .detail)" "1 MiB" "... whose detail names lighttpd's limit"
req POST /orders -H "$ALICE" -H "$JSON" -H 'Idempotency-Key: too-big' \
	-H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big"
lighttpd_problem 413 payload-too-large "a chunked body over 1 MiB is 413 too"
is "$(keys)" 0 "no key was stored for 411 or 413"

# --- 431: request line and headers over 8 KiB ---
x9k=$(head -c 9000 /dev/zero | tr '\0' x)
req GET /products -H "X-Padding: $x9k"
lighttpd_problem 431 request-header-fields-too-large "a 9 KB header is 431"
req GET "/products?q=$x9k"
lighttpd_problem 431 request-header-fields-too-large "a 9 KB URL is 431"

# --- 400: requests lighttpd cannot parse ---
raw 'GET /products HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n'
lighttpd_problem 400 bad-request "a control byte in a header is 400"
req GET /products%00 --path-as-is
lighttpd_problem 400 bad-request "%00 in the path is 400"
req GET /products%ff --path-as-is
lighttpd_problem 400 bad-request "%ff in the path is 400"
raw 'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
lighttpd_problem 400 bad-request "Content-Length with Transfer-Encoding: chunked is 400"
raw 'GET /products HTTP/1.1\nHost: x\nConnection: close\n\n'
lighttpd_problem 400 bad-request "bare LF line endings are 400"
raw 'GET /products HTTP/1.1\r\nConnection: close\r\n\r\n'
lighttpd_problem 400 bad-request "HTTP/1.1 without Host is 400"

# --- 501, 505, 405: methods and versions lighttpd refuses ---
req BREW /products
lighttpd_problem 501 not-implemented "an unknown method (BREW) is 501"
req POST /orders -H "$ALICE" -H 'Transfer-Encoding: gzip' -d x
lighttpd_problem 501 not-implemented "Transfer-Encoding: gzip is 501"
raw 'GET /products HTTP/1.2\r\nHost: x\r\n\r\n'
lighttpd_problem 505 http-version-not-supported "HTTP/1.2 is 505"
raw 'CONNECT / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
lighttpd_problem 405 method-not-allowed "CONNECT is 405 from lighttpd"

# --- static misses ---
for path in /favicon.ico /problems/nope /problems/nope.html /problems/NOPE; do
	req GET "$path"
	lighttpd_problem 404 not-found "GET $path is 404"
done
like "$(json .detail)" "no page or file" "... with lighttpd's detail"
raw 'HEAD /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
is "$STATUS $(header Content-Type) $BODY" "404 application/problem+json " \
	"HEAD /favicon.ico is 404 problem+json, without a body"
req GET /favicon.ico --http2-prior-knowledge
lighttpd_problem 404 not-found "over HTTP/2 too"
req GET / -H 'Range: bytes=999999-'
lighttpd_problem 416 range-not-satisfiable "a Range past the end of a static page is 416"

# --- what is not an error is unchanged ---
req GET /
is "$STATUS $(header Content-Type)" "200 text/html; charset=utf-8" "the demo page is still served at /"
req GET /problems/out-of-stock
is "$STATUS $(header Content-Type)" "200 text/html; charset=utf-8" "/problems/out-of-stock is still a page"
req GET /problems/style.css
is "$STATUS $(header Content-Type)" "200 text/css; charset=utf-8" "... and its style sheet is CSS"
req GET /products
is "$STATUS $(header Content-Type) $(json '.products | length')" "200 application/json 6" \
	"GET /products still answers the catalogue"
req GET /nope -H "$ALICE"
problem 404 not-found "an unknown API path is still onceshop's own 404"
like "$(json .detail)" "/nope" "... whose detail names the path"
req DELETE /orders -H "$ALICE"
is "$STATUS $(header Allow)" "405 GET, HEAD, POST, OPTIONS" "DELETE /orders is still onceshop's 405, with Allow"

# --- every error file: JSON for its status, with a page; listed in lighttpd.conf ---
for f in "$ROOT"/www/errors/problem-*.html; do
	n=${f##*/problem-}; n=${n%.html}
	BODY=$(cat "$f")
	is "$(json .status) $(json '.type | test("^/problems/[a-z-]+$")')" "$n true" \
		"www/errors/problem-$n.html is the problem for $n"
	is "$(curl -s -o /dev/null -w '%{http_code}' "$BASE$(json .type)")" 200 "... $(json .type) exists"
	like "$(cat "$ROOT/lighttpd.conf")" "\"problem-$n.html\" => \"application/problem\\+json\"" \
		"... and is sent as application/problem+json"
done

# --- workers that fail: lighttpd answers for them ---
# with_worker PROGRAM: restarts lighttpd, same port, with PROGRAM as the
# FastCGI worker.
n_worker=0
with_worker() {
	local port=${BASE##*:}
	stop_server
	n_worker=$((n_worker + 1))
	(cd "$ROOT" && ONCESHOP_PORT=$port ONCESHOP_BIN=$1 \
		ONCESHOP_LOG=$TMP/error.log ONCESHOP_SOCKET=$TMP/fake-$n_worker.sock \
		exec lighttpd -D -f lighttpd.conf 2>>"$TMP/error.log") &
	SERVER_PID=$!
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "Bail out! lighttpd did not start with $1"
	exit 1
}

cat >"$TMP/deaf" <<'EOF'
#!/bin/sh
# Closes the socket lighttpd gave it and stays alive: connections are refused.
# Says when it has closed it: a request sent before that would wait in the
# socket's queue and be cut off (500), not refused.
exec 0<&-
: >"$0.closed"
exec sleep 600
EOF
cat >"$TMP/hangup" <<'EOF'
#!/usr/bin/perl
# Accepts each connection and closes it without an answer.
open(my $s, "+<&=", 0) or die; while (accept(my $c, $s)) { close $c }
EOF
cat >"$TMP/garbled" <<'EOF'
#!/usr/bin/perl
# Reads each FastCGI request, answers "Status: 99" (not a status).
open(my $s, "+<&=", 0) or die;
sub rec { my ($type, $data) = @_; pack("CCnnCC", 1, $type, 1, length $data, 0, 0) . $data }
while (accept(my $c, $s)) {
	while (sysread($c, my $h, 8) == 8) {
		my (undef, $type, undef, $len, $pad) = unpack("CCnnC", $h);
		sysread($c, my $skip, $len + $pad) if $len + $pad;
		last if $type == 5 && $len == 0;	# the end of FCGI_STDIN
	}
	print $c rec(6, "Status: 99\r\n\r\n"), rec(6, ""), rec(3, pack("NCx3", 0, 0));
	close $c;
}
EOF
chmod +x "$TMP/deaf" "$TMP/hangup" "$TMP/garbled"

with_worker "$TMP/deaf"
for _ in $(seq 100); do [ -e "$TMP/deaf.closed" ] && break; sleep 0.1; done
req GET /products
lighttpd_problem 503 service-unavailable "no worker accepts the request: 503"
with_worker "$TMP/hangup"
req GET /products
lighttpd_problem 500 internal-error "the worker hangs up without an answer: 500"
with_worker "$TMP/garbled"
req GET /products
lighttpd_problem 502 bad-gateway "the worker answers something that is not HTTP: 502"

done_testing
