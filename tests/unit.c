/* unit.c — unit tests, in TAP, of the pieces an idempotent POST goes
 * through before the database: idem_key_parse, body_parse, body_canonical,
 * idem_fingerprint and body_validate; and http_query_text, which reads a
 * query parameter. Each function has a table of cases. */
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "auth.h"
#include "body.h"
#include "db_pg.h"
#include "shop.h"
#include "paysim.h"
#include "idempotency.h"
#include "json_scan.h"
#include "phases.h"
#include "util.h"
#include "writer.h"

/* 16, 64, 255 and 256 characters: the limits and one past them. */
#define C16	"0123456789abcdef"
#define C64	C16 C16 C16 C16
#define C255	C64 C64 C64 C16 C16 C16 "0123456789abcde"
#define C256	C255 "f"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int	 tests, failures;

/* Prints one TAP line and returns cond. */
static int
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

/* ---- idem_key_parse ---------------------------------------------------- */

static const struct {
	const char	*header;
	const char	*key;		/* NULL: rejected */
	const char	*name;
} key_cases[] = {
	{ "abc-123", "abc-123", "bare token" },
	{ "4f1c2b6e-8a3d-4e5f-9a7b-1c2d3e4f5a6b",
	  "4f1c2b6e-8a3d-4e5f-9a7b-1c2d3e4f5a6b",
	  "UUID starting with a digit" },
	{ "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", "!#$%&'()*+,-./:;<=>?@[]^_`{|}~",
	  "bare token of every symbol but quote and backslash" },
	{ "\"abc\"", "abc", "quoted string" },
	{ "\"a\\\"b\\\\c\"", "a\"b\\c", "quoted string with \\\" and \\\\" },
	{ "\"a b\"", "a b", "quoted string with a space" },
	{ " \tabc\t ", "abc", "spaces and tabs around a bare token" },
	{ "\t \"abc\" \t", "abc", "spaces and tabs around a quoted string" },
	{ "", NULL, "empty header" },
	{ "\"\"", NULL, "empty quoted string" },
	{ " \t ", NULL, "only white space" },
	{ "\"", NULL, "a lone quote" },
	{ C255, C255, "bare token of 255 characters" },
	{ C256, NULL, "bare token of 256 characters" },
	{ "\"" C255 "\"", C255, "quoted string of 255 characters" },
	{ "\"" C256 "\"", NULL, "quoted string of 256 characters" },
	{ "abc\x01", NULL, "control character \\x01 in a bare token" },
	{ "ab\tc", NULL, "tab inside a bare token" },
	{ "abc\x7f", NULL, "DEL in a bare token" },
	{ "ab c", NULL, "space inside a bare token" },
	{ "\"a\x01\"", NULL, "control character in a quoted string" },
	{ "\"a\tb\"", NULL, "tab in a quoted string" },
	{ "caf\xc3\xa9", NULL, "UTF-8 in a bare token" },
	{ "\"caf\xc3\xa9\"", NULL, "UTF-8 in a quoted string" },
	{ "\"abc", NULL, "unterminated quoted string" },
	{ "\"abc\\\"", NULL, "closing quote escaped" },
	{ "\"abc\"x", NULL, "text after the closing quote" },
	{ "\"a\\nb\"", NULL, "invalid escape \\n" },
	{ "\"abc\\", NULL, "backslash at the end" },
	{ "ab\"c", NULL, "quote inside a bare token" },
	{ "ab\\c", NULL, "backslash inside a bare token" },
	{ "'sq'", NULL, "a bare token in single quotes (a quoting mistake)" },
	{ "it's", "it's", "a single quote inside a bare token" },
	{ "'a", "'a", "a single quote at the start only" },
};

static void
test_key_parse(void)
{
	char	 key[IDEM_KEY_MAX + 1];
	size_t	 i;
	int	 rc;

	for (i = 0; i < NELEM(key_cases); i++) {
		memset(key, 'X', sizeof(key));
		rc = idem_key_parse(key_cases[i].header, key);
		if (key_cases[i].key == NULL)
			ok(rc == -1, "idem_key_parse rejects %s",
			    key_cases[i].name);
		else
			ok(rc == 0 && strcmp(key, key_cases[i].key) == 0,
			    "idem_key_parse accepts %s", key_cases[i].name);
	}
}

/* ---- body_parse -------------------------------------------------------- */

/* A JSON value as the member "a" of an object, since a body must be one. */
#define IN_A(v)		"{\"a\":" v "}"
/* é, ten of them */
#define E		"\xc3\xa9"
#define E10		E E E E E E E E E E

