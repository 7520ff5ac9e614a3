/* body.c — strict JSON parsing, canonical JSON and field-table validation. */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "json_scan.h"

/* Returns what the JSON text s, valid and NUL-terminated, holds if that is
 * not an object ("an array", "null", ...), or NULL for an object. */
static const char *
not_object(const char *s)
{
	switch (s[strspn(s, " \t\r\n")]) {
	case '{':
		return NULL;
	case '[':
		return "an array";
	case '"':
		return "a string";
	case 't':
		return "true";
	case 'f':
		return "false";
	case 'n':
		return "null";
	default:
		return "a number";
	}
}

struct json_object *
body_parse(const char *s, size_t len, struct buf *why)
{
	struct json_tokener	*tok;
	struct json_object	*v;
	enum json_tokener_error	 err;
	const char		*kind;

	if (json_scan(s, len, BODY_DEPTH_MAX, why) == -1)
		return NULL;
	if ((kind = not_object(s)) != NULL) {
		buf_printf(why, "the body must be a JSON object, not %s", kind);
		return NULL;
	}
	if ((tok = json_tokener_new_ex(BODY_DEPTH_MAX)) == NULL)
		abort();
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* Include the NUL, so a bare number at the end is known complete. */
	v = json_tokener_parse_ex(tok, s, (int)len + 1);
	err = json_tokener_get_error(tok);
	if (v == NULL || err != json_tokener_success) {
		/* Not expected: json_scan accepts less than json-c does. */
		buf_printf(why, "json-c: %s at byte %zu",
		    json_tokener_error_desc(err),
		    json_tokener_get_parse_end(tok));
		json_object_put(v);
		v = NULL;
	}
	json_tokener_free(tok);
	return v;
}

static void
canonical_string(const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	buf_puts(out, "\"");
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		switch (c) {
		case '"':  buf_puts(out, "\\\""); break;
		case '\\': buf_puts(out, "\\\\"); break;
		case '\b': buf_puts(out, "\\b"); break;
		case '\f': buf_puts(out, "\\f"); break;
		case '\n': buf_puts(out, "\\n"); break;
		case '\r': buf_puts(out, "\\r"); break;
		case '\t': buf_puts(out, "\\t"); break;
		default:
			if (c < 0x20)
				buf_printf(out, "\\u%04x", c);
			else
				buf_append(out, (const char *)&s[i], 1);
		}
	}
	buf_puts(out, "\"");
}

static int
key_compare(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
body_canonical(struct json_object *v, struct buf *out)
{
	const char	**keys;
	size_t		  i, n;
	double		  d;

	switch (json_object_get_type(v)) {
	case json_type_null:
		buf_puts(out, "null");
		break;
	case json_type_boolean:
		buf_puts(out, json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:	/* json-c prints int64 and uint64 exactly */
		buf_puts(out, json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN));
		break;
	case json_type_double:
		d = json_object_get_double(v);
		if (d == 0)
			buf_puts(out, "0");	/* also -0 */
		else if (d == floor(d) && fabs(d) < 1e15)
			buf_printf(out, "%.0f", d);
		else
			buf_printf(out, "%.17g", d);
		break;
	case json_type_string:
		canonical_string(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), out);
		break;
	case json_type_array:
		buf_puts(out, "[");
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_puts(out, ",");
			body_canonical(json_object_array_get_idx(v, i), out);
		}
		buf_puts(out, "]");
		break;
	case json_type_object:
		n = (size_t)json_object_object_length(v);
		keys = xmalloc(n * sizeof(*keys));
		i = 0;
		json_object_object_foreach(v, key, val) {
			(void)val;
			keys[i++] = key;
		}
		qsort(keys, n, sizeof(*keys), key_compare);
		buf_puts(out, "{");
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_puts(out, ",");
			canonical_string(keys[i], strlen(keys[i]), out);
			buf_puts(out, ":");
			body_canonical(json_object_object_get(v, keys[i]), out);
		}
		buf_puts(out, "}");
		free(keys);
		break;
	}
}

