#!/usr/bin/env bash
# redis.sh start DIR | stop DIR — a Redis server of our own in DIR, for the
# lesson ONCESHOP_LESSON=redis-store (tests and make run): Unix socket
# DIR/redis.sock only, no TCP port, nothing saved to disk. `start` prints
# the socket's path.
set -eu
cmd=${1:?usage: redis.sh start|stop DIR} dir=${2:?usage: redis.sh start|stop DIR}
command -v redis-server >/dev/null ||
	{ echo "redis.sh: Redis is not installed (apt-get install redis-server)" >&2; exit 1; }
case $cmd in
start)
	mkdir -p "$dir"
	redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
		--dir "$dir" --save '' --appendonly no --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
	for _ in $(seq 50); do
		[ -S "$dir/redis.sock" ] && redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 &&
			{ echo "$dir/redis.sock"; exit 0; }
		sleep 0.1
	done
	cat "$dir/redis.log" >&2
	exit 1
	;;
stop)
	[ -S "$dir/redis.sock" ] && redis-cli -s "$dir/redis.sock" shutdown nosave >/dev/null 2>&1 || true
	for _ in $(seq 50); do
		[ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null || exit 0
		sleep 0.1
	done
	;;
*)
	echo "usage: redis.sh start|stop DIR" >&2; exit 2 ;;
esac