/* Good and bad side by side; why is a part of the reason given. */
static const struct {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*why;		/* NULL: accepted */
	const char	*name;
} parse_cases[] = {
	/* numbers json-c would clamp: refused, not merged */
	{ "{\"a\":9223372036854775807}", 0, NULL, "the largest int64" },
	{ "{\"a\":-9223372036854775808}", 0, NULL, "the smallest int64" },
	{ "{\"a\":9223372036854775808}", 0, "out of range", "int64 + 1" },
	{ "{\"a\":99999999999999999999999}", 0, "out of range",
	  "a 23-digit integer" },
	{ "{\"a\":1e400}", 0, "out of range", "1e400 (inf)" },
	{ "{\"a\":-1e400}", 0, "out of range", "-1e400" },
	{ "{\"a\":1.5e300}", 0, NULL, "1.5e300" },
	/* syntax: one value, strictly, all of the body */
	{ "{\"items\":[{\"sku\":\"A-1\",\"quantity\":2}]}", 0, NULL,
	  "an order" },
	{ " {} \t\r\n", 0, NULL, "white space around the object" },
	{ "{} x", 0, "unexpected data after the JSON value at byte 3",
	  "trailing garbage" },
	{ "{}{}", 0, "unexpected data after the JSON value at byte 2",
	  "two values" },
	{ "{}\0{}", 5, "unexpected data after the JSON value at byte 2",
	  "a NUL byte after the value" },
	{ "{\"a\":\"x\0\"}", 10, "NUL byte (byte 7)",
	  "a NUL byte in a string" },
	{ "", 0, "the body is empty", "an empty body" },
	{ " \r\n", 0, "the body is empty", "a body of white space" },
	{ "{\"a\":", 0, "the body ends at byte 5, where a value should be",
	  "truncated object" },
	{ "{\"a\":[1", 0, "the body ends at byte 7, where ',' or ']'",
	  "truncated array" },
	{ "{\"a", 0, "ends inside the string that starts at byte 1",
	  "truncated string" },
	{ "{\"a\":\"a\\", 0, "ends inside the escape at byte 7",
	  "truncated escape" },
	{ "{'a':1}", 0, "strings must be in double quotes (byte 1)",
	  "single quotes" },
	{ IN_A("[\"it's\",\"a\\\\\",\"'\"]"), 0, NULL,
	  "single quotes inside strings" },
	{ "{a:1}", 0, "expected a member name in double quotes at byte 1, "
	  "found 'a'", "an unquoted name" },
	{ "{\"a\" 1}", 0, "expected ':' after the member name at byte 5",
	  "a missing colon" },
	{ IN_A("[1 2]"), 0, "expected ',' or ']' at byte 8, found '2'",
	  "a missing comma" },
	{ IN_A("[1,]"), 0, "expected a value at byte 8, found ']'",
	  "a trailing comma in an array" },
	{ "{\"a\":1,}", 0, "expected a member name in double quotes at byte 7",
	  "a trailing comma in an object" },
	{ "/**/{}", 0, "expected a value at byte 0, found '/'", "a comment" },
	{ IN_A("[0,-0,-1.5e+3,2E-2,10,0.25]"), 0, NULL, "numbers" },
	{ IN_A("[01]"), 0, "the number at byte 6 starts with a superfluous 0",
	  "a leading zero" },
	{ IN_A("[1.]"), 0, "a digit must follow the decimal point at byte 7",
	  "1." },
	{ IN_A("[.5]"), 0, "expected a value at byte 6, found '.'", ".5" },
	{ IN_A("-.5"), 0, "a digit must follow the minus sign at byte 5",
	  "-.5 (json-c takes it)" },
	{ IN_A("05.5"), 0, "superfluous 0", "05.5 (json-c takes it)" },
	{ IN_A("1e"), 0, "the exponent of the number at byte 5 has no digits",
	  "1e" },
	{ IN_A("-"), 0, "a digit must follow the minus sign at byte 5", "-" },
	{ IN_A("[true,false,null]"), 0, NULL, "true, false and null" },
	{ IN_A("[NaN]"), 0, "the only bare words are true, false and null",
	  "NaN" },
	{ IN_A("[Infinity]"), 0, "the only bare words", "Infinity" },
	{ IN_A("[True]"), 0, "the only bare words", "True" },
	{ IN_A("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), 0, NULL,
	  "every short escape" },
	{ IN_A("\"a\\x\""), 0, "invalid escape at byte 7", "the escape \\x" },
	{ IN_A("\"\\u00E9\\u00e9\""), 0, NULL, "\\u00E9 and \\u00e9" },
	{ IN_A("\"\\u12\""), 0, "the escape at byte 6 needs four hex digits",
	  "\\u with two hex digits" },
	{ IN_A("\"\\u0001\""), 0, NULL, "the escape \\u0001" },
	{ IN_A("\"a\tb\""), 0, "control character 0x09 at byte 7 must be "
	  "escaped", "a raw tab in a string" },
	{ IN_A("\"a\x1f\""), 0, "control character 0x1f at byte 7",
	  "a raw 0x1f in a string" },

	/* UTF-8 */
	{ IN_A("[\"caf\xc3\xa9\",\"\xf0\x9f\x98\x80\"]"), 0, NULL,
	  "UTF-8 of 2 and 4 bytes in strings" },
	{ IN_A("\"\xff\""), 0, "the body is not valid UTF-8 (byte 6)",
	  "invalid UTF-8 byte \\xff" },
	{ IN_A("[\"ok\",\"\x80\"]"), 0, "not valid UTF-8 (byte 12)",
	  "a UTF-8 continuation byte alone" },
	{ IN_A("\"\xc3\""), 0, "not valid UTF-8 (byte 6)",
	  "a truncated UTF-8 sequence" },
	{ IN_A("\"\xc0\xaf\""), 0, "not valid UTF-8 (byte 6)",
	  "overlong UTF-8 \\xc0\\xaf" },
	{ IN_A("\"\xed\xa0\x80\""), 0, "not valid UTF-8 (byte 6)",
	  "UTF-8 of a surrogate" },
	{ IN_A("\"\xf4\x90\x80\x80\""), 0, "not valid UTF-8 (byte 6)",
	  "UTF-8 above U+10FFFF" },
	{ "{\"caf\xc3\":1}", 0, "not valid UTF-8 (byte 5)",
	  "invalid UTF-8 in a member name" },
	{ IN_A("1") "\xff", 0, "unexpected data after the JSON value at byte 7",
	  "a stray \\xff after the value" },

	/* NUL escaped */
	{ IN_A("\"a\\u0000b\""), 0, "\\u0000 at byte 7 is a NUL character, "
	  "which no field of this API accepts", "\\u0000 in a value" },
	{ "{\"a\\u0000b\":1}", 0, "\\u0000 at byte 3 is a NUL character, "
	  "which no member name may hold", "\\u0000 in a member name" },
	{ "{\"a\":1,\"a\\u0000x\":2}", 0, "no member name may hold",
	  "a name that json-c would cut at \\u0000 into a duplicate" },

	/* UTF-16 surrogates */
	{ IN_A("\"\\ud83d\\ude00\""), 0, NULL, "the pair \\ud83d\\ude00" },
	{ IN_A("\"\\uD83D\\uDE00\""), 0, NULL, "the pair \\uD83D\\uDE00" },
	{ IN_A("\"\\udbff\\udfff\""), 0, NULL, "the last pair, U+10FFFF" },
	{ IN_A("\"\\ud800\""), 0, "\\ud800 at byte 6 is a lone UTF-16 high "
	  "surrogate", "a lone high surrogate \\ud800" },
	{ IN_A("\"\\udc00\""), 0, "\\udc00 at byte 6 is a lone UTF-16 low "
	  "surrogate", "a lone low surrogate \\udc00" },
	{ IN_A("\"\\ud800\\u0041\""), 0, "\\ud800 at byte 6 is followed by "
	  "\\u0041, not by a low surrogate", "\\ud800\\u0041" },
	{ IN_A("\"\\uD800\\uD800\""), 0, "\\uD800 at byte 6 is followed by "
	  "\\uD800", "two high surrogates" },
	{ IN_A("\"\\ude00\\ud83d\""), 0, "\\ude00 at byte 6 is a lone UTF-16 "
	  "low", "a pair the wrong way round" },
	{ IN_A("\"\\ud800x\""), 0, "lone UTF-16 high", "\\ud800 then x" },
	{ IN_A("\"\\ud800\\n\""), 0, "lone UTF-16 high", "\\ud800 then \\n" },
	{ IN_A("\"\\ud800\\u00\""), 0, "the escape at byte 12 needs four hex",
	  "\\ud800 then a short \\u" },
	{ "{\"\\ud800\":1}", 0, "lone UTF-16 high",
	  "\\ud800 in a member name" },

	/* duplicate member names */
	{ "{\"items\":[],\"other\":[]}", 0, NULL, "two different names" },
	{ "{\"items\":[],\"items\":[]}", 0, "member \"items\" appears twice in "
	  "one object (the second time at byte 12)",
	  "a duplicate at the top level" },
	{ "{\"a\":{\"b\":1,\"b\":2}}", 0, "member \"b\" appears twice",
	  "a duplicate in a nested object" },
	{ "{\"a\":[{\"x\":1},{\"x\":1,\"y\":2,\"x\":3}]}", 0,
	  "member \"x\" appears twice",
	  "a duplicate in an object in an array" },
	{ "{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":1}}", 0, NULL,
	  "one name in different objects" },
	{ "{\"a\":{\"b\":1},\"b\":1,\"x\":{\"a\":2,\"b\":2}}", 0, NULL,
	  "the names of an inner and an outer object" },
	{ "{\"a\":1,\"\\u0061\":2}", 0, "member \"a\" appears twice",
	  "a and \\u0061" },
	{ "{\"\\u00e9\":1,\"" E "\":2}", 0, "member \"" E "\" appears twice",
	  "\\u00e9 and raw UTF-8 é" },
	{ "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}", 0,
	  "member \"\xf0\x9f\x98\x80\" appears twice",
	  "a surrogate pair and raw UTF-8" },
	{ "{\"a\\/b\":1,\"a/b\":2}", 0, "member \"a/b\" appears twice",
	  "\\/ and /" },
	{ "{\"A\":1,\"a\":2,\"ab\":3,\"\":4}", 0, NULL,
	  "names that differ in case or length" },
	{ "{\"\":1,\"\":2}", 0, "member \"\" appears twice",
	  "the empty name twice" },
	{ "{\"a" E10 E10 E10 E10 "\":1,\"a" E10 E10 E10 E10 "\":2}", 0,
	  "member \"a" E10 E10 E E E E E E E E E "\" appears twice",
	  "a long name twice, quoted in part, cut between characters" },

	/* the body must be an object */
	{ "null", 0, "the body must be a JSON object, not null", "null" },
	{ "[]", 0, "the body must be a JSON object, not an array", "[]" },
	{ " [{\"items\":[]}]", 0, "must be a JSON object, not an array",
	  "an order in an array" },
	{ "1", 0, "the body must be a JSON object, not a number", "1" },
	{ "-0.5", 0, "must be a JSON object, not a number", "-0.5" },
	{ "\"x\"", 0, "the body must be a JSON object, not a string", "\"x\"" },
	{ "true", 0, "the body must be a JSON object, not true", "true" },
	{ "false", 0, "the body must be a JSON object, not false", "false" },
	{ "nul", 0, "the only bare words", "nul (not JSON at all)" },
};

