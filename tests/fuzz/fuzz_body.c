/* fuzz_body.c — libFuzzer harness for request bodies: body_parse on the
 * input; when it parses, checks that its canonical form parses, is its own
 * canonical form, and does not depend on the order of object members (nor
 * does the fingerprint, nor what body_validate fills in); then validates
 * it as an order and as a payment, which must not crash. */
#include <string.h>

#include "body.h"
#include "fuzz.h"
#include "shop.h"
#include "paysim.h"
#include "idempotency.h"
#include "util.h"

/* A buffer's text for a message ("" while nothing was written to it). */
#define TEXT(b)	((b).data != NULL ? (b).data : "")

/* Returns a copy of v with every object's members inserted in the reverse
 * order (arrays keep theirs). Scalars are shared, with a reference. */
static struct json_object *
reversed_copy(struct json_object *v)
{
	struct json_object	 *o;
	const char		**keys;
	size_t			  i, n;

	switch (json_object_get_type(v)) {
	case json_type_array:
		o = json_object_new_array();
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)	/* the array steals the copy */
			json_object_array_add(o,
			    reversed_copy(json_object_array_get_idx(v, i)));
		return o;
	case json_type_object:
		o = json_object_new_object();
		n = (size_t)json_object_object_length(v);
		keys = xmalloc((n + 1) * sizeof(*keys));
		i = 0;
		json_object_object_foreach(v, key, val) {
			(void)val;
			keys[i++] = key;
		}
		while (i-- > 0)		/* the object steals the copy */
			json_object_object_add(o, keys[i], reversed_copy(
			    json_object_object_get(v, keys[i])));
		free(keys);
		return o;
	default:
		return json_object_get(v);
	}
}

/* Validates a and b (the same body, members reordered) against t: both
 * must pass or both fail, and a pass must fill in the same struct. */
static void
check_validate(struct json_object *a, struct json_object *b,
    const struct body_type *t, const char *name)
{
	struct buf	 why_a = { 0 }, why_b = { 0 };
	char		*out_a = xmalloc(t->size), *out_b = xmalloc(t->size);
	int		 rc_a, rc_b;

	memset(out_a, 0, t->size);
	memset(out_b, 0, t->size);
	rc_a = body_validate(a, t->fields, out_a, &why_a);
	rc_b = body_validate(b, t->fields, out_b, &why_b);
	FUZZ_CHECK(rc_a == rc_b, "%s: %d (%s) but %d (%s) with members "
	    "reordered", name, rc_a, TEXT(why_a), rc_b, TEXT(why_b));
	FUZZ_CHECK(rc_a == 0 ? why_a.len == 0 : why_a.len > 0,
	    "%s: returned %d, why [%s]", name, rc_a, TEXT(why_a));
	if (rc_a == 0)
		FUZZ_CHECK(memcmp(out_a, out_b, t->size) == 0,
		    "%s: a different struct with members reordered", name);
	free(out_a);
	free(out_b);
	buf_free(&why_a);
	buf_free(&why_b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char			*s = xmalloc(size + 1);
	struct json_object	*v, *canon = NULL, *rev = NULL;
	struct buf		 why = { 0 }, c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
	char			 fp_v[65], fp_rev[65];

	memcpy(s, data, size);
	s[size] = '\0';
	if ((v = body_parse(s, size, &why)) == NULL) {
		FUZZ_CHECK(why.len > 0, "rejected without a reason");
		goto out;
	}
	FUZZ_CHECK(why.len == 0, "parsed, with a reason [%s]", TEXT(why));

	body_canonical(v, &c1);
	canon = body_parse(c1.data, c1.len, &why);
	FUZZ_CHECK(canon != NULL, "the canonical form [%s] does not parse: %s",
	    c1.data, TEXT(why));
	body_canonical(canon, &c2);
	FUZZ_CHECK(c1.len == c2.len && memcmp(c1.data, c2.data, c1.len) == 0,
	    "canonical form [%s], and of that [%s]", c1.data, c2.data);

	rev = reversed_copy(v);
	body_canonical(rev, &c3);
	FUZZ_CHECK(c1.len == c3.len && memcmp(c1.data, c3.data, c1.len) == 0,
	    "canonical form [%s], members reversed [%s]", c1.data, c3.data);
	idem_fingerprint(v, fp_v);
	idem_fingerprint(rev, fp_rev);
	FUZZ_CHECK(strcmp(fp_v, fp_rev) == 0, "fingerprint changes with "
	    "members reordered");

	check_validate(v, rev, &order_body, "order_body");
	check_validate(v, rev, &payment_body, "payment_body");
out:
	json_object_put(v);
	json_object_put(canon);
	json_object_put(rev);
	buf_free(&why);
	buf_free(&c1);
	buf_free(&c2);
	buf_free(&c3);
	free(s);
	return 0;
}
