/* body.h — request bodies at the edge: strict JSON parsing, the canonical
 * form that fingerprints are taken of, and validation against a table of
 * declared fields (anything not declared never reaches a handler). */
#ifndef ONCESHOP_BODY_H
#define ONCESHOP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

#define BODY_DEPTH_MAX	16

enum field_type {
	FIELD_INT,	/* an integer in [min, max], into an int64_t */
	FIELD_STRING,	/* min to max bytes, no control characters, into a
			 * char array of at least max + 1 */
	FIELD_ARRAY,	/* min to max objects, each matching items, into an
			 * array of structs, the count into a size_t */
};

/* One declared member of a JSON object and where its value goes in the
 * route's typed struct. Every declared member is required, except a string
 * declared with a default (F_STRING_OR); a table ends with F_END. Declare them with the F_ macros below. */
struct field {
	const char		*name;
	enum field_type		 type;
	int64_t			 min, max;
	size_t			 offset;	/* of the member in the struct */
	size_t			 size;		/* of the member (of one element) */
	size_t			 cap;		/* FIELD_ARRAY: elements it holds */
	size_t			 count_offset;	/* FIELD_ARRAY: the size_t count */
	const struct field	*items;		/* FIELD_ARRAY: each element's */
	const char		*unique;	/* FIELD_ARRAY: must not repeat */
	const char		*def;		/* FIELD_STRING: the value when
						 * absent; NULL: required */
};

#define F_MEMBER(T, m)	(((T *)0)->m)
#define F_INT(T, m, lo, hi) { .name = #m, .type = FIELD_INT, \
	.min = (lo), .max = (hi), .offset = offsetof(T, m), \
	.size = sizeof(F_MEMBER(T, m)) }
#define F_STRING(T, m, lo, hi) { .name = #m, .type = FIELD_STRING, \
	.min = (lo), .max = (hi), .offset = offsetof(T, m), \
	.size = sizeof(F_MEMBER(T, m)) }
#define F_STRING_OR(T, m, lo, hi, dflt) { .name = #m, \
	.type = FIELD_STRING, .min = (lo), .max = (hi), \
	.offset = offsetof(T, m), .size = sizeof(F_MEMBER(T, m)), .def = (dflt) }
#define F_ARRAY(T, m, count, lo, hi, fields, uniq) { .name = #m, \
	.type = FIELD_ARRAY, .min = (lo), .max = (hi), \
	.offset = offsetof(T, m), .size = sizeof(F_MEMBER(T, m)[0]), \
	.cap = sizeof(F_MEMBER(T, m)) / sizeof(F_MEMBER(T, m)[0]), \
	.count_offset = offsetof(T, count), .items = (fields), \
	.unique = (uniq) }
#define F_END	{ .name = NULL }

/* A route's body: its field table and the size of the struct it fills. */
struct body_type {
	const struct field	*fields;
	size_t			 size;
};

/* Parses the len bytes at s (s[len] must be NUL) as one JSON object that
 * passes json_scan (strict syntax, valid UTF-8, no NUL, no lone surrogate,
 * no repeated member name, nesting at most BODY_DEPTH_MAX, nothing after
 * it but white space). Returns the value, or NULL with the reason in why:
 * a clause naming the problem and its byte offset. */
struct json_object *body_parse(const char *, size_t len, struct buf *why);

/* Appends the canonical form of v to out: object members sorted by key
 * (bytewise), no insignificant white space, strings with the shortest
 * escapes, integral numbers without fraction or exponent. */
void	 body_canonical(struct json_object *v, struct buf *out);

/* Checks that v is an object with exactly the members of fields and
 * copies their values into the struct out. Returns 0, or -1 with a
 * sentence for the client in why. */
int	 body_validate(struct json_object *v, const struct field *fields,
	     void *out, struct buf *why);

#endif
