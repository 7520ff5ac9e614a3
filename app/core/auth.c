/* auth.c — bearer token authentication and token issuing. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>


#include "auth.h"

/* Returns the token of an "Authorization: Bearer <token>" value, or NULL. */
static const char *
bearer_token(const char *authorization)
{
	const char	*token;

	if (authorization == NULL ||
	    strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	for (token = authorization + 7; *token == ' '; token++)
		continue;
	return *token == '\0' || strlen(token) > 512 ? NULL : token;
}

/* Each request thread remembers the last token it found, for cache_us:
 * the token's look-up is a round trip on PostgreSQL, and on either engine a
 * replay's work is little else. A token deleted from the database is
 * refused cache_us later at most. */
static int64_t	 cache_us;
static _Thread_local struct {
	char		 hash[65];
	struct user	 user;
	int64_t		 until;	/* monotonic; 0: empty */
} cached;

void
auth_configure(long token_cache_ms)
{
	cache_us = token_cache_ms * 1000;
}

/* Copies the cached user for hash into req. Returns 1 if it was there. */
static int
cache_get(const char *hash, struct request *req)
{
	if (cached.until == 0 || strcmp(cached.hash, hash) != 0 ||
	    time_monotonic_usec() >= cached.until)
		return 0;
	req->user = cached.user;
	return 1;
}

static void
cache_put(const char *hash, const struct request *req)
{
	if (cache_us == 0)
		return;
	memcpy(cached.hash, hash, sizeof(cached.hash));
	cached.user = req->user;
	cached.until = time_monotonic_usec() + cache_us;
}

int
auth_user_or_reply(struct db *db, const struct api *api, struct request *req,
    struct response *res)
{
	const char	*token = bearer_token(req->authorization);
	struct stmt	*st;
	enum db_rc	 rc = DB_DONE;
	char		 hash[65];

	if (token != NULL) {
		sha256_hex(token, strlen(token), hash);
		if (cache_get(hash, req))
			return 0;
		st = db_stmt(db, STMT_TOKEN_USER);
		stmt_text(st, 1, hash);
		if ((rc = stmt_step(st)) == DB_ROW) {
			req->user.id = col_int(st, 0);
			snprintf(req->user.name, sizeof(req->user.name), "%s",
			    col_text(st, 1));
		}
		stmt_reset(st);
	}
	if (rc == DB_ROW) {
		cache_put(hash, req);
		return 0;
	}
	if (rc != DB_DONE) {
		http_problem_retry(res, &problem_service_busy, 1, "The token could not be "
		    "checked: the database did not answer. Nothing was written; "
		    "retry shortly with the same token.");
		return -1;
	}
	http_problem(res, &problem_unauthorized,
	    "Send \"Authorization: Bearer <token>\" with a valid token "
	    "(%s).", api->token_hint);
	http_header(res, "WWW-Authenticate", "Bearer realm=\"%s\"", api->realm);
	return -1;
}

int
auth_token_add(struct db *db, const char *name, const char *token, int how)
{
	struct stmt	*st;
	char		 hash[65], now[21];
	int		 rc = -1;

	sha256_hex(token, strlen(token), hash);
	time_rfc3339(time(NULL), now);
	if (db_tx(db, STMT_BEGIN_IMMEDIATE) != DB_DONE)
		return -1;
	st = db_stmt(db, STMT_USER_INSERT);
	stmt_text(st, 1, name);
	stmt_text(st, 2, now);
	if (stmt_exec(st) != DB_DONE)
		goto fail;
	/* One row inserted: the user is new. */
	if ((how == AUTH_NEW_USER && db_changes(db) == 0) ||
	    (how == AUTH_MORE_TOKENS && db_changes(db) == 1)) {
		rc = -2;
		goto fail;
	}
	if (how == AUTH_ONLY_TOKEN) {
		st = db_stmt(db, STMT_USER_TOKENS_CLEAR);
		stmt_text(st, 1, name);
		if (stmt_exec(st) != DB_DONE)
			goto fail;
	}
	st = db_stmt(db, STMT_TOKEN_INSERT);
	stmt_text(st, 1, hash);
	stmt_text(st, 2, now);
	stmt_text(st, 3, name);
	if (stmt_exec(st) != DB_DONE)
		goto fail;
	if (db_tx(db, STMT_COMMIT) == DB_DONE)
		return 0;
fail:
	db_tx(db, STMT_ROLLBACK);
	return rc;
}

int
auth_user_add(struct db *db, const char *name, int how, char token[65])
{
	if (random_hex(token, 32) == -1)
		return -1;
	return auth_token_add(db, name, token, how);
}
