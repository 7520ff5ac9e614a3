/* auth.c — bearer token authentication and token issuing. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The tokens found lately, shared by the request threads: the look-up is a
 * round trip on PostgreSQL, and on either engine a replay's work is little
 * else. A token found is trusted until cache_us after its look-up began.
 * Once half of that is gone, the first request to use it asks its thread to
 * look it up again after answering (auth_refresh): a token in use is looked
 * up once per cache_us / 2 by one thread, and no request waits for that.
 * Only a look-up that finds the token moves its end, so a token deleted
 * from the database is refused cache_us later at most.
 *
 * When the database is slow to answer that look-up, the token's time can
 * run out before it ends. Requests that find it so then wait for that
 * look-up, or one of them looks it up while the others wait: one slow
 * look-up, not one per request thread, each slower for the others (two
 * hosts sharing two cores showed 100 at once, up to 1.5 s). A request
 * waits for one look-up at most, and at most cache_us: if that one did
 * not find the token, it asks itself, so it never waits longer than a
 * look-up of its own would have taken. */
#define TOKEN_SLOTS	64		/* by the hash's first hex digits */

static int64_t	 cache_us;
static pthread_mutex_t	 cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 cache_looked;	/* a look-up ended */
static pthread_once_t	 cache_once = PTHREAD_ONCE_INIT;
static struct {
	char		 hash[65];
	struct user	 user;
	int64_t		 until;		/* monotonic; 0: empty */
	int		 refreshing;	/* a thread will look it up */
	int		 looking;	/* a thread is looking it up */
	unsigned	 looked;	/* look-ups ended: waiters wait for one */
} cache[TOKEN_SLOTS];
static _Thread_local char	 due[65];	/* this thread's to look up */

static void
cache_init(void)
{
	cond_init_monotonic(&cache_looked);
}

void
auth_configure(long token_cache_ms)
{
	pthread_once(&cache_once, cache_init);
	cache_us = token_cache_ms * 1000;
}

static unsigned
slot_of(const char *hash)
{
	char	 two[3] = { hash[0], hash[1], '\0' };

	return (unsigned)strtoul(two, NULL, 16) % TOKEN_SLOTS;
}

/* Copies the cached user for hash into req. Returns 1 if it was there;
 * 0 if the caller is to look it up, which it then says to cache_put. A
 * token found before whose time has run out while a thread looks it up is
 * waited for (one found no more is not: each request asks). */
static int
cache_get(const char *hash, struct request *req)
{
	unsigned	 i = slot_of(hash);
	int64_t		 now, wait_until;
	struct timespec	 deadline;
	unsigned	 looked;
	int		 ours, hit;

	if (cache_us == 0)
		return 0;	/* no cache: no clock, no lock */
	now = time_monotonic_usec();
	wait_until = now + cache_us;
	deadline = cond_deadline(wait_until);
	pthread_mutex_lock(&cache_mu);
	looked = cache[i].looked;
	for (;;) {
		ours = strcmp(cache[i].hash, hash) == 0;
		if ((hit = ours && now < cache[i].until))
			break;
		if (!ours || cache[i].until == 0 || !cache[i].looking ||
		    cache[i].looked != looked || now >= wait_until)
			break;
		pthread_cond_timedwait(&cache_looked, &cache_mu, &deadline);
		now = time_monotonic_usec();
	}
	if (hit) {
		req->user = cache[i].user;
		if (!cache[i].refreshing && now >= cache[i].until - cache_us / 2) {
			cache[i].refreshing = 1;
			memcpy(due, hash, sizeof(due));
		}
	} else if (ours && cache[i].until != 0)
		cache[i].looking = 1;	/* the others wait for this one */
	pthread_mutex_unlock(&cache_mu);
	return hit;
}

/* The thread's due look-up of hash begins: requests that find the token's
 * time run out wait for it. */
static void
cache_looking(const char *hash)
{
	unsigned	 i = slot_of(hash);

	pthread_mutex_lock(&cache_mu);
	if (strcmp(cache[i].hash, hash) == 0)
		cache[i].looking = 1;
	pthread_mutex_unlock(&cache_mu);
}

/* Records a look-up of hash that began at since and ended in rc: DB_ROW
 * found user; DB_DONE found no such token, which is forgotten; an error
 * changes nothing, but the next request past half-way asks again. */
static void
cache_put(const char *hash, enum db_rc rc, const struct user *user,
    int64_t since)
{
	unsigned	 i = slot_of(hash);

	if (cache_us == 0)
		return;
	pthread_mutex_lock(&cache_mu);
	if (rc == DB_ROW) {
		memcpy(cache[i].hash, hash, sizeof(cache[i].hash));
		cache[i].user = *user;
		cache[i].until = since + cache_us;
		cache[i].refreshing = cache[i].looking = 0;
		cache[i].looked++;
	} else if (strcmp(cache[i].hash, hash) == 0) {
		if (rc == DB_DONE)
			cache[i].until = 0;
		cache[i].refreshing = cache[i].looking = 0;
		cache[i].looked++;
	}
	pthread_cond_broadcast(&cache_looked);
	pthread_mutex_unlock(&cache_mu);
}

/* Looks the token of hash up on db. Returns DB_ROW with user set, DB_DONE
 * (no such token) or an error. */
static enum db_rc
token_user(struct db *db, const char *hash, struct user *user)
{
	struct stmt	*st = db_stmt(db, STMT_TOKEN_USER);
	enum db_rc	 rc;

	stmt_text(st, 1, hash);
	if ((rc = stmt_step(st)) == DB_ROW) {
		user->id = col_int(st, 0);
		snprintf(user->name, sizeof(user->name), "%s", col_text(st, 1));
	}
	stmt_reset(st);
	return rc;
}

void
auth_refresh(struct db *db)
{
	struct user	 user;
	int64_t		 since;

	if (due[0] == '\0')
		return;
	cache_looking(due);
	since = time_monotonic_usec();
	cache_put(due, db != NULL ? token_user(db, due, &user) : DB_ERROR,
	    &user, since);
	due[0] = '\0';
}

int
auth_user_or_reply(struct db *db, const struct api *api, struct request *req,
    struct response *res)
{
	const char	*token = bearer_token(req->authorization);
	enum db_rc	 rc = DB_DONE;
	int64_t		 since;
	char		 hash[65];

	if (token != NULL) {
		sha256_hex(token, strlen(token), hash);
		if (cache_get(hash, req))
			return 0;
		since = time_monotonic_usec();
		rc = token_user(db, hash, &req->user);
		cache_put(hash, rc, &req->user, since);
	}
	if (rc == DB_ROW)
		return 0;
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
