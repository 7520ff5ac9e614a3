/* keys.c — GET /idempotency-keys: the caller's stored keys, newest first,
 * so a learner can see what the server remembered. */
#include "builtin.h"

void
keys_list(struct db *db, const struct request *req, struct response *res)
{
	struct json_object	*list;
	struct stmt		*st;
	long			 limit;

	if (http_query_limit_or_reply(req, &limit, res) == -1)
		return;
	st = db_stmt(db, STMT_KEYS_LIST);
	stmt_int(st, 1, req->user.id);
	stmt_int(st, 2, limit);
	if ((list = stmt_json_rows(st)) == NULL) {
		http_problem(res, &problem_internal_error, "The keys could not "
		    "be read; see the server log.");
		return;
	}
	http_json_list(res, "idempotency_keys", list);
}
