/* fuzz_key.c — libFuzzer harness for idem_key_parse. The input is one
 * header value (up to its first NUL). Checks that it is rejected or gives
 * a key of 1 to 255 printable ASCII characters; that the answer is the
 * one of a second, plainer reading of the README's rule; and that the
 * key's canonical quoted form, and its bare form when it has one, parse
 * back to the same key. */
#include <string.h>

#include "fuzz.h"
#include "idempotency.h"
#include "util.h"

/* The rule, read a second way: optional spaces and tabs around either an
 * RFC 8941 string ("...", printable ASCII, only \" and \\ escaped) or a
 * bare token of visible ASCII without quote or backslash, and not wrapped
 * in single quotes ('key' is a quoting mistake); 1 to IDEM_KEY_MAX
 * characters. Returns 0 with the key, or -1. */
static int
reference_parse(const char *s, char key[IDEM_KEY_MAX + 1])
{
	size_t	 i = 0, end = strlen(s), n = 0;

	while (i < end && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	if (i < end && s[i] == '"') {
		for (i++; i < end && s[i] != '"'; i++) {
			if (s[i] == '\\') {
				if (++i == end || (s[i] != '"' && s[i] != '\\'))
					return -1;
			} else if (s[i] < 0x20 || s[i] > 0x7e)
				return -1;
			if (n == IDEM_KEY_MAX)
				return -1;
			key[n++] = s[i];
		}
		if (i + 1 != end)	/* the closing quote ends it */
			return -1;
	} else {
		if (end - i >= 2 && s[i] == '\'' && s[end - 1] == '\'')
			return -1;
		for (; i < end; i++) {
			if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '"' ||
			    s[i] == '\\' || n == IDEM_KEY_MAX)
				return -1;
			key[n++] = s[i];
		}
	}
	key[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Parses header, which must give key again. */
static void
check_reparse(const char *header, const char *key)
{
	char	 again[IDEM_KEY_MAX + 1];

	FUZZ_CHECK(idem_key_parse(header, again) == 0 &&
	    strcmp(again, key) == 0, "[%s] does not parse back to [%s]",
	    header, key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*header = xstrndup((const char *)data, size);
	char	 key[IDEM_KEY_MAX + 1], ref[IDEM_KEY_MAX + 1];
	char	 quoted[2 * IDEM_KEY_MAX + 3];	/* "", escapes, NUL */
	size_t	 i, n, q = 0;
	int	 rc, ref_rc, bare = 1;

	memset(key, 'X', sizeof(key));		/* no NUL unless written */
	rc = idem_key_parse(header, key);
	ref_rc = reference_parse(header, ref);
	FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
	FUZZ_CHECK(rc == ref_rc, "[%s]: returned %d, the rule says %d",
	    header, rc, ref_rc);
	if (rc == -1) {
		/* A refusal always says why, in a sentence for the client. */
		FUZZ_CHECK(*idem_key_problem(header) != '\0', "[%s]: no reason",
		    header);
		goto out;
	}

	n = strnlen(key, sizeof(key));
	FUZZ_CHECK(n >= 1 && n <= IDEM_KEY_MAX, "key of %zu characters", n);
	FUZZ_CHECK(strcmp(key, ref) == 0, "[%s]: key [%s], the rule says [%s]",
	    header, key, ref);

	/* The canonical form: "..." with \ before each " and \. */
	quoted[q++] = '"';
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(key[i] >= 0x20 && key[i] <= 0x7e,
		    "byte 0x%02x at %zu", (unsigned char)key[i], i);
		if (key[i] == '"' || key[i] == '\\')
			quoted[q++] = '\\';
		if (key[i] == ' ' || key[i] == '"' || key[i] == '\\')
			bare = 0;
		quoted[q++] = key[i];
	}
	quoted[q++] = '"';
	quoted[q] = '\0';
	if (n >= 2 && key[0] == '\'' && key[n - 1] == '\'')
		bare = 0;
	check_reparse(quoted, key);
	if (bare)
		check_reparse(key, key);
out:
	free(header);
	return 0;
}
