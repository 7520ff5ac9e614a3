/* lesson_select.c — ONCESHOP_LESSON=select-then-insert: a claim made as
 * "look whether the key is there, and if not, insert it", in a table with
 * no UNIQUE on the key (lesson_keys). Two copies of one request that look
 * at the same time both see nothing, both insert, and both make an order:
 * on PostgreSQL, where each request writes its own transaction, ten copies
 * at once make several orders (ONCESHOP_LESSON_PAUSE_MS widens the gap
 * between the look and the insert). On SQLite the single writer runs the
 * copies one after the other, so each looks after the last one inserted,
 * and the race is hidden: it is still there, waiting for a second writer.
 * The database store's claim is the insert itself, and the UNIQUE index
 * decides (keystore.c). A lesson, never a store for a real service. */
#include <string.h>
#include <time.h>

#include "lesson.h"

static long	 pause_ms;

void
lesson_select_configure(long ms)
{
	pause_ms = ms;
}

static enum key_found
select_lookup(struct db *db, const struct request *req, const char *op,
    const char *fp, int64_t *resume_id, struct response *res)
{
	return keystore_select(db_stmt(db, STMT_LESSON_KEY_SELECT), req, op,
	    fp, resume_id, res, 0);
}

/* Inserts a processing key. Returns its id, or -1. */
static int64_t
insert(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key)
{
	struct stmt	*st = db_stmt(db, STMT_LESSON_KEY_INSERT);
	char		 expires[21];
	int64_t		 id = -1;

	keystore_bind_new(st, req, op, key, fp, expires);
	if (stmt_step(st) == DB_ROW)
		id = col_int(st, 0);
	stmt_reset(st);
	return id;
}

/* The lesson: look, and if nothing is there, insert. */
static int64_t
select_claim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	struct stmt	*st = db_stmt(db, STMT_LESSON_KEY_SELECT);
	struct timespec	 gap = { pause_ms / 1000, pause_ms % 1000 * 1000000 };
	enum db_rc	 rc;
	int		 live = 0;

	(void)lease;		/* never in phases (keystore_for) */
	stmt_int(st, 1, req->user.id);
	stmt_text(st, 2, op);
	stmt_text(st, 3, key);
	if ((rc = stmt_step(st)) == DB_ROW)
		live = strcmp(col_text(st, 1), "completed") != 0 ||
		    strcmp(col_text(st, 5), req->now_text) > 0;
	stmt_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return -1;
	if (live)
		return 0;
	/* Between the look and the insert, another copy may look too. */
	if (pause_ms > 0)
		nanosleep(&gap, NULL);
	return insert(db, req, op, fp, key);
}

static int64_t
select_reclaim(struct db *db, const struct request *req, const char *op,
    const char *fp, const char *key, const struct key_lease *lease)
{
	(void)lease;
	if (db_tx_lost(db) || db_tx(db, STMT_ROLLBACK_TO_JOB) != DB_DONE)
		return -1;
	return insert(db, req, op, fp, key);
}

static int
select_store(struct db *db, int64_t id, const struct response *res,
    time_t now, const char *point)
{
	struct stmt	*st = db_stmt(db, STMT_LESSON_KEY_STORE);
	char		 expires[21];

	(void)point;
	time_rfc3339(now + keystore_ttl(), expires);
	stmt_int(st, 1, res->status);
	stmt_text(st, 2, res->headers.len ? res->headers.data : "");
	stmt_blob(st, 3, res->body.data, res->body.len);
	stmt_text(st, 4, expires);
	stmt_int(st, 5, id);
	return stmt_exec(st) == DB_DONE ? 0 : -1;
}

static int
select_expire(struct db *db, time_t now)
{
	return keystore_expire_with(db, STMT_LESSON_KEYS_SWEEP, now);
}

const struct key_store lesson_select_store = {
	.name = "select-then-insert",
	.lookup = select_lookup,
	.claim = select_claim,
	.reclaim = select_reclaim,
	.store = select_store,
	.expire = select_expire,
};
