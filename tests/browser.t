#!/usr/bin/env bash
# The demo page in a real browser: tests/browser/demo.mjs clicks through it
# in headless chromium (puppeteer-core) against the server lib.sh starts —
# double-click ×5, a stored 409, a 422 — and
# leaves screenshots at 1280 and 390 px in build/browser/ for a human to
# look at. `make test` installs chromium and tests/node_modules first.
. "$(dirname "$0")/lib.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null ||
	[ ! -d "$ROOT/tests/node_modules/puppeteer-core" ]; then
	echo "1..0 # SKIP needs $CHROMIUM, node and tests/node_modules (make test installs them)"
	exit 0
fi
export CHROMIUM
start_server

# The script prints "ok - …" and "not ok - …" lines; they are numbered here.
while IFS= read -r line; do
	case $line in
	"ok - "*) pass "${line#ok - }" ;;
	"not ok - "*) fail "${line#not ok - }" ;;
	*) echo "# ${line#\# }" ;;
	esac
done < <(node "$ROOT/tests/browser/demo.mjs" "$BASE" "$ROOT/build/browser" 2>&1; echo "exit $?")

is "$(sql 'SELECT count(*) FROM orders WHERE id IN (SELECT order_id FROM order_items WHERE sku = "CUP-LIMITED")')" 0 \
	"the database agrees: no order of the out-of-stock cups"
done_testing
