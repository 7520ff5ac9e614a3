/* health.c — GET /health: the process is up and the database answers. */
#include "builtin.h"

void
health_get(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*o;
	struct stmt		*st = db_stmt(db, STMT_HEALTH);
	enum db_rc		 rc = stmt_step(st);

	(void)req;
	stmt_reset(st);
	if (rc != DB_ROW) {
		http_problem_retry(res, &problem_service_busy, 1,
		    "The database does not answer; see the server log.");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	if (http_lesson() != NULL)
		json_object_object_add(o, "lesson",
		    json_object_new_string(http_lesson()));
	http_json(res, 200, o);
}
