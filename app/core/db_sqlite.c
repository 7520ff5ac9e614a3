/* db_sqlite.c — the SQLite engine behind db.h (db_engine.h): one
 * connection per thread, every named statement prepared when the
 * connection opens, schema versions in PRAGMA user_version. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db_engine.h"
#include "log.h"
#include "util.h"

struct lite_stmt {
	struct stmt	 base;
	sqlite3_stmt	*st;
};

struct lite_db {
	struct db	 base;
	sqlite3		*h;
	struct lite_stmt *stmts;	/* db->nstmts of them */
};

#define LDB(db)	((struct lite_db *)(db))
#define LST(s)	(((struct lite_stmt *)(s))->st)

/* Logs a failed statement with SQLite's extended code, which tells a
 * failed write (SQLITE_IOERR_WRITE, 778) from a failed fsync (1034). */
static void
log_sqlite(struct db *db, const char *sql)
{
	log_error("sqlite: %s, code %d (in: %.60s)", sqlite3_errmsg(LDB(db)->h),
	    sqlite3_extended_errcode(LDB(db)->h), sql);
}

/* Maps an SQLite result code; logs what is neither busy nor a constraint. */
static enum db_rc
rc_of(struct db *db, int rc, const char *sql)
{
	switch (rc & 0xff) {
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_OK:
	case SQLITE_DONE:
		return DB_DONE;
	case SQLITE_CONSTRAINT:
		return db->error = DB_CONSTRAINT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return db->error = DB_BUSY;
	case SQLITE_FULL:
		log_sqlite(db, sql);
		return db->error = DB_FULL;
	default:
		log_sqlite(db, sql);
		return db->error = DB_ERROR;
	}
}

