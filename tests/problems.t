#!/usr/bin/env bash
# Every problem type of the code (the core's, onceshop's and paysim's, as
# `onceshop problems` and `paysim problems` list them) has its page under
# www/problems/, whose title, heading and example say the same title as the
# API. After changing a title:
#   tests/problem-titles <(build/onceshop problems; build/paysim problems) www/problems --write
ROOT=$(cd "$(dirname "$0")/.." && pwd)
list=$(mktemp)
trap 'rm -f "$list"' EXIT
{ "${ONCESHOP_BIN:-$ROOT/build/onceshop}" problems &&
	"${PAYSIM_BIN:-$ROOT/build/paysim}" problems; } >"$list" || echo "Bail out! problems failed"
"$ROOT/tests/problem-titles" "$list" "$ROOT/www/problems"
