#!/usr/bin/env bash
# run.sh — `make bench`: measures a FastCGI hello (the ceiling) and onceshop
# behind the same lighttpd with wrk, on loopback, and prints one table with
# each scenario's throughput as a ratio of the ceiling measured in this run.
# Every onceshop scenario gets a fresh database: on SQLite (the default), or
# with BENCH_DB=postgres on a throwaway PostgreSQL server (tests/pg.sh) that
# lives as long as the run. See bench/README.md. The scenarios are in
# bench/scenarios.sh, what they are made of in bench/lib.sh; this file runs
# them and prints the table.
#
#   BENCH_SECS=3 bench/run.sh     (seconds per scenario; default 10)
#   BENCH_DB=postgres bench/run.sh

set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"		# lighttpd.conf and `onceshop init` expect the root
. bench/lib.sh
. bench/scenarios.sh

# ---- the run -------------------------------------------------------------

tools="wrk lighttpd sqlite3 curl jq"
if [ "$ENGINE" = postgres ]; then tools="$tools psql createdb dropdb pgbench"; fi
for cmd in $tools; do
	command -v "$cmd" >/dev/null || { say "$cmd is missing: make deps"; exit 1; }
done
: >"$RESULTS"
SLOW_RESULTS=$TMP/slow-results
: >"$SLOW_RESULTS"
if [ "$ENGINE" = postgres ]; then
	# One server for the whole run, each scenario a database of its own
	# on it; tests/pg.sh's settings (sockets only), fsync on.
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/onceshop-bench-pg.XXXXXX")
	tests/pg.sh start "$PG_DIR" >/dev/null || { say "PostgreSQL did not start"; exit 1; }
	say "PostgreSQL in $PG_DIR"
fi
say "on $ENGINE, $SECS s per scenario after a $WARM s warm-up"
scenario_hello
if [ "$ENGINE" = postgres ]; then
	scenario_pgbench 1 "pgbench: the order transaction, one product" ceiling-hot
	scenario_pgbench 1000 "pgbench: the order transaction, 1,000 products" ceiling-spread
fi
scenario_orders full-c32 full 2 32
if [ "$ENGINE" = postgres ]; then
	export BENCH_SKUS=1000
	scenario_orders full-spread full 2 32 "new orders, full, 1,000 products" \
		add_products 1000
	unset BENCH_SKUS
	scenario_two_hosts
	scenario_two_hosts_replays off
	scenario_two_hosts_replays memory
	scenario_two_hosts_replays redis
fi
scenario_orders normal-c32 normal 2 32
scenario_replays replays "replays (replay cache in memory)"
export ONCESHOP_REPLAY_CACHE=off
scenario_replays replays-off "replays, replay cache off: each read from the database"
unset ONCESHOP_REPLAY_CACHE
export BENCH_TOKENS="alice-token bob-token"
scenario_replays replays-2u "replays, two users taking turns"
unset BENCH_TOKENS
scenario_products
scenario_orders full-c1 full 1 1
scenario_orders full-c128 full 2 128
# DESIGN's targets for the key store: the writer sweeps expired keys between
# groups without stalling a write (watch max ms), and a big table of stored
# keys costs little (compare req/s with the first new-orders row).
scenario_orders full-sweep full 2 32 "new orders, full, sweeping 300k expired keys" \
	expired_keys 300000
scenario_orders full-1m full 2 32 "new orders, full, 1M stored keys" \
	live_keys 1000000
for lesson in memory-store select-then-insert redis-store; do
	scenario_store "$lesson"
done
scenario_hello hello-end "hello again, at the end: the machine's drift"
scenario_beside_slow 60
scenario_beside_slow 200

# The report: what ran where, then the table.
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
if [ "$ENGINE" = postgres ]; then
	ONCESHOP_DATABASE_URL="postgresql:///postgres?host=$PG_DIR&user=postgres"
	engine="PostgreSQL $(psql_do 'SHOW server_version' | cut -d' ' -f1)"
	engine="$engine (fsync $(psql_do 'SHOW fsync'))"
	name=PostgreSQL