/* Runs plain SQL with no parameters. Returns an SQLite result code. */
static int
exec_sql(struct db *db, const char *sql)
{
	char	*err = NULL;
	int	 rc;

	rc = sqlite3_exec(LDB(db)->h, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		log_error("sqlite: %s (in: %.60s)",
		    err ? err : sqlite3_errstr(rc), sql);
	sqlite3_free(err);
	return rc;
}

/* Returns PRAGMA user_version, or -1. */
static int
lite_stored_version(struct db *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(LDB(db)->h, "PRAGMA user_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Prepares the core's statements and the schema's. */
static int
prepare_all(struct db *db)
{
	const struct stmt_def	*d;
	int			 i;

	for (i = 0; i < db->nstmts; i++) {
		d = db_stmt_def(db, i);
		LDB(db)->stmts[i].base.db = db;
		if (sqlite3_prepare_v3(LDB(db)->h, d->sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &LDB(db)->stmts[i].st, NULL) !=
		    SQLITE_OK) {
			log_error("sqlite: %s (in: %.60s)",
			    sqlite3_errmsg(LDB(db)->h), d->sql);
			return -1;
		}
	}
	return 0;
}

void
db_init(void)
{
	/* No global counters of SQLite's memory use: they take a mutex
	 * that every connection's every allocation would share. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static void	 lite_close(struct db *);

static struct db *
lite_open(const struct db_config *c, enum db_mode mode)
{
	struct lite_db	*l = xmalloc(sizeof(*l));
	struct db	*db = &l->base;
	const char	*path = c->path;
	int		 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int		 version;

	memset(l, 0, sizeof(*l));
	db_base_init(db, &db_sqlite, c);
	l->stmts = xmalloc(db->nstmts * sizeof(*l->stmts));
	memset(l->stmts, 0, db->nstmts * sizeof(*l->stmts));
	if (mode == DB_MIGRATE)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &l->h, flags, NULL) != SQLITE_OK) {
		log_error("%s: %s", path, sqlite3_errmsg(l->h));
		goto fail;
	}
	sqlite3_busy_timeout(l->h, c->busy_ms);
	if (exec_sql(db, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    exec_sql(db, c->sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") != SQLITE_OK ||
	    exec_sql(db, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
	    (mode == DB_READ && exec_sql(db, "PRAGMA query_only = 1") !=
	    SQLITE_OK))
		goto fail;
	if (mode == DB_MIGRATE)
		return db;
	if ((version = lite_stored_version(db)) != db->version) {
		db_log_version(db, path, version);
		goto fail;
	}
	if (prepare_all(db) == 0)
		return db;
fail:
	lite_close(db);
	return NULL;
}

static void
lite_close(struct db *db)
{
	int	 i;

	for (i = 0; i < db->nstmts; i++)
		sqlite3_finalize(LDB(db)->stmts[i].st);
	sqlite3_close(LDB(db)->h);
	free(LDB(db)->stmts);
	free(db);
}

static struct stmt *
lite_stmt(struct db *db, int id)
{
	struct lite_stmt	*s = &LDB(db)->stmts[id];

	assert(id < db->nstmts && s->st != NULL);
	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
	return &s->base;
}

static void
lite_bind_int(struct stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(LST(s), i, v);
}

static void
lite_bind_text(struct stmt *s, int i, const char *v)
{
	sqlite3_bind_text(LST(s), i, v, -1, SQLITE_STATIC);
}

static void
lite_bind_blob(struct stmt *s, int i, const void *v, size_t n)
{
	sqlite3_bind_blob64(LST(s), i, v, n, SQLITE_STATIC);
}

static enum db_rc
lite_step(struct stmt *s)
{
	return rc_of(s->db, sqlite3_step(LST(s)), sqlite3_sql(LST(s)));
}

static void
lite_reset(struct stmt *s)
{
	sqlite3_reset(LST(s));
}

static int64_t
lite_col_int(struct stmt *s, int i)
{
	return sqlite3_column_int64(LST(s), i);
}

static const char *
lite_col_text(struct stmt *s, int i)
{
	const unsigned char	*t = sqlite3_column_text(LST(s), i);

	return t == NULL ? "" : (const char *)t;
}

static const void *
lite_col_blob(struct stmt *s, int i, size_t *len)
{
	const void	*p = sqlite3_column_blob(LST(s), i);

	*len = (size_t)sqlite3_column_bytes(LST(s), i);
	return p == NULL ? "" : p;
}

static int
lite_col_count(struct stmt *s)
{
	return sqlite3_column_count(LST(s));
}

static const char *
lite_col_name(struct stmt *s, int i)
{
	return sqlite3_column_name(LST(s), i);
}

static enum col_kind
lite_col_kind(struct stmt *s, int i)
{
	switch (sqlite3_column_type(LST(s), i)) {
	case SQLITE_NULL:
		return COL_NULL;
	case SQLITE_INTEGER:
		return COL_INT;
	default:
		return COL_TEXT;
	}
}

static int64_t
lite_changes(struct db *db)
{
	return sqlite3_changes64(LDB(db)->h);
}

/* Runs transaction statement id; a COMMIT or ROLLBACK that fails leaves
 * no transaction open (db.c keeps in_tx). */
static enum db_rc
lite_tx(struct db *db, enum stmt_id id)
{
	sqlite3		*h = LDB(db)->h;
	enum db_rc	 rc;
	int		 i;

	/* No statement may keep reading across a transaction's end. */
	if (id == STMT_COMMIT || id == STMT_ROLLBACK)
		for (i = 0; i < db->nstmts; i++)
			if (LDB(db)->stmts[i].st != NULL &&
			    sqlite3_stmt_busy(LDB(db)->stmts[i].st))
				sqlite3_reset(LDB(db)->stmts[i].st);
	if (id == STMT_ROLLBACK && sqlite3_get_autocommit(h))
		return DB_DONE;		/* already rolled back by the engine */
	rc = stmt_exec(lite_stmt(db, id));
	if ((id == STMT_COMMIT || id == STMT_ROLLBACK) && rc != DB_DONE &&
	    !sqlite3_get_autocommit(h))
		exec_sql(db, "ROLLBACK");
	return rc;
}

static int
lite_tx_lost(struct db *db)
{
	return db->in_tx && sqlite3_get_autocommit(LDB(db)->h);
}

/* Runs sql in one write transaction, then sets user_version to version
 * when it is not 0. Returns 0 or -1. */
static int
lite_apply(struct db *db, const char *sql, int version)
{
	char	 pragma[64];
	int	 rc;

	rc = exec_sql(db, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK)
		rc = exec_sql(db, sql);
	if (rc == SQLITE_OK && version != 0) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    version);
		rc = exec_sql(db, pragma);
	}
	if (rc == SQLITE_OK)
		rc = exec_sql(db, "COMMIT");
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(LDB(db)->h))
		exec_sql(db, "ROLLBACK");
	return rc == SQLITE_OK ? 0 : -1;
}

/* A file does not go away: SQLite's connection is never lost. */
static int
lite_gone(struct db *db)
{
	(void)db;
	return 0;
}

const struct db_engine db_sqlite = {
	.subdir = "",
	.open = lite_open,
	.close = lite_close,
	.stored_version = lite_stored_version,
	.apply = lite_apply,
	.stmt = lite_stmt,
	.bind_int = lite_bind_int,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.step = lite_step,
	.reset = lite_reset,
	.col_int = lite_col_int,
	.col_text = lite_col_text,
	.col_blob = lite_col_blob,
	.col_count = lite_col_count,
	.col_name = lite_col_name,
	.col_kind = lite_col_kind,
	.changes = lite_changes,
	.tx = lite_tx,
	.tx_lost = lite_tx_lost,
	.gone = lite_gone,
};
