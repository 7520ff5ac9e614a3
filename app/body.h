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
	FIELD_INT,	/* an integer in [min, max] */
	FIELD_STRING,	/* min to max bytes, no control characters */
	FIELD_ARRAY,	/* min to max objects, each matching items */
};

/* One declared member of a JSON object. Every declared member is required;
 * a table ends with a NULL name. */
struct field {
	const char		*name;
	enum field_type		 type;
	int64_t			 min, max;
	const struct field	*items;	 /* FIELD_ARRAY: the members of each */
	const char		*unique; /* FIELD_ARRAY: member that must not repeat */
};

/* Parses len bytes as one JSON value: strict syntax, valid UTF-8, nesting
 * at most BODY_DEPTH_MAX, nothing after it but white space. Returns the
 * value, or NULL with the reason in why. */
struct json_object *body_parse(const char *, size_t len, struct buf *why);

/* Appends the canonical form of v to out: object members sorted by key
 * (bytewise), no insignificant white space, strings with the shortest
 * escapes, integral numbers without fraction or exponent. */
void	 body_canonical(struct json_object *v, struct buf *out);

/* Checks that v is an object with exactly the members of fields. Returns
 * 0, or -1 with a sentence for the client in why. */
int	 body_validate(struct json_object *v, const struct field *fields,
	     struct buf *why);

#endif
