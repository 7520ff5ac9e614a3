#!/usr/bin/env bash
# with-redis.sh CMD... — runs CMD; when it needs Redis (ONCESHOP_LESSON=
# redis-store, or ONCESHOP_REPLAY_CACHE=redis) and ONCESHOP_REDIS names
# none, first starts a Redis server of its own in build/redis
# (tests/redis.sh: a Unix socket, no TCP port) for it, and stops it after.
# How `make run`, `make run DB=postgres` and `make cluster` serve them.
set -u
if { [ "${ONCESHOP_LESSON:-}" != redis-store ] &&
	[ "${ONCESHOP_REPLAY_CACHE:-off}" != redis ]; } || [ -n "${ONCESHOP_REDIS:-}" ]; then
	exec "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "$here/.." && pwd)/build/redis
ONCESHOP_REDIS=$("$here/redis.sh" start "$dir") || exit 1
export ONCESHOP_REDIS
echo "Redis of our own on $ONCESHOP_REDIS (look: redis-cli -s $ONCESHOP_REDIS --scan)"
trap '"$here/redis.sh" stop "$dir"' EXIT
trap : INT TERM
"$@"
