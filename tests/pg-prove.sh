#!/usr/bin/env bash
# pg-prove.sh TEST... — runs the API tests again on PostgreSQL: starts a
# throwaway server (tests/pg.sh; sockets only, no TCP port), runs prove on
# TEST... with ONCESHOP_TEST_DB=postgres (each test file makes a database
# of its own on it, see lib.sh), and stops the server whatever happens.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/onceshop-pg.XXXXXX")
trap '"$here/pg.sh" stop "$dir"; rm -rf "$dir"' EXIT
"$here/pg.sh" start "$dir" >/dev/null || exit 1
ONCESHOP_TEST_DB=postgres ONCESHOP_TEST_PG=$dir prove "$@"