/* Nesting, as json-c counts it: every value on the way in is one level,
 * the outermost included. {"a":{}} has 2 levels, {"a":[1]} has 3. */
static const struct {
	const char	*open, *close;	/* n times around inner */
	int		 n;
	const char	*inner;
	const char	*why;		/* NULL: accepted */
	const char	*name;
} depth_cases[] = {
	{ "{\"a\":", "}", 0, "{}", NULL, "1 level, {}" },
	{ "{\"a\":", "}", 15, "{}", NULL, "16 levels, 16 objects" },
	{ "{\"a\":", "}", 16, "{}", "nested deeper than 16 levels (byte 80)",
	  "17 levels, 17 objects" },
	{ "{\"a\":", "}", 15, "1", NULL,
	  "16 levels, 15 objects around a number" },
	{ "{\"a\":", "}", 16, "1", "nested deeper than 16 levels",
	  "17 levels, 16 objects around a number" },
	{ "{\"a\":[", "]}", 7, "[1]", NULL,
	  "16 levels, objects and arrays" },
	{ "{\"a\":[", "]}", 7, "[[1]]", "nested deeper than 16 levels",
	  "17 levels, objects and arrays" },
};

/* Objects of n members "m0", "m1", ...; dup: the last is named "m0". */
static const struct {
	int		 n;
	int		 nested;	/* inside {"a": ...} */
	int		 dup;
	const char	*why;		/* NULL: accepted */
	const char	*name;
} members_cases[] = {
	{ 256, 0, 0, NULL, "256 members" },
	{ 257, 0, 0, "more than 256 members (the next at byte 2195)",
	  "257 members" },
	{ 257, 1, 0, "more than 256 members", "257 members, nested" },
	{ 256, 0, 1, "member \"m0\" appears twice",
	  "256 members, the last a duplicate of the first" },
};

/* Parses s, checks the outcome and why, frees everything. */
static void
check_parse(const char *s, size_t len, const char *part, const char *name)
{
	struct json_object	*v;
	struct buf		 why = { 0 };

	v = body_parse(s, len, &why);
	if (part == NULL) {
		if (!ok(v != NULL && why.len == 0 &&
		    json_object_is_type(v, json_type_object),
		    "body_parse accepts %s", name))
			printf("# why: \"%s\"\n", why.data ? why.data : "");
	} else if (!ok(v == NULL && why.len > 0 &&
	    strstr(why.data, part) != NULL,
	    "body_parse rejects %s, saying %s", name, part))
		printf("# why: \"%s\"\n", why.data ? why.data : "");
	json_object_put(v);
	buf_free(&why);
}

static void
test_parse(void)
{
	struct buf	 s = { 0 };
	size_t		 i;
	int		 j;

	for (i = 0; i < NELEM(parse_cases); i++)
		check_parse(parse_cases[i].in, parse_cases[i].len ?
		    parse_cases[i].len : strlen(parse_cases[i].in),
		    parse_cases[i].why, parse_cases[i].name);
	for (i = 0; i < NELEM(depth_cases); i++) {
		buf_reset(&s);
		for (j = 0; j < depth_cases[i].n; j++)
			buf_puts(&s, depth_cases[i].open);
		buf_puts(&s, depth_cases[i].inner);
		for (j = 0; j < depth_cases[i].n; j++)
			buf_puts(&s, depth_cases[i].close);
		check_parse(s.data, s.len, depth_cases[i].why,
		    depth_cases[i].name);
	}
	for (i = 0; i < NELEM(members_cases); i++) {
		buf_reset(&s);
		buf_puts(&s, members_cases[i].nested ? "{\"a\":{" : "{");
		for (j = 0; j < members_cases[i].n; j++)
			buf_printf(&s, "%s\"m%d\":0", j > 0 ? "," : "",
			    members_cases[i].dup &&
			    j == members_cases[i].n - 1 ? 0 : j);
		buf_puts(&s, members_cases[i].nested ? "}}" : "}");
		check_parse(s.data, s.len, members_cases[i].why,
		    members_cases[i].name);
	}
	buf_free(&s);
}

/* ---- body_canonical ---------------------------------------------------- */

static const struct {
	const char	*in;
	const char	*canonical;
	const char	*name;
} canonical_cases[] = {
	{ "{\"b\":1,\"a\":2}", "{\"a\":2,\"b\":1}", "keys sorted" },
	{ "{\"b\":1,\"B\":2,\"a\":3}", "{\"B\":2,\"a\":3,\"b\":1}",
	  "keys sorted bytewise" },
	{ "{\"z\":{\"y\":1,\"x\":2},\"a\":0}",
	  "{\"a\":0,\"z\":{\"x\":2,\"y\":1}}",
	  "nested objects sorted" },
	{ IN_A("[{\"b\":1,\"a\":2}]"), IN_A("[{\"a\":2,\"b\":1}]"),
	  "objects in arrays sorted" },
	{ IN_A("[3,1,2]"), IN_A("[3,1,2]"), "arrays keep their order" },
	{ " {\n\t\"a\" : [ 1 , 2 ] }\r\n", "{\"a\":[1,2]}",
	  "white space removed" },
	{ IN_A("\"\\u00e9\""), IN_A("\"" E "\""), "\\u00e9 becomes raw UTF-8" },
	{ IN_A("\"\\u00E9\""), IN_A("\"" E "\""), "so does \\u00E9" },
	{ IN_A("\"" E "\""), IN_A("\"" E "\""), "raw UTF-8 stays" },
	{ IN_A("\"\\u20ac\\u07ff\""), IN_A("\"\xe2\x82\xac\xdf\xbf\""),
	  "\\u20ac and \\u07ff become 3 and 2 bytes of UTF-8" },
	{ IN_A("\"\\ud83d\\ude00\""), IN_A("\"\xf0\x9f\x98\x80\""),
	  "a surrogate pair becomes raw UTF-8" },
	{ IN_A("\"\\udbff\\udfff\""), IN_A("\"\xf4\x8f\xbf\xbf\""),
	  "so does the last pair, U+10FFFF" },
	{ "{\"\\u0061\\u00e9\":1}", "{\"a" E "\":1}",
	  "escapes in a member name are decoded too" },
	{ IN_A("\"\\u0041\""), IN_A("\"A\""), "\\u0041 becomes A" },
	{ IN_A("\"\\/\""), IN_A("\"/\""), "\\/ becomes /" },
	{ IN_A("\"\\\"\\\\\""), IN_A("\"\\\"\\\\\""),
	  "quote and backslash escaped" },
	{ IN_A("\"\\u0001\""), IN_A("\"\\u0001\""),
	  "control character escaped" },
	{ IN_A("\"\\u000a\""), IN_A("\"\\n\""), "newline as \\n" },
	{ IN_A("\"\\t\\r\\b\\f\""), IN_A("\"\\t\\r\\b\\f\""), "short escapes" },
	{ IN_A("1"), IN_A("1"), "1" },
	{ IN_A("-1"), IN_A("-1"), "-1" },
	{ IN_A("-0"), IN_A("0"), "-0 becomes 0" },
	{ IN_A("-0.0"), IN_A("0"), "-0.0 becomes 0" },
	{ IN_A("1.0"), IN_A("1"), "1.0 becomes 1" },
	{ IN_A("1e2"), IN_A("100"), "1e2 becomes 100" },
	{ IN_A("0.5"), IN_A("0.5"), "0.5" },
	{ IN_A("9007199254740993"), IN_A("9007199254740993"),
	  "2^53 + 1 kept exactly" },
	{ IN_A("[true,false,null]"), IN_A("[true,false,null]"),
	  "true, false, null" },
};

