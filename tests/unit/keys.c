/* keys.c — unit tests, in TAP, of what an idempotency key is made of:
 * idem_key_parse, which reads the Idempotency-Key header; body_canonical,
 * the one text of a body that its fingerprint is taken of; and
 * idem_fingerprint. Each function has a table of cases. */
#include <stdio.h>
#include <string.h>

#include "body.h"
#include "idempotency.h"
#include "util.h"

#include "unit.h"

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

void
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

void
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

void
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
