/* main.c — the unit tests' TAP program (build/unit): ok(), which
 * prints one TAP line and counts it, and main, which runs every test of
 * tests/unit/ in turn and ends with the plan. What each file tests is
 * said at its top. */
#include <stdarg.h>
#include <stdio.h>

#include "unit.h"

static int	 tests, failures;

/* Prints one TAP line and returns cond. */
int
ok(int cond, const char *fmt, ...)
{
	char	 name[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tests, name);
	if (!cond)
		failures++;
	return cond;
}

int
main(void)
{
	test_key_parse();
	test_parse();
	test_canonical();
	test_fingerprint();
	test_validate();
	test_typed();
	test_defaults_and_time();
	test_utf8();
	test_query_text();
	test_pg_dialect();
	test_backoff();
	test_writer_lanes();
	test_writer_gather();
	test_token_cache();
	test_router_check();
	test_shared_answer();
	test_scan_bounds();
	test_writer_stop();
	printf("1..%d\n", tests);
	return failures > 0;
}
