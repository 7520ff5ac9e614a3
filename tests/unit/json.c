/* json.c — unit tests, in TAP, of reading a JSON body: body_parse, one
 * strict value (syntax, UTF-8, escaped NULs, surrogates, duplicate
 * members, nesting and member limits, an object at the top); buf_utf8,
 * which makes text valid UTF-8; and json_scan, which reads no byte past
 * the length it is given. */
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "json_scan.h"
#include "util.h"

#include "unit.h"

/* ---- body_parse -------------------------------------------------------- */

/* é, ten of them */
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

void
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

void
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

/* json_scan reads only the len bytes it is given: a number that ends the
 * body is not continued by the bytes after it (a body is not
 * NUL-terminated, and "9" past the end made a fitting number too big). */
void
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
