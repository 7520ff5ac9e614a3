/* products.c — GET /products: the catalogue, public. */
#include "handlers.h"

void
products_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list, *o;
	sqlite3_stmt		*st;
	int			 rc;

	(void)req;
	if ((st = db_stmt(db, "SELECT sku, name, price, stock FROM products "
	    "ORDER BY sku")) == NULL) {
		http_problem(res, PROBLEM_INTERNAL_ERROR, "See the server log.");
		return;
	}
	list = json_object_new_array();
	while ((rc = db_step(db, st)) == SQLITE_ROW) {
		o = json_object_new_object();
		/* json_object_object_add steals each new value's reference. */
		json_object_object_add(o, "sku", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(o, "name", json_object_new_string(
		    (const char *)sqlite3_column_text(st, 1)));
		json_object_object_add(o, "price",
		    json_object_new_int64(sqlite3_column_int64(st, 2)));
		json_object_object_add(o, "stock",
		    json_object_new_int64(sqlite3_column_int64(st, 3)));
		json_object_array_add(list, o);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_object_put(list);
		http_problem(res, PROBLEM_INTERNAL_ERROR, "See the server log.");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "products", list);
	http_json(res, 200, o);
}
