#!/usr/bin/env bash
# The onceshop subcommands: --version, init (idempotent), user add, usage.
. "$(dirname "$0")/lib.sh"

like "$("$BIN" --version)" '^onceshop [0-9]+\.[0-9]+\.[0-9]+$' "onceshop --version"

# The migrations on disk, in order; the last one's number is the version.
[ "$ENGINE" = sqlite ] && dir=$ROOT/schema || dir=$ROOT/schema/pg
migrations=$(cd "$dir" && ls [0-9][0-9][0-9]-*.sql)
last=$(printf '%s\n' "$migrations" | tail -1)
version=$((10#${last%%-*}))
out=$("$BIN" init)
is "$out" "$(printf '%s\n' "$migrations" | sed 's/^/applied /')" \
	"init on a new database applies the migrations, in order"
if [ "$ENGINE" = sqlite ]; then
	is "$(sql 'PRAGMA user_version')" "$version" "... and records the version in user_version"
	is "$(sql 'PRAGMA journal_mode')" wal "... in WAL mode"
else
	is "$(sql 'SELECT version FROM schema_version')" "$version" "... and records the version in schema_version"
	skip "... in WAL mode" "SQLite's"
fi
is "$("$BIN" init)" "" "init again applies nothing"
is "$(sql 'SELECT count(*) FROM users')" 0 "without --demo there are no users"
"$BIN" init --demo >/dev/null && "$BIN" init --demo >/dev/null
is "$(sql 'SELECT name FROM users ORDER BY name' | paste -sd,)" "alice,bob" \
	"init --demo, twice, adds alice and bob once"
is "$(sql 'SELECT count(*) FROM products')" 6 "... and six products once"

token=$("$BIN" user add carol)
like "$token" '^[0-9a-f]{64}$' "user add prints a random 64-hex-digit token"
is "$(sql "SELECT count(*) FROM api_tokens WHERE token_sha256 = '$(printf %s "$token" | sha256sum | cut -c1-64)'")" 1 \
	"... only its SHA-256 is stored"
is "$(sql "SELECT count(*) FROM api_tokens WHERE token_sha256 = '$token'")" 0 "... never the token"
out=$(env -i ONCESHOP_DB="$ONCESHOP_DB" ONCESHOP_DATABASE_URL="$ONCESHOP_DATABASE_URL" REQUEST_METHOD=GET PATH_INFO=/orders \
	HTTP_AUTHORIZATION="Bearer $token" "$BIN" 2>/dev/null | head -1 | tr -d '\r')
is "$out" "Status: 200 OK" "... and the token works"
"$BIN" user add carol >"$TMP/out" 2>"$TMP/err"
is "$? $(cat "$TMP/out")" "1 " "user add of an existing name refuses, printing no token"
like "$(cat "$TMP/err")" 'carol exists already; `onceshop user token carol`' "... and says how to get another"
token2=$("$BIN" user token carol)
[ "$token2" != "$token" ] && [ ${#token2} = 64 ] && pass "user token gives carol another token" \
	|| fail "user token gives carol another token"
is "$(sql "SELECT count(*) FROM users WHERE name = 'carol'") $(sql "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name = 'carol'")" "1 2" \
	"... for the same user, whose first token still works"
"$BIN" user token dave >"$TMP/out" 2>"$TMP/err"
is "$? $(cat "$TMP/out")" "1 " "user token for a user that does not exist refuses"
is "$(sql "SELECT count(*) FROM users WHERE name = 'dave'")" 0 "... and creates no one"

"$BIN" user add 'Bad Name!' 2>/dev/null
is "$?" 1 "user add refuses a bad name"
"$BIN" frobnicate 2>/dev/null
is "$?" 2 "an unknown subcommand prints usage and exits 2"
ONCESHOP_IDEMPOTENCY_TTL=abc "$BIN" init 2>"$TMP/err"
is "$? $(cat "$TMP/err")" "1 onceshop: ONCESHOP_IDEMPOTENCY_TTL must be 1 to 315360000 s" \
	"a bad ONCESHOP_IDEMPOTENCY_TTL is refused with a message"
for ms in 0 99 600001 x; do
	ONCESHOP_BUSY_TIMEOUT_MS=$ms "$BIN" init 2>"$TMP/err"
	is "$? $(cat "$TMP/err")" "1 onceshop: ONCESHOP_BUSY_TIMEOUT_MS must be 100 to 600000 ms" \
		"ONCESHOP_BUSY_TIMEOUT_MS=$ms is refused with a message (below 100 ms nearly every write is a 503)"
done
ONCESHOP_THREADS=8 ONCESHOP_PROVIDER_SLOTS=8 "$BIN" init 2>"$TMP/err"
is "$? $(cat "$TMP/err")" "1 onceshop: ONCESHOP_PROVIDER_SLOTS must be 1 to 7 (ONCESHOP_THREADS - 1)" \
	"ONCESHOP_PROVIDER_SLOTS may not take every request thread"
ONCESHOP_SYNC=sometimes "$BIN" init 2>"$TMP/err"
is "$? $(cat "$TMP/err")" "1 onceshop: ONCESHOP_SYNC must be one of full|normal" "a bad ONCESHOP_SYNC is refused"
PAYSIM_SLOW_MS=-1 "$PAYSIM_BIN" init 2>"$TMP/err"
is "$? $(cat "$TMP/err")" "1 paysim: PAYSIM_SLOW_MS must be 0 to 600000 ms" "paysim reads its settings the same way"
like "$("$BIN" settings | grep '^ONCESHOP_BUSY_TIMEOUT_MS')" '^ONCESHOP_BUSY_TIMEOUT_MS	5000	100 to 600000 ms	' \
	"onceshop settings lists each variable: name, default, range, what"
ONCESHOP_SCHEMA=/nonexistent "$BIN" init 2>/dev/null
is "$?" 1 "a missing schema directory is an error"
# A migration that cannot be read (here a directory by that name) is an
# error, not an empty migration recorded as applied.
mkdir -p "$TMP/unreadable/pg" "$TMP/unreadable/999-unreadable.sql" "$TMP/unreadable/pg/999-unreadable.sql"
ONCESHOP_DB=$TMP/unreadable.db ONCESHOP_SCHEMA=$TMP/unreadable "$BIN" init >/dev/null 2>"$TMP/err"
is "$?" 1 "a migration that cannot be read stops init"
like "$(cat "$TMP/err")" '999-unreadable.sql: Is a directory' "... saying which and why"
# A migration that includes (\ir) a file that is not there stops init too.
mkdir -p "$TMP/noinclude/pg"
printf '\\ir common/nope.sql\n' >"$TMP/noinclude/999-include.sql"
printf '\\ir ../common/nope.sql\n' >"$TMP/noinclude/pg/999-include.sql"
ONCESHOP_DB=$TMP/noinclude.db ONCESHOP_SCHEMA=$TMP/noinclude "$BIN" init >/dev/null 2>"$TMP/err"
is "$?" 1 "a migration that includes a missing file stops init"
like "$(cat "$TMP/err")" 'common/nope.sql: No such file or directory' "... saying which"

# Migrations on disk that stop short of this build's version (on SQLite:
# a database of its own): init says which one is missing, and the server
# names the migration init would apply.
cp -r "$ROOT/schema" "$TMP/short" && rm "$TMP/short/$(ls "$ROOT"/schema | grep '^[0-9]' | tail -1)"
short=$(printf '%03d' "$version")
ONCESHOP_DATABASE_URL= ONCESHOP_DB=$TMP/short.db ONCESHOP_SCHEMA=$TMP/short "$BIN" init >/dev/null 2>"$TMP/err"
is "$?" 1 "init whose migrations stop short of this build's version fails"
like "$(cat "$TMP/err")" "reach schema version $((version - 1)), but this build of onceshop needs $version: migration $short-\\*\\.sql is missing" \
	"... naming the missing migration"
env -i ONCESHOP_DB="$TMP/short.db" REQUEST_METHOD=GET PATH_INFO=/health "$BIN" >/dev/null 2>"$TMP/err"
like "$(cat "$TMP/err")" "schema version $((version - 1)), this build of onceshop needs $version: run init, which applies migration $short" \
	"... and the server, refusing that database, names the migration init would apply"

done_testing
