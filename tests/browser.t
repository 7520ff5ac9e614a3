#!/usr/bin/env bash
# The demo page in a real browser: tests/browser/demo.mjs clicks through it
# in headless chromium (puppeteer-core) against the server lib.sh starts —
# double-click ×5, a stored 409, a 422, the payment lessons — and
# leaves screenshots at 1280 and 390 px in build/browser/ for a human to
# look at. `make test` installs chromium and tests/node_modules first.
#
# The provider's delays, in the shop's terms: the slow card answers within
# the shop's timeout, long after the page's second click (at 0.3 s); the
# lost card's answer comes after it.
export ONCESHOP_PROVIDER_TIMEOUT_MS=2000 PAYSIM_SLOW_MS=1000 PAYSIM_LOST_MS=3000
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
	"exit 0") ;;
	"exit "*) [ "$FAILED" -gt 0 ] || fail "the browser script ran (node: $line)" ;;
	*) echo "# ${line#\# }" ;;
	esac
done < <(node "$ROOT/tests/browser/demo.mjs" "$BASE" "$ROOT/build/browser" 2>&1; echo "exit $?")

is "$(sql "SELECT stock FROM products WHERE sku = 'CUP-LIMITED'")" 5 \
	"the database agrees: the out-of-stock order reserved no cup"

# banner WANT: the lesson banner, as tests/browser/banner.mjs sees it.
banner() {
	local line
	line=$(node "$ROOT/tests/browser/banner.mjs" "$BASE" "$1" 2>&1 | tail -1)
	case $line in
	"ok - "*) pass "${line#ok - }" ;;
	*) fail "the lesson banner ($1)" "$line" ;;
	esac
}
banner ""
stop_server
ONCESHOP_LESSON=memory-store start_server
banner memory-store
stop_server
ONCESHOP_LESSON=select-then-insert start_server
banner select-then-insert
done_testing
