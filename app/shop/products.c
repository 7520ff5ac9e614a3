/* products.c — GET /products: the catalogue, public. */
#include "shop.h"

void
products_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list;

	(void)req;
	if ((list = stmt_json_rows(db_stmt(db, STMT_PRODUCTS_LIST))) == NULL) {
		http_problem(res, &problem_internal_error, "The catalogue could "
		    "not be read; see the server log.");
		return;
	}
	http_json_list(res, "products", list);
}
