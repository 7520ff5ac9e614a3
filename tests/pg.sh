#!/usr/bin/env bash
# pg.sh start DIR | stop DIR — a PostgreSQL server of our own in DIR, for
# the tests, `make run DB=postgres` and `make cluster`: initdb into DIR
# unless it was done before (as the user postgres when run as root:
# PostgreSQL refuses root), Unix socket in DIR only, no TCP port. `start`
# prints the socket directory; a libpq URI for database NAME is
# postgresql:///NAME?host=<it>&user=postgres.
set -eu
cmd=${1:?usage: pg.sh start|stop DIR} dir=${2:?usage: pg.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg.sh: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case $cmd in
start)
	mkdir -p "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	[ -f "$dir/data/PG_VERSION" ] ||
		as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
			--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	# Sockets only; fsync as a real server has it. Enough connections
	# for two hosts of 32 request threads and the tests' own. Writers'
	# groups can deadlock (README, "When one machine is not enough"):
	# found after 50 ms, not the default second.
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-c listen_addresses='' -k $dir -c max_connections=200 -c shared_buffers=128MB -c deadlock_timeout=50ms" \
		start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
	echo "$dir"
	;;
stop)
	[ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	;;
*)
	echo "usage: pg.sh start|stop DIR" >&2; exit 2 ;;
esac