static void
test_canonical(void)
{
	struct json_object	*v;
	struct buf		 why = { 0 }, out = { 0 };
	size_t			 i;

	for (i = 0; i < NELEM(canonical_cases); i++) {
		v = body_parse(canonical_cases[i].in,
		    strlen(canonical_cases[i].in), &why);
		if (v != NULL)
			body_canonical(v, &out);
		if (!ok(v != NULL && out.data != NULL &&
		    strcmp(out.data, canonical_cases[i].canonical) == 0,
		    "body_canonical: %s", canonical_cases[i].name))
			printf("# got: %s\n", v != NULL ? out.data :
			    why.data != NULL ? why.data : "");
		json_object_put(v);
		buf_free(&why);
		buf_free(&out);
	}
}

/* ---- idem_fingerprint -------------------------------------------------- */

#define ORDER_A2	"{\"items\":[{\"sku\":\"A\",\"quantity\":2}]}"

static const struct {
	const char	*a, *b;
	int		 same;
	const char	*name;
} fingerprint_cases[] = {
	{ ORDER_A2, " { \"items\": [ { \"quantity\": 2, \"sku\": \"A\" } ] }\n",
	  1, "equal for other key order and white space" },
	{ ORDER_A2, "{\"items\":[{\"sku\":\"A\",\"quantity\":3}]}",
	  0, "differs for quantity 2 and 3" },
	{ ORDER_A2, "{\"items\":[{\"sku\":\"A\",\"quantity\":\"2\"}]}",
	  0, "differs for 2 and \"2\"" },
	{ ORDER_A2, "{\"items\":[{\"sku\":\"B\",\"quantity\":2}]}",
	  0, "differs for sku A and B" },
};

/* Writes the fingerprint of the JSON text s to hex; "" if s is invalid. */
static void
fingerprint(const char *s, char hex[65])
{
	struct json_object	*v;
	struct buf		 why = { 0 };

	hex[0] = '\0';
	if ((v = body_parse(s, strlen(s), &why)) != NULL)
		idem_fingerprint(v, hex);
	json_object_put(v);
	buf_free(&why);
}

static void
test_fingerprint(void)
{
	const char	*canon = "{\"items\":[{\"quantity\":2,\"sku\":\"A\"}]}";
	char		 a[65], b[65];
	size_t		 i;

	for (i = 0; i < sizeof(fingerprint_cases) /
	    sizeof(fingerprint_cases[0]); i++) {
		fingerprint(fingerprint_cases[i].a, a);
		fingerprint(fingerprint_cases[i].b, b);
		ok(a[0] != '\0' && b[0] != '\0' &&
		    (strcmp(a, b) == 0) == fingerprint_cases[i].same,
		    "idem_fingerprint %s", fingerprint_cases[i].name);
	}

	fingerprint(ORDER_A2, a);
	ok(strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64,
	    "idem_fingerprint is 64 lowercase hex digits");
	sha256_hex(canon, strlen(canon), b);
	ok(strcmp(a, b) == 0,
	    "idem_fingerprint is the SHA-256 of the canonical text");
	fingerprint("{ }", a);
	ok(strcmp(a, "44136fa355b3678a1146ad16f7e8649e"
	    "94fb4fc21fe77e8310c060f61caaff8a") == 0,
	    "idem_fingerprint of { } is the known SHA-256 of {}");
}

/* ---- body_validate ----------------------------------------------------- */

#define ORDER_QTY(q)	"{\"items\":[{\"sku\":\"A-1\",\"quantity\":" q "}]}"
#define ORDER_SKU(s)	"{\"items\":[{\"sku\":\"" s "\",\"quantity\":1}]}"

static const struct {
	const char		*in;
	const struct body_type	*body;
	const char		*why;	/* NULL: valid; else a part of why */
	const char		*name;
} validate_cases[] = {
	{ ORDER_QTY("2"), &order_body, NULL, "a valid order" },
	{ ORDER_QTY("1"), &order_body, NULL, "quantity 1" },
	{ ORDER_QTY("999"), &order_body, NULL, "quantity 999" },
	{ ORDER_QTY("0"), &order_body, "items[0].quantity", "quantity 0" },
	{ ORDER_QTY("1000"), &order_body, "items[0].quantity",
	  "quantity 1000" },
	{ ORDER_QTY("-1"), &order_body, "items[0].quantity", "quantity -1" },
	{ ORDER_QTY("1.5"), &order_body, "items[0].quantity",
	  "quantity 1.5" },
	{ ORDER_QTY("\"2\""), &order_body, "items[0].quantity",
	  "quantity \"2\"" },
	{ ORDER_QTY("true"), &order_body, "items[0].quantity",
	  "quantity true" },
	{ ORDER_QTY("null"), &order_body, "items[0].quantity",
	  "quantity null" },
	{ ORDER_SKU(C64), &order_body, NULL, "sku of 64 characters" },
	{ ORDER_SKU(""), &order_body, "items[0].sku", "sku \"\"" },
	{ ORDER_SKU(C64 "x"), &order_body, "items[0].sku",
	  "sku of 65 characters" },
	{ ORDER_SKU("A\\u0001"), &order_body, "items[0].sku",
	  "sku with a control character" },
	{ "{\"items\":[]}", &order_body, "items", "0 items" },
	{ "{\"items\":{}}", &order_body, "items", "items not an array" },
	{ "{\"items\":[1]}", &order_body, "items[0]",
	  "an item not an object" },
	{ "{}", &order_body, "items", "missing items" },
	{ "{\"items\":[{\"sku\":\"A\",\"quantity\":1}],\"coupon\":\"X\"}",
	  &order_body, "coupon", "an unknown top-level member" },
	{ "{\"items\":[{\"sku\":\"A\",\"quantity\":1,\"price\":1}]}",
	  &order_body, "price", "an unknown member in an item" },
	{ "{\"items\":[{\"quantity\":1}]}", &order_body, "items[0].sku",
	  "missing sku" },
	{ "{\"items\":[{\"sku\":\"A\"}]}", &order_body, "items[0].quantity",
	  "missing quantity" },
	{ "{\"items\":[{\"sku\":\"A\",\"quantity\":1},"
	  "{\"sku\":\"A\",\"quantity\":2}]}", &order_body, "items[1].sku",
	  "the same sku twice" },
	{ "{\"items\":[{\"sku\":\"A\",\"quantity\":1},"
	  "{\"sku\":\"B\",\"quantity\":0}]}", &order_body, "items[1].quantity",
	  "quantity 0 in the second item" },
	{ "{\"order_id\":1,\"amount\":1999,\"currency\":\"EUR\"}",
	  &payment_body, NULL, "a valid payment" },
	{ "{\"order_id\":0,\"amount\":1999,\"currency\":\"EUR\"}",
	  &payment_body, "order_id", "payment with order_id 0" },
	{ "{\"order_id\":1,\"amount\":-1,\"currency\":\"EUR\"}",
	  &payment_body, "amount", "payment with amount -1" },
	{ "{\"order_id\":1,\"amount\":1999}",
	  &payment_body, "currency", "payment without currency" },
	{ "{\"order_id\":1,\"amount\":1,\"currency\":\"JPY\",\"card\":\"tok_x\"}",
	  &payment_body, NULL, "payment with a card" },
	{ "{\"order_id\":1,\"amount\":1,\"currency\":\"JPY\",\"card\":null}",
	  &payment_body, "card", "payment with card null (absent is not null)" },
	{ "{\"order_id\":1,\"amount\":1,\"currency\":\"JPY\",\"card\":\"\"}",
	  &payment_body, "card", "payment with card \"\"" },
	{ "{\"order_id\":1,\"amount\":1,\"currency\":\"JPY\",\"card\":7}",
	  &payment_body, "card", "payment with a number for card" },
};

