/* validate.c — unit tests, in TAP, of body_validate: the order and
 * payment bodies against their field tables (limits, types, unknown and
 * missing members, a sku twice, too many items), and a body of every
 * field type, to see the values land in the struct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "shop.h"
#include "util.h"

#include "unit.h"

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

void
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

void
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
