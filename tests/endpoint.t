#!/usr/bin/env bash
# The template stays green: in a copy of the project, `make endpoint
# NAME=refunds` scaffolds POST /refunds, and with no edit the copy builds
# (every warning an error) and its tests pass on both engines: the new
# endpoint's own, the OpenAPI document against the code, the subcommands
# (migrations 001 to 004).
. "$(dirname "$0")/lib.sh"

copy=$TMP/copy
mkdir -p "$copy"
(cd "$ROOT" && cp -r Makefile app schema www lighttpd.conf README.md "$copy/" &&
	mkdir "$copy/tests" && cp -r tests/*.t tests/*.sh tests/unit tests/openapi "$copy/tests/")
[ -d "$ROOT/tests/node_modules" ] && ln -s "$ROOT/tests/node_modules" "$copy/tests/node_modules"
[ -f "$ROOT/tests/package.json" ] && cp "$ROOT"/tests/package*.json "$copy/tests/"

make -s -C "$copy" endpoint NAME=refunds >"$TMP/made" 2>&1
is "$?" 0 "make endpoint NAME=refunds scaffolds POST /refunds"
make -s -C "$copy" endpoint NAME=refunds >/dev/null 2>"$TMP/again"
like "$?: $(cat "$TMP/again")" '^2: .*refunds.c exists already' "... and refuses to do it twice"
make -s -C "$copy" endpoint NAME='Bad Name' >/dev/null 2>&1
is "$?" 2 "... or a name that is not a plural in lower case"
if make -s -C "$copy" build/onceshop build/paysim >"$TMP/cc.log" 2>&1; then
	pass "the copy builds without a warning"
else
	fail "the copy builds without a warning" "$(grep -m5 error "$TMP/cc.log")"
fi

tests="tests/api-refunds.t tests/openapi.t tests/cli.t"
run() { (cd "$copy" && env -u ONCESHOP_BIN -u PAYSIM_BIN -u UNIT_BIN "$@" $tests) >"$TMP/prove" 2>&1; }
if run prove; then
	pass "... and its tests pass on SQLite: $tests"
else
	fail "... and its tests pass on SQLite: $tests" "$(grep -v '^ok' "$TMP/prove" | head -30)"
fi
if run tests/pg-prove.sh; then
	pass "... and on PostgreSQL"
else
	fail "... and on PostgreSQL" "$(grep -v '^ok' "$TMP/prove" | head -30)"
fi
done_testing