/* An order of n items with the skus S0, S1, ... */
static const struct {
	int		 items;
	int		 valid;
	const char	*name;
} items_cases[] = {
	{ 50, 1, "50 items" },
	{ 51, 0, "51 items" },
};

/* Parses s and validates it against body; checks why, frees all. */
static void
check_validate(const char *s, const struct body_type *body, const char *part,
    const char *name)
{
	struct json_object	*v;
	struct buf		 why = { 0 };
	void			*out = xmalloc(body->size);
	int			 rc = 0;

	if ((v = body_parse(s, strlen(s), &why)) != NULL)
		rc = body_validate(v, body->fields, out, &why);
	if (part == NULL)
		ok(v != NULL && rc == 0 && why.len == 0,
		    "body_validate accepts %s", name);
	else if (!ok(v != NULL && rc == -1 && why.len > 0 &&
	    strstr(why.data, part) != NULL,
	    "body_validate rejects %s, naming %s", name, part))
		printf("# why: \"%s\"\n", why.data ? why.data : "");
	json_object_put(v);
	buf_free(&why);
	free(out);
}

/* A body of every field type, to see the values land in the struct. */
struct t_item {
	char	 name[5];
	int64_t	 n;
};
struct t_in {
	int64_t		 id;
	struct t_item	 items[3];
	size_t		 nitems;
	char		 note[9];
};
static const struct field t_item_fields[] = {
	F_STRING(struct t_item, name, 1, 4),
	F_INT(struct t_item, n, -5, 5),
	F_END,
};
static const struct field t_fields[] = {
	F_INT(struct t_in, id, 1, 100),
	F_ARRAY(struct t_in, items, nitems, 1, 3, t_item_fields, "name"),
	F_STRING(struct t_in, note, 0, 8),
	F_END,
};

static void
test_typed(void)
{
	const char		*s = "{\"note\":\"hello\",\"id\":42,\"items\":"
	    "[{\"name\":\"ab\",\"n\":-5},{\"n\":5,\"name\":\"wxyz\"}]}";
	struct json_object	*v;
	struct buf		 why = { 0 };
	struct t_in		 in;

	memset(&in, 0x55, sizeof(in));
	v = body_parse(s, strlen(s), &why);
	ok(v != NULL && body_validate(v, t_fields, &in, &why) == 0,
	    "body_validate fills a struct of every field type");
	ok(in.id == 42 && strcmp(in.note, "hello") == 0,
	    "... an integer and a string at the top level");
	ok(in.nitems == 2 && strcmp(in.items[0].name, "ab") == 0 &&
	    in.items[0].n == -5 && strcmp(in.items[1].name, "wxyz") == 0 &&
	    in.items[1].n == 5, "... and an array of structs with its count");
	json_object_put(v);
	buf_free(&why);
}

static void
test_validate(void)
{
	struct buf	 s = { 0 };
	size_t		 i;
	int		 j;

	for (i = 0; i < NELEM(validate_cases); i++)
		check_validate(validate_cases[i].in, validate_cases[i].body,
		    validate_cases[i].why, validate_cases[i].name);
	for (i = 0; i < NELEM(items_cases); i++) {
		buf_puts(&s, "{\"items\":[");
		for (j = 0; j < items_cases[i].items; j++)
			buf_printf(&s, "%s{\"sku\":\"S%d\",\"quantity\":1}",
			    j > 0 ? "," : "", j);
		buf_puts(&s, "]}");
		check_validate(s.data, &order_body,
		    items_cases[i].valid ? NULL : "items", items_cases[i].name);
		buf_reset(&s);
	}
	buf_free(&s);
}

/* ---- buf_utf8 ------------------------------------------------------------ */