/* Returns 1 if the n bytes of s hold a control character (NUL included). */
static int
has_control(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

static int validate_object(struct json_object *, const struct field *,
    char *, const char *, struct buf *);

/* Checks one member value v, named path in messages, against f, and
 * stores it at out (the member's place in the struct). */
static int
validate_value(struct json_object *v, const struct field *f, char *out,
    const char *path, struct buf *why)
{
	struct json_object	*a, *b;
	char			 sub[128];
	size_t			 i, j, n;
	int64_t			 x;

	switch (f->type) {
	case FIELD_INT:
		assert(f->size == sizeof(int64_t));
		x = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) ||
		    x < f->min || x > f->max) {
			buf_printf(why, "%s must be an integer from %" PRId64
			    " to %" PRId64, path, f->min, f->max);
			return -1;
		}
		memcpy(out, &x, sizeof(x));
		return 0;
	case FIELD_STRING:
		assert((size_t)f->max < f->size);
		n = json_object_is_type(v, json_type_string) ?
		    (size_t)json_object_get_string_len(v) : 0;
		if (!json_object_is_type(v, json_type_string) ||
		    (int64_t)n < f->min || (int64_t)n > f->max ||
		    has_control(json_object_get_string(v), n)) {
			buf_printf(why, "%s must be a string of %" PRId64
			    " to %" PRId64 " characters", path, f->min, f->max);
			return -1;
		}
		memcpy(out, json_object_get_string(v), n + 1);
		return 0;
	case FIELD_ARRAY:
		assert((size_t)f->max <= f->cap);
		n = json_object_is_type(v, json_type_array) ?
		    json_object_array_length(v) : 0;
		if (!json_object_is_type(v, json_type_array) ||
		    (int64_t)n < f->min || (int64_t)n > f->max) {
			buf_printf(why, "%s must be an array of %" PRId64
			    " to %" PRId64 " objects", path, f->min, f->max);
			return -1;
		}
		for (i = 0; i < n; i++) {
			snprintf(sub, sizeof(sub), "%.100s[%zu]", path, i);
			a = json_object_array_get_idx(v, i);
			if (validate_object(a, f->items, out + i * f->size,
			    sub, why) == -1)
				return -1;
			for (j = 0; f->unique != NULL && j < i; j++) {
				b = json_object_array_get_idx(v, j);
				if (json_object_equal(
				    json_object_object_get(a, f->unique),
				    json_object_object_get(b, f->unique))) {
					buf_printf(why, "%s.%s repeats %s[%zu].%s; "
					    "list each %s once", sub, f->unique,
					    path, j, f->unique, f->unique);
					return -1;
				}
			}
		}
		return 0;
	}
	return -1;
}

static int
validate_object(struct json_object *v, const struct field *fields,
    char *out, const char *path, struct buf *why)
{
	const struct field	*f;
	struct json_object	*member;
	char			 sub[128];
	size_t			 n;

	if (!json_object_is_type(v, json_type_object)) {
		buf_printf(why, "%s must be a JSON object",
		    *path ? path : "the body");
		return -1;
	}
	json_object_object_foreach(v, key, val) {
		(void)val;
		for (f = fields; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL) {
			buf_printf(why, "%s has an unknown member \"%.64s\"",
			    *path ? path : "the body", key);
			return -1;
		}
	}
	for (f = fields; f->name != NULL; f++) {
		snprintf(sub, sizeof(sub), "%.100s%s%.20s", path,
		    *path ? "." : "", f->name);
		if (!json_object_object_get_ex(v, f->name, &member)) {
			if (f->def == NULL) {
				buf_printf(why, "%s is missing", sub);
				return -1;
			}
			assert(strlen(f->def) < f->size);
			memcpy(out + f->offset, f->def, strlen(f->def) + 1);
			continue;
		}
		if (validate_value(member, f, out + f->offset, sub, why) == -1)
			return -1;
		if (f->type == FIELD_ARRAY) {
			n = json_object_array_length(member);
			memcpy(out + f->count_offset, &n, sizeof(n));
		}
	}
	return 0;
}

int
body_validate(struct json_object *v, const struct field *fields, void *out,
    struct buf *why)
{
	return validate_object(v, fields, out, "", why);
}
