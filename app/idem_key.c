/* idem_key.c — the pure half of the idempotency rules: reading an
 * Idempotency-Key header, saying what is wrong with a bad one, and the
 * request's fingerprint. No database; see idempotency.h. */
#include <string.h>

#include "idempotency.h"

int
idem_key_parse(const char *v, char key[IDEM_KEY_MAX + 1])
{
	size_t	 n = 0, end;

	while (*v == ' ' || *v == '\t')
		v++;
	end = strlen(v);
	while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t'))
		end--;

	if (*v != '"') {		/* bare token */
		/* 'key' is a quoting mistake, not a key with quotes. */
		if (end >= 2 && v[0] == '\'' && v[end - 1] == '\'')
			return -1;
		for (; n < end; n++) {
			if (v[n] < 0x21 || v[n] > 0x7e || v[n] == '"' ||
			    v[n] == '\\' || n == IDEM_KEY_MAX)
				return -1;
			key[n] = v[n];
		}
		key[n] = '\0';
		return n > 0 ? 0 : -1;
	}
	for (v++, end--; end > 0 && *v != '"'; v++, end--) {
		if (*v == '\\') {	/* only \" and \\ are escapes */
			v++, end--;
			if (*v != '"' && *v != '\\')
				return -1;
		} else if (*v < 0x20 || *v > 0x7e)
			return -1;
		if (n == IDEM_KEY_MAX)
			return -1;
		key[n++] = *v;
	}
	key[n] = '\0';
	/* The closing quote must be the last character. */
	return (end == 1 && *v == '"' && n > 0) ? 0 : -1;
}

const char *
idem_key_problem(const char *v)
{
	size_t	 n, i;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || (n == 2 && v[0] == '"' && v[1] == '"'))
		return "it is empty";
	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'')
		return "it is in single quotes; send it bare or in double quotes";
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return "it has a byte that is not printable ASCII "
			    "(a control character, or UTF-8)";
	if (v[0] != '"') {
		if (strcspn(v, " \t") < n)
			return "a bare key cannot contain spaces; put it in "
			    "double quotes (\"a b\")";
		if (strcspn(v, "\"\\") < n)
			return "a bare key cannot contain \" or \\; put it in "
			    "double quotes and escape them (\\\" and \\\\)";
		return "it is longer than 255 characters";
	}
	return "a quoted key must end with its closing quote, may escape "
	    "only \" and \\, and must hold 1 to 255 characters";
}

void
idem_fingerprint(struct json_object *body, char hex[65])
{
	struct buf	 canon = { 0 };

	body_canonical(body, &canon);
	sha256_hex(canon.data, canon.len, hex);
	buf_free(&canon);
}