static const struct {
	const char	*in;
	const char	*out;
	const char	*name;
} utf8_cases[] = {
	{ "plain", "plain", "ASCII as it is" },
	{ "\xe2\x82\xac", "\xe2\x82\xac", "a whole euro sign" },
	{ "ab\xe2\x82", "ab", "a character cut at the end is dropped" },
	{ "a\xe2\x82.b", "a.b", "a character cut in the middle is dropped" },
	{ "a\xff" "b", "a\xef\xbf\xbd" "b", "a stray byte becomes U+FFFD" },
	{ "a\x80" "b", "a\xef\xbf\xbd" "b", "a lone continuation byte too" },
	{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd", "an overlong slash" },
	{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
	  "an encoded surrogate" },
	{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "a 4-byte emoji" },
};

static void
test_utf8(void)
{
	struct buf	 b = { 0 };
	size_t		 i;

	for (i = 0; i < NELEM(utf8_cases); i++) {
		buf_reset(&b);
		buf_utf8(&b, utf8_cases[i].in, strlen(utf8_cases[i].in));
		buf_append(&b, "", 0);
		ok(strcmp(b.data, utf8_cases[i].out) == 0, "buf_utf8: %s",
		    utf8_cases[i].name);
	}
	buf_free(&b);
}

/* ---- http_query_text --------------------------------------------------- */

static const struct {
	const char	*query;
	int		 len;		/* -2 absent, -1 malformed */
	const char	*value;
	const char	*name;
} query_cases[] = {
	{ "reference=pay-1", 5, "pay-1", "a plain value" },
	{ "limit=5&reference=pay-1&x=y", 5, "pay-1", "among others" },
	{ "xreference=a&reference=b", 1, "b", "a longer name does not match" },
	{ "reference=a%20b+c", 5, "a b c", "%20 and + are spaces" },
	{ "reference=%E6%9D%B1", 3, "\xe6\x9d\xb1", "percent-encoded UTF-8" },
	{ "reference=", 0, "", "present and empty" },
	{ "", -2, NULL, "no query" },
	{ "limit=5", -2, NULL, "absent" },
	{ "reference=a%2", -1, NULL, "a %XX cut short" },
	{ "reference=a%zz", -1, NULL, "a %XX that is not hex" },
	{ "reference=a%0Ab", -1, NULL, "a control character" },
	{ "reference=" C16, -1, NULL, "longer than the buffer" },
	{ "reference=0123456789abcde", 15, "0123456789abcde", "just fits" },
};

static void
test_query_text(void)
{
	struct request	 req;
	char		 out[16];
	size_t		 i;
	int		 n;

	memset(&req, 0, sizeof(req));
	for (i = 0; i < NELEM(query_cases); i++) {
		req.query = (char *)query_cases[i].query;
		n = http_query_text(&req, "reference", out, sizeof(out));
		ok(n == query_cases[i].len && (n < 0 ||
		    strcmp(out, query_cases[i].value) == 0),
		    "http_query_text: %s", query_cases[i].name);
	}
}

/* The core's tables are written once, in SQLite's type names; PostgreSQL
 * reads them in its own. Comments, strings and longer words are left
 * alone. */
static const struct {
	const char	*sql, *pg, *name;
} dialect_cases[] = {
	{ "id INTEGER PRIMARY KEY,", "id bigint GENERATED BY DEFAULT AS "
	    "IDENTITY PRIMARY KEY,", "INTEGER PRIMARY KEY: an identity" },
	{ "n INTEGER NOT NULL, t TEXT, b BLOB)", "n bigint NOT NULL, "
	    "t text COLLATE \"C\", b bytea)", "INTEGER, TEXT, BLOB" },
	{ "x INTEGERS, TEXTUAL, BLOB_2", "x INTEGERS, TEXTUAL, BLOB_2",
	    "longer words are not types" },
	{ "-- a TEXT column\nt TEXT", "-- a TEXT column\nt text COLLATE \"C\"",
	    "a comment is left as it is" },
	{ "CHECK (s IN ('TEXT', 'BLOB'))", "CHECK (s IN ('TEXT', 'BLOB'))",
	    "a string is left as it is" },
	{ "a -- no newline at the end: TEXT", "a -- no newline at the end: "
	    "TEXT", "a comment at the very end" },
};

static void
test_pg_dialect(void)
{
	char	*pg;
	size_t	 i;

	for (i = 0; i < NELEM(dialect_cases); i++) {
		pg = pg_dialect(dialect_cases[i].sql);
		ok(strcmp(pg, dialect_cases[i].pg) == 0, "pg_dialect: %s",
		    dialect_cases[i].name);
		free(pg);
	}
}

/* A string with a default (F_STRING_OR) takes it when absent; and the
 * clock text the leases are kept in reads back. */
static void
test_defaults_and_time(void)
{
	static const struct { const char *s; int ok; time_t t; } times[] = {
		{ "2026-11-26T04:13:59Z", 1, 1795666439 },
		{ "1970-01-01T00:00:00Z", 1, 0 },
		{ "2026-11-26T04:13:59", 0, 0 },
		{ "2026-11-26T04:13:59Zx", 0, 0 },
		{ "", 0, 0 },
	};
	const char		*s = "{\"order_id\":1,\"amount\":1,"
	    "\"currency\":\"JPY\"}";
	struct json_object	*v;
	struct buf		 why = { 0 };
	char			 in[256], text[21];
	time_t			 t;
	size_t			 i;

	memset(in, 0x55, sizeof(in));
	v = body_parse(s, strlen(s), &why);
	ok(v != NULL && payment_body.size <= sizeof(in) &&
	    body_validate(v, payment_body.fields, in, &why) == 0 &&
	    memmem(in, payment_body.size, "tok_ok", 7) != NULL,
	    "a payment without card gets the default card tok_ok");
	json_object_put(v);
	buf_free(&why);
	for (i = 0; i < NELEM(times); i++) {
		t = -1;
		ok((time_parse_rfc3339(times[i].s, &t) == 0) == times[i].ok &&
		    (!times[i].ok || t == times[i].t),
		    "time_parse_rfc3339 %s \"%s\"", times[i].ok ? "reads" :
		    "refuses", times[i].s);
	}
	time_rfc3339(1795666439, text);
	ok(time_parse_rfc3339(text, &t) == 0 && t == 1795666439,
	    "... and reads back what time_rfc3339 wrote");
	ok(time_parse_rfc3339(NULL, &t) == -1, "... and refuses NULL");
}

/* The backoff after the n-th failure in a row: 2 s doubling to 120 s,
 * the upper half at random, at least what the remote side asked for. */
static void
test_backoff(void)
{
	static const struct { int64_t n; long at_least, lo, hi; } cases[] = {
		{ 1, 0, 1, 2 },
		{ 2, 0, 2, 4 },
		{ 3, 0, 4, 8 },
		{ 6, 0, 32, 64 },
		{ 7, 0, 60, 120 },
		{ 40, 0, 60, 120 },
		{ 1, 30, 30, 30 },
		{ 7, 600, 600, 600 },
	};
	long	 d, lo, hi;
	size_t	 i;
	int	 k;

	for (i = 0; i < NELEM(cases); i++) {
		lo = LONG_MAX;
		hi = 0;
		for (k = 0; k < 200; k++) {
			d = phases_backoff_s(cases[i].n, cases[i].at_least);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		ok(lo >= cases[i].lo && hi <= cases[i].hi && (cases[i].lo ==
		    cases[i].hi || lo < hi), "phases_backoff_s(%lld, %ld) is "
		    "%ld to %ld s, jittered (200 draws: %ld to %ld)",
		    (long long)cases[i].n, cases[i].at_least, cases[i].lo,
		    cases[i].hi, lo, hi);
	}
}

/* json_scan reads only the len bytes it is given: a number that ends the
 * body is not continued by the bytes after it (a body is not
 * NUL-terminated, and "9" past the end made a fitting number too big). */
static void
test_scan_bounds(void)
{
	static const struct { const char *text; size_t len; } cases[] = {
		{ "92233720368547758079", 19 },		/* INT64_MAX, then 9 */
		{ "1e3080", 5 },			/* 1e308, then 0 */
		{ "1.5e-3000", 6 },			/* 1.5e-3, then 000 */
	};
	struct buf	 why = { 0 };
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		buf_reset(&why);
		ok(json_scan(cases[i].text, cases[i].len, 16, &why) == 0,
		    "json_scan reads %.*s alone, not the bytes after it%s%s",
		    (int)cases[i].len, cases[i].text, why.len ? ": " : "",
		    why.len ? why.data : "");
	}
	buf_free(&why);
}

/* A writer with lanes write connections on a new SQLite database in a
 * temporary directory of its own, for the test named what. */
struct unit_writer {
	char			 dir[32];
	char			 db_path[64];
	struct writer_config	 wc;
};

static struct writer *
unit_writer_start(struct unit_writer *u, int lanes, int gather_us,
    const char *what)
{
	struct writer	*w = NULL;
	struct db	*db;

	snprintf(u->dir, sizeof(u->dir), "/tmp/onceshop-unit-XXXXXX");
	if (mkdtemp(u->dir) == NULL) {
		ok(0, "%s: a temporary directory", what);
		return NULL;
	}
	snprintf(u->db_path, sizeof(u->db_path), "%s/unit.db", u->dir);
	u->wc = (struct writer_config){ { u->db_path, NULL, &shop_schema, 0,
	    5000 }, NULL, lanes, gather_us };
	db = db_open(&u->wc.db, DB_MIGRATE);
	if (ok(db != NULL && db_migrate(db, getenv("ONCESHOP_SCHEMA") ?
	    getenv("ONCESHOP_SCHEMA") : "schema", 0) == 0,
	    "%s: a database to write to", what) &&
	    (w = writer_start(&u->wc)) == NULL)
		ok(0, "%s: the writer starts", what);
	db_close(db);
	return w;
}

static void
unit_writer_free(struct unit_writer *u, struct writer *w)
{
	char	 rm[64];

	writer_free(w);
	snprintf(rm, sizeof(rm), "rm -rf %s", u->dir);
	if (system(rm) != 0)
		ok(0, "the temporary directory %s is removed", u->dir);
}

/* ---- the token cache (auth.c) -------------------------------------------- */

/* Sleeps until ms milliseconds after since (monotonic µs). */
static void
sleep_until(int64_t since, int ms)
{
	int64_t	 left = since + ms * 1000LL - time_monotonic_usec();

	if (left > 0)
		usleep((useconds_t)left);
}

/* Authenticates one request with "Bearer token" on db (NULL: the answer
 * must come from the cache). Returns the user's id, 0 if refused. */
static int64_t
authenticate(struct db *db, const char *token)
{
	char		 header[128];
	struct request	 req = { .authorization = header };
	struct response	 res = { 0 };

	snprintf(header, sizeof(header), "Bearer %s", token);
	if (auth_user_or_reply(db, &shop_api, &req, &res) != 0)
		req.user.id = 0;
	http_response_free(&res);
	return req.user.id;
}

/* A token is trusted for the cache's time (1 s here) after the look-up
 * that found it; past half of that, a request is still answered from the
 * cache, and has its thread look the token up again afterwards
 * (auth_refresh): found, the token lasts another second from then; gone,
 * it is refused at once. The requests answered from the cache are given
 * no database at all. Each check has 300 ms or more to spare, for a
 * slow machine (valgrind). */
static void
test_token_cache(void)
{
	struct unit_writer	 u;
	struct writer		*w = unit_writer_start(&u, 1, 0, "token cache");
	struct db		*db = w ? db_open(&u.wc.db, DB_SERVE) : NULL;
	sqlite3			*raw = NULL;
	char			 ann[65], bob[65];
	int64_t			 t, ann_id;

	if (!ok(db != NULL && auth_user_add(db, "ann", AUTH_NEW_USER, ann) == 0 &&
	    auth_user_add(db, "bob", AUTH_NEW_USER, bob) == 0 &&
	    sqlite3_open(u.db_path, &raw) == SQLITE_OK,
	    "token cache: two users with a token each"))
		goto out;
	auth_configure(1000);

	t = time_monotonic_usec();
	ok((ann_id = authenticate(db, ann)) != 0, "a token is looked up");
	sqlite3_exec(raw, "DELETE FROM api_tokens", NULL, NULL, NULL);
	ok(authenticate(NULL, ann) == ann_id,
	    "deleted, it is still trusted from the cache");
	sleep_until(t, 600);
	ok(authenticate(NULL, ann) == ann_id,
	    "past half its time, a request is still answered from the cache");
	auth_refresh(db);
	ok(authenticate(db, ann) == 0,
	    "the look-up after that request finds it gone: refused at once");
	auth_refresh(db);

	/* bob's row went with the DELETE: give him a token again. */
	if (!ok(auth_user_add(db, "bob", AUTH_MORE_TOKENS, bob) == 0,
	    "bob gets a new token"))
		goto out;
	t = time_monotonic_usec();
	ok(authenticate(db, bob) != 0, "bob's token is looked up");
	sleep_until(t, 600);
	ok(authenticate(NULL, bob) != 0, "past half its time, from the cache");
	auth_refresh(db);	/* found: until 1 s from about t + 600 */
	sqlite3_exec(raw, "DELETE FROM api_tokens", NULL, NULL, NULL);
	sleep_until(t, 1200);
	ok(authenticate(NULL, bob) != 0, "past its first end, the look-up "
	    "after the request has kept it in the cache");
	sleep_until(t, 1900);
	ok(authenticate(db, bob) == 0, "1 s after that look-up, deleted, it "
	    "is refused");
	auth_refresh(db);
out:
	auth_configure(0);
	sqlite3_close(raw);
	db_close(db);
	unit_writer_free(&u, w);
}

/* A job that takes a little while, so that others queue behind it. */
static int
slow_job(struct db *db, void *arg)
{
	(void)db;
	(void)arg;
	usleep(2000);
	return 0;
}

struct submitter {
	struct writer	*w;
	int		 answered, other;	/* COMMITTED or BUSY; else */
};

/* Submits 40 slow jobs, one after the other, counting the answers. */
static void *
submit_many(void *arg)
{
	struct submitter	*s = arg;
	struct write_job	 job = { .run = slow_job };
	enum write_result	 r;
	int			 i;

	for (i = 0; i < 40; i++) {
		r = writer_submit(s->w, &job, 5000);
		if (r == WRITE_COMMITTED || r == WRITE_BUSY)
			s->answered++;
		else
			s->other++;
	}
	return NULL;
}

/* writer_stop while threads wait in writer_submit, as when the server is
 * told to stop under load: each of their jobs is answered (committed, or
 * WRITE_BUSY if it never ran), and jobs submitted after the stop are
 * WRITE_BUSY at once. (It freed the writer under them: make asan.) */
static void
test_writer_stop(void)
{
	struct unit_writer	 u;
	struct submitter	 s[8];
	pthread_t		 t[8];
	struct write_job	 job = { .run = slow_job };
	struct writer		*w;
	int			 i, answered = 0, other = 0;

	if ((w = unit_writer_start(&u, 1, 0, "writer_stop")) == NULL)
		return;
	for (i = 0; i < 8; i++) {
		s[i] = (struct submitter){ w, 0, 0 };
		pthread_create(&t[i], NULL, submit_many, &s[i]);
	}
	usleep(30000);
	writer_stop(w);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		answered += s[i].answered;
		other += s[i].other;
	}
	ok(answered == 8 * 40 && other == 0, "writer_stop under load: every "
	    "job answered, committed or WRITE_BUSY (%d of %d, %d other)",
	    answered, 8 * 40, other);
	ok(writer_submit(w, &job, 5000) == WRITE_BUSY,
	    "writer_stop: a job submitted after the stop is WRITE_BUSY at once");
	unit_writer_free(&u, w);
}

