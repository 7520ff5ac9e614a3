#!/usr/bin/env bash
# Replays each fuzz harness's seed corpus (tests/fuzz/corpus/fuzz_NAME/)
# through the harness built with the normal compiler (build/fuzz-replay-NAME,
# made by `make test`): one subtest per harness, one line per file.
dir=$(cd "$(dirname "$0")" && pwd)
bin=${FUZZ_REPLAY_DIR:-$dir/../build}
names="key body request"

echo "1..3"
i=0
for name in $names; do
	i=$((i + 1))
	out=$("$bin/fuzz-replay-$name" "$dir/fuzz/corpus/fuzz_$name" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	if [ "$rc" -eq 0 ]; then
		echo "ok $i - fuzz_$name replays its corpus"
	else
		echo "not ok $i - fuzz_$name replays its corpus (exit $rc)"
	fi
done