else
	engine="SQLite $(sqlite3 --version | cut -d' ' -f1)"
	name=SQLite
fi
echo "onceshop bench on $name, $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
	"$(git describe --always --dirty 2>/dev/null || echo unknown)"
# Whether Linux schedules each session as one group: it moves the
# PostgreSQL rows (bench/README.md).
case $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) in
1) groups=", autogroups on" ;;
0) groups=", autogroups off" ;;
*) groups= ;;
esac
echo "machine: $(nproc) cores, ${model:-unknown CPU}, Linux $(uname -r)$groups"
echo "$(lighttpd -v | sed -n 's/^lighttpd\/\([^ ]*\).*/lighttpd \1/p')," \
	"$engine," \
	"wrk $(wrk -v 2>&1 | sed -n '1s/^wrk \(debian\/\)\{0,1\}\([0-9.]*\).*/\2/p');" \
	"wrk -t2 -c32 -d${SECS}s (-t1 at 1 connection) after a ${WARM} s warm-up"
echo
awk -F'\t' -v pg="$([ "$ENGINE" = postgres ] && echo 1 || echo 0)" '
	NR == 1 { hello = $3 }
	$11 == "ceiling-hot" { hot = $3 }
	$11 == "ceiling-spread" { spread = $3 }
	{
		row[NR, 1] = $1; row[NR, 2] = $2
		row[NR, 3] = sprintf("%.0f", $3)
		row[NR, 4] = $4 == "" ? "-" : sprintf("%.2f", $4 / 1000)
		row[NR, 5] = $5 == "" ? "-" : sprintf("%.2f", $5 / 1000)
		row[NR, 6] = $6 == "" ? "-" : sprintf("%.1f", $6 / 1000)
		row[NR, 7] = $7; row[NR, 8] = $8
		row[NR, 9] = sprintf("%.2f x", hello > 0 ? $3 / hello : 0)
		ceil = $11 ~ /hot$/ ? hot : $11 ~ /spread$/ ? spread : 0
		row[NR, 10] = ceil > 0 ? sprintf("%.2f x", $3 / ceil) : "-"
		row[NR, 11] = $9
		if ($7 > 0) other = other sprintf("\n%s: statuses %s", $1, $10)
	}
	END {
		n = split("scenario|conns|req/s|p50 ms|p99 ms|max ms|non-2xx|sock err|vs hello|vs pgbench|check", head, "|")
		for (c = 1; c <= n; c++) {
			row[0, c] = head[c]
			for (r = 0; r <= NR; r++)
				if (length(row[r, c]) > w[c]) w[c] = length(row[r, c])
		}
		for (r = 0; r <= NR; r++) {
			line = "|"
			for (c = 1; c <= n; c++) {
				if (c == 10 && !pg)
					continue	# no second ceiling
				# Text left, numbers right.
				fmt = (c == 1 || c == n) ? " %-*s |" : " %*s |"
				line = line sprintf(fmt, w[c], row[r, c])
			}
			print line
			if (r == 0) {
				line = "|"
				for (c = 1; c <= n; c++) {
					if (c == 10 && !pg)
						continue
					dash = sprintf("%*s", w[c], ""); gsub(/ /, "-", dash)
					line = line " " dash (c == 1 || c == n ? " |" : ":|")
				}
				print line
			}
		}
		if (other != "") print "\nnon-2xx answers, by status:" other
	}' "$RESULTS"
echo
echo "Beside slow payments (PAYSIM_SLOW_MS=4000, each client retrying after its"
echo "Retry-After until paid), one request at a time (target: p99 <= 50 ms, max <= 300 ms):"
echo
awk -F'\t' 'BEGIN { print "| payments | request | p50 ms | p99 ms | max ms |";
		print "| ---: | --- | ---: | ---: | ---: |" }
	{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$SLOW_RESULTS"
if [ "$FAILED" -ne 0 ]; then
	echo
	echo "MISMATCH: rows added and 2xx answers disagree (see check)"
	exit 1
fi
