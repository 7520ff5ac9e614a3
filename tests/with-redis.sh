#!/usr/bin/env bash
# with-redis.sh CMD... — runs CMD; with ONCESHOP_LESSON=redis-store and no
# ONCESHOP_REDIS, first starts a Redis server of its own in build/redis
# (tests/redis.sh: a Unix socket, no TCP port) for it, and stops it after.
# How `make run` and `make run DB=postgres` serve the redis-store lesson.
set -u
if [ "${ONCESHOP_LESSON:-}" != redis-store ] || [ -n "${ONCESHOP_REDIS:-}" ]; then
	exec "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$here/.." && pwd)/build/redis
ONCESHOP_REDIS=$("$here/redis.sh" start "$dir") || exit 1
export ONCESHOP_REDIS
echo "redis-store lesson: Redis on $ONCESHOP_REDIS (look: redis-cli -s $ONCESHOP_REDIS --scan)"
trap '"$here/redis.sh" stop "$dir"' EXIT
trap : INT TERM
"$@"