/* Lanes: jobs with the same lane hint run on the same write connection's
 * thread, and hints of different lanes on different ones. Three lanes
 * (on SQLite they take its one write lock in turn), six hints: 1 and 4,
 * 2 and 5, 3 and 6 share a lane. */
struct hinted {
	struct writer	*w;
	uint32_t	 hint;
	pthread_t	 ran_on[20];
	int		 results;	/* WRITE_COMMITTED */
};

static int
note_thread(struct db *db, void *arg)
{
	(void)db;
	*(pthread_t *)arg = pthread_self();
	return 0;
}

static void *
submit_hinted(void *arg)
{
	struct hinted		*h = arg;
	struct write_job	 job;
	int			 i;

	for (i = 0; i < 20; i++) {
		job = (struct write_job){ .run = note_thread,
		    .arg = &h->ran_on[i], .lane_hint = h->hint };
		h->results += writer_submit(h->w, &job, 5000) ==
		    WRITE_COMMITTED;
	}
	return NULL;
}

static void
test_writer_lanes(void)
{
	struct unit_writer	 u;
	struct hinted		 h[6];
	pthread_t		 t[6];
	struct writer		*w;
	int			 i, k, same = 1, committed = 0;

	if ((w = unit_writer_start(&u, 3, 0, "writer lanes")) == NULL)
		return;
	for (i = 0; i < 6; i++) {
		h[i] = (struct hinted){ .w = w, .hint = (uint32_t)i + 1 };
		pthread_create(&t[i], NULL, submit_hinted, &h[i]);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		committed += h[i].results;
		for (k = 1; k < 20; k++)
			same &= pthread_equal(h[i].ran_on[k], h[i].ran_on[0]) != 0;
	}
	ok(committed == 120 && same, "writer lanes: each hint's 20 jobs ran on "
	    "one lane's thread (%d of 120 committed)", committed);
	ok(pthread_equal(h[0].ran_on[0], h[3].ran_on[0]) &&
	    pthread_equal(h[1].ran_on[0], h[4].ran_on[0]) &&
	    !pthread_equal(h[0].ran_on[0], h[1].ran_on[0]) &&
	    !pthread_equal(h[1].ran_on[0], h[2].ran_on[0]) &&
	    !pthread_equal(h[0].ran_on[0], h[2].ran_on[0]),
	    "writer lanes: hints of one lane share its thread, three lanes "
	    "three threads");
	unit_writer_free(&u, w);
}

