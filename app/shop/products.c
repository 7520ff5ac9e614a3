/* products.c — GET /products: the catalogue, public. */
#include "shop.h"

void
products_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list, *o;

	(void)req;
	if ((list = stmt_json_rows(db_stmt(db, STMT_PRODUCTS_LIST))) == NULL) {
		http_problem(res, &problem_internal_error, "The catalogue could "
		    "not be read; see the server log.");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "products", list);	/* steals list */
	http_json(res, 200, o);
}
