/* idem_key.c — the pure half of the idempotency rules: reading an
 * Idempotency-Key header, saying what is wrong with a bad one, the checks
 * a request passes before its key is looked up (none uses the key up), and
 * the request's fingerprint. No database; see idempotency.h. */
#include <string.h>
#include <strings.h>

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

/* Returns 1 for "application/json", with or without parameters. */
static int
is_json(const char *type)
{
	size_t	 n = strlen("application/json");

	return type != NULL && strncasecmp(type, "application/json", n) == 0 &&
	    (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

int
idem_request_ok_or_reply(const struct route *r, struct request *req,
    struct json_object **json, struct response *res)
{
	struct buf	 why = { 0 };

	if (req->idempotency_key == NULL) {
		http_problem(res, &problem_key_missing, "POST %s needs an "
		    "Idempotency-Key header with a value unique to this "
		    "operation, e.g. Idempotency-Key: \"order-2026-0001\". "
		    "A retry sends the same key again.", r->path);
		return -1;
	}
	if (idem_key_parse(req->idempotency_key, res->key) == -1) {
		res->key[0] = '\0';	/* not fit for the log */
		http_problem(res, &problem_key_invalid, "The Idempotency-Key is "
		    "malformed: %s. A key is a quoted string (\"...\") or a "
		    "bare token of 1 to %d printable ASCII characters. The key "
		    "was not used.", idem_key_problem(req->idempotency_key),
		    IDEM_KEY_MAX);
		return -1;
	}
	if (!is_json(req->content_type)) {
		http_problem(res, &problem_unsupported_media_type, "Send the body "
		    "as JSON with \"Content-Type: application/json\". The key "
		    "was not used.");
		return -1;
	}
	if (req->body_too_large) {
		http_problem(res, &problem_payload_too_large, "The body may be at "
		    "most %d bytes. The key was not used.", HTTP_BODY_MAX);
		return -1;
	}
	if ((*json = body_parse(req->body, req->body_len, &why)) == NULL) {
		http_problem(res, &problem_invalid_json, "The body was refused: "
		    "%s. The key was not used; fix the body and retry with the "
		    "same key.", why.data);
		buf_free(&why);
		return -1;
	}
	req->in = xmalloc(r->body->size);
	memset(req->in, 0, r->body->size);
	if (body_validate(*json, r->body->fields, req->in, &why) == -1) {
		http_problem(res, &problem_invalid_body, "%s. The key was not "
		    "used; fix the body and retry with the same key.", why.data);
		buf_free(&why);
		return -1;
	}
	return 0;
}