/* A request of its own thread: begins, queues a job, ends; how long
 * writer_submit took is noted. */
struct one_request {
	struct writer		*w;
	struct write_job	 job;
	int64_t			 waited_us;
};

static void *
run_request(void *arg)
{
	struct one_request	*r = arg;
	int64_t			 t0 = time_monotonic_usec();

	writer_request_begin(r->w);
	r->job = (struct write_job){ .run = note_thread, .arg = &(pthread_t){0} };
	writer_submit(r->w, &r->job, 10000);
	r->waited_us = time_monotonic_usec() - t0;
	writer_request_end(r->w);
	return NULL;
}

/* A group waits for the requests begun that have not queued a job yet,
 * so that one commit serves them too; not for one that ended without a
 * job, nor when nothing else is under way. The wait may be 5 s here, so
 * that each case is plain: this thread is the request on its way, and
 * acts 100 ms after the other's job is queued. */
static void
test_writer_gather(void)
{
	struct unit_writer	 u;
	struct one_request	 other;
	struct write_job	 mine = { .run = note_thread, .arg = &(pthread_t){0} };
	struct writer		*w;
	pthread_t		 t;

	if ((w = unit_writer_start(&u, 1, 5000000, "writer gather")) == NULL)
		return;
	other = (struct one_request){ .w = w };
	pthread_create(&t, NULL, run_request, &other);
	pthread_join(t, NULL);
	ok(other.job.result == WRITE_COMMITTED && other.waited_us < 2500000,
	    "writer gather: a job with nothing else under way is not held "
	    "(%lld ms)", (long long)other.waited_us / 1000);

	writer_request_begin(w);
	pthread_create(&t, NULL, run_request, &other);
	usleep(100000);
	writer_submit(w, &mine, 10000);
	writer_request_end(w);
	pthread_join(t, NULL);
	ok(mine.result == WRITE_COMMITTED && mine.group == other.job.group,
	    "writer gather: a job queued 100 ms after another, by a request "
	    "begun before, commits in its group (groups %lld and %lld)",
	    (long long)other.job.group, (long long)mine.group);

	writer_request_begin(w);
	pthread_create(&t, NULL, run_request, &other);
	usleep(100000);
	writer_request_end(w);
	pthread_join(t, NULL);
	ok(other.job.result == WRITE_COMMITTED &&
	    other.waited_us >= 90000 && other.waited_us < 2500000,
	    "writer gather: a group waits for a request under way until it "
	    "ends without a job (%lld ms)", (long long)other.waited_us / 1000);
	unit_writer_free(&u, w);
}

/* The route tables are checked before serving: a route that would crash
 * or never answer is refused with its number. */
static void
test_router_check(void)
{
	static struct shared_answer refunds = SHARED_ANSWER_INIT;
	static const struct route bad[][1] = {
		{ { .method = METHOD_POST, .path = "/refunds",
		    .handler = orders_create, .operation = "refund" } },
		{ { .method = METHOD_GET, .path = "/refunds",
		    .handler = orders_list, .operation = "refund",
		    .body = &order_body } },
		{ { .method = METHOD_GET, .path = "/refunds" } },
		{ { .method = METHOD_POST, .path = "/refunds",
		    .handler = orders_create, .phased = &payment_phases,
		    .operation = "refund", .body = &order_body } },
		{ { .method = METHOD_GET, .path = "/refunds",
		    .handler = orders_list, .body = &order_body } },
		{ { .method = METHOD_GET, .path = "refunds",
		    .handler = orders_list } },
		{ { .method = METHOD_GET, .path = "/refunds",
		    .handler = orders_list, .shared = &refunds } },
	};
	static const char *const why[] = {
		"an operation without a body type",
		"an operation on a GET",
		"neither handler nor phases",
		"both handler and phases",
		"a body type without an operation",
		"a path without its /",
		"a shared answer on a route with a token",
	};
	struct api	 api = shop_api;
	size_t		 i;

	ok(router_check(&shop_api) == 0, "router_check: onceshop's routes pass");
	for (i = 0; i < NELEM(bad); i++) {
		api.routes = bad[i];
		api.nroutes = 1;
		ok(router_check(&api) == -1, "router_check refuses %s", why[i]);
	}
}

/* shared_answer: many threads, each "commits" (takes the next number of
 * committed) and then reads; a read answers what was committed when it
 * began, after a pause that lets others arrive meanwhile. Each thread
 * must see its own commit, and the reads must be fewer than the requests. */
static struct shared_answer	 counted = SHARED_ANSWER_INIT;
static pthread_mutex_t		 counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long			 committed, reads, stale;

static void
read_committed(void *arg, struct response *res)
{
	long	 now;

	(void)arg;
	pthread_mutex_lock(&counter_lock);
	now = committed;
	reads++;
	pthread_mutex_unlock(&counter_lock);
	usleep(200);
	res->status = 200;
	buf_printf(&res->body, "%ld", now);
}

static void *
commit_then_read(void *arg)
{
	struct response	 res;
	long		 mine;
	int		 i;

	(void)arg;
	for (i = 0; i < 200; i++) {
		pthread_mutex_lock(&counter_lock);
		mine = ++committed;
		pthread_mutex_unlock(&counter_lock);
		memset(&res, 0, sizeof(res));
		shared_answer(&counted, read_committed, NULL, &res);
		if (res.body.data == NULL || atol(res.body.data) < mine) {
			pthread_mutex_lock(&counter_lock);
			stale++;
			pthread_mutex_unlock(&counter_lock);
		}
		http_response_free(&res);
	}
	return NULL;
}

static void
test_shared_answer(void)
{
	pthread_t	 t[8];
	size_t		 i;

	for (i = 0; i < NELEM(t); i++)
		pthread_create(&t[i], NULL, commit_then_read, NULL);
	for (i = 0; i < NELEM(t); i++)
		pthread_join(t[i], NULL);
	ok(stale == 0, "shared_answer: each of 1,600 reads saw the commit made "
	    "before it (%ld did not)", stale);
	ok(reads < 1600, "shared_answer: ... with %ld reads of the database "
	    "for 1,600 requests", reads);
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
