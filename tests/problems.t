#!/usr/bin/env bash
# One registry of problem types (app/problems.h): every type has its page
# under www/problems/, whose title, heading and example say the same title
# as the API. After changing a title: tests/problem-titles BIN www/problems --write
ROOT=$(cd "$(dirname "$0")/.." && pwd)
exec "$ROOT/tests/problem-titles" "${ONCESHOP_BIN:-$ROOT/build/onceshop}" "$ROOT/www/problems"
