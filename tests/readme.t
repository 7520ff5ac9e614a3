#!/usr/bin/env bash
# The README is true: the handler and the table "Adding an idempotent
# endpoint" shows are what `make endpoint NAME=refunds` writes (made here
# in a scratch copy of app/, schema/, www/ and tests/), and
# "Configuration" lists the variables the programs read.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/copy/tests"
cp -r "$ROOT/app" "$ROOT/schema" "$ROOT/www" "$TMP/copy/"
"$TMP/copy/app/endpoint.sh" refunds >/dev/null
is "$?" 0 "app/endpoint.sh refunds runs"

# block LANG N: the README section's N-th fenced block of LANG.
block() {
	perl -0ne 'my ($s) = /^## Adding an idempotent endpoint\n(.*?)^## /ms or die;
		my @b = $s =~ /^```'"$1"'\n(.*?)^```/msg; print $b['"$2"'] // ""' "$ROOT/README.md"
}
is "$(block c 0)" "$(cat "$TMP/copy/app/shop/refunds.c")" "the README shows the handler make endpoint writes"
is "$(block sql 0)" "$(cat "$TMP/copy/schema/common/refunds.sql")" "... and its table"

# The README's configuration table lists every variable the programs read
# (onceshop settings, paysim settings), and no other (make's own, PORT and
# DB, say so).
documented=$(sed -n '/^## Configuration/,/^## /p' "$ROOT/README.md" |
	sed -n 's/^| `\([A-Z_]*\)` |.*/\1/p' | sort)
read_by=$( { "$BIN" settings; "$PAYSIM_BIN" settings; } | cut -f1 | sort)
is "$documented" "$read_by" "README's configuration table lists each variable onceshop and paysim read"
done_testing
