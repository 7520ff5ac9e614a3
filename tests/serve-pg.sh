#!/usr/bin/env bash
# serve-pg.sh HOSTS — `make run DB=postgres` (HOSTS 1) and `make cluster`
# (HOSTS 2): a PostgreSQL server of our own in build/pg (tests/pg.sh; kept
# between runs, so its tables can be looked at with psql), the database
# onceshop on it with the demo data, and HOSTS onceshop hosts on PORT,
# PORT+1, ...: each a lighttpd with its own onceshop process, all writing
# to the one database. Every host serves paysim under /paysim/ from the one
# paysim database; the shops all ask the first host's. Ctrl-C stops all.
set -eu
hosts=${1:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-8080}
pg=${ONCESHOP_PG_DIR:-$root/build/pg}
cd "$root"
mkdir -p "$(dirname "$pg")"
# As root the server runs as the user postgres, who must be able to reach
# its directory; a clone under /root cannot be reached.
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$(dirname "$pg")"; then
	pg=/tmp/onceshop-pg-$(printf %s "$root" | sha256sum | cut -c1-12)
	echo "(the user postgres cannot reach $root/build: PostgreSQL's data goes to $pg)"
fi
"$root/tests/pg.sh" start "$pg" >/dev/null
pids=
stop() {
	trap - EXIT INT TERM
	[ -z "$pids" ] || kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	"$root/tests/pg.sh" stop "$pg"
	echo "stopped: the hosts and PostgreSQL (its data stays in $pg)"
}
trap stop EXIT
trap 'exit 0' INT TERM
psql -X -q -h "$pg" -U postgres -d postgres -tAc \
	"SELECT 1 FROM pg_database WHERE datname = 'onceshop'" | grep -q 1 ||
	createdb -h "$pg" -U postgres onceshop
export ONCESHOP_DATABASE_URL="postgresql:///onceshop?host=$pg&user=postgres"
export ONCESHOP_PROVIDER_SECRET=${ONCESHOP_PROVIDER_SECRET:-${PAYSIM_SECRET:-}}
build/onceshop init --demo
build/paysim init
echo
for i in $(seq 0 $((hosts - 1))); do
	p=$((port + i))
	ONCESHOP_PORT=$p ONCESHOP_BIN=$root/build/onceshop PAYSIM_BIN=$root/build/paysim \
	ONCESHOP_SOCKET=/tmp/onceshop-$p.sock ONCESHOP_LOG=/dev/stderr \
	ONCESHOP_PROVIDER_URL=${ONCESHOP_PROVIDER_URL:-http://127.0.0.1:$port/paysim} \
		lighttpd -D -f lighttpd.conf &
	pids="$pids $!"
	echo "onceshop host $((i + 1)) on http://127.0.0.1:$p/"
done
echo "ONCESHOP_DATABASE_URL=$ONCESHOP_DATABASE_URL"
echo "look at the tables:  psql '$ONCESHOP_DATABASE_URL'"
echo "demo tokens (local demos only): alice-token, bob-token; paysim secret: paysim-secret"
echo "paysim's database: ${PAYSIM_DB:-paysim.db}"
echo "Ctrl-C stops it."
echo
wait
