/* products.c — GET /products: the catalogue, public. */
#include "handlers.h"

void
products_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list, *o;
	sqlite3_stmt		*st;

	(void)req;
	if ((st = db_stmt(db, "SELECT sku, name, price, stock FROM products "
	    "ORDER BY sku")) == NULL || (list = db_json_rows(db, st)) == NULL) {
		http_problem(res, PROBLEM_INTERNAL_ERROR, "See the server log.");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "products", list);	/* steals list */
	http_json(res, 200, o);
}
