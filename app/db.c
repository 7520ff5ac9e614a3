/* db.c — the SQLite engine behind db.h: one connection per thread, every
 * named statement prepared when the connection opens. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"
#include "log.h"
#include "util.h"

struct stmt {
	sqlite3_stmt	*st;
	struct db	*db;
};

struct db {
	sqlite3		*h;
	int		 version;	/* the schema version this build knows */
	int		 in_tx;		/* a transaction was begun */
	enum db_rc	 error;		/* the last failure, for db_take_error */
	struct stmt	 stmts[STMT__MAX];
};

/* Logs a failed statement with SQLite's extended code, which tells a
 * failed write (SQLITE_IOERR_WRITE, 778) from a failed fsync (1034). */
static void
log_sqlite(struct db *db, const char *sql)
{
	log_error("sqlite: %s, code %d (in: %.60s)", sqlite3_errmsg(db->h),
	    sqlite3_extended_errcode(db->h), sql);
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

	rc = sqlite3_exec(db->h, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		log_error("sqlite: %s (in: %.60s)",
		    err ? err : sqlite3_errstr(rc), sql);
	sqlite3_free(err);
	return rc;
}

/* Returns PRAGMA user_version, or -1. */
static int
schema_version(struct db *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Prepares the statements of schema (and those of every schema). */
static int
prepare_all(struct db *db, enum db_schema schema)
{
	const struct stmt_def	*d;
	int			 i;

	for (i = 0; i < STMT__MAX; i++) {
		d = &stmt_defs[i];
		db->stmts[i].db = db;
		if (d->schema != SCHEMA_ANY && d->schema != SCHEMA_COMMON &&
		    d->schema != schema)
			continue;
		if (sqlite3_prepare_v3(db->h, d->sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &db->stmts[i].st, NULL) !=
		    SQLITE_OK) {
			log_error("sqlite: %s (in: %.60s)",
			    sqlite3_errmsg(db->h), d->sql);
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

struct db *
db_open(const struct db_config *c, enum db_mode mode)
{
	struct db	*db = xmalloc(sizeof(*db));
	const char	*path = c->path;
	int		 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int		 version;

	memset(db, 0, sizeof(*db));
	db->error = DB_DONE;
	db->version = c->schema == SCHEMA_PAYSIM ? DB_PAYSIM_VERSION :
	    DB_SCHEMA_VERSION;
	if (mode == DB_MIGRATE)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		log_error("%s: %s", path, sqlite3_errmsg(db->h));
		goto fail;
	}
	sqlite3_busy_timeout(db->h, c->busy_ms);
	if (exec_sql(db, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    exec_sql(db, c->sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") != SQLITE_OK ||
	    exec_sql(db, "PRAGMA foreign_keys = ON") != SQLITE_OK ||
	    (mode == DB_READ && exec_sql(db, "PRAGMA query_only = 1") !=
	    SQLITE_OK))
		goto fail;
	if (mode == DB_MIGRATE)
		return db;
	if ((version = schema_version(db)) != db->version) {
		log_error("%s: schema version %d, this build needs %d%s", path,
		    version, db->version, version < db->version ?
		    ": run init first" : ": a newer build made it");
		goto fail;
	}
	if (prepare_all(db, c->schema) == 0)
		return db;
fail:
	db_close(db);
	return NULL;
}

void
db_close(struct db *db)
{
	int	 i;

	if (db == NULL)
		return;
	for (i = 0; i < STMT__MAX; i++)
		sqlite3_finalize(db->stmts[i].st);
	sqlite3_close(db->h);
	free(db);
}

struct stmt *
db_stmt(struct db *db, enum stmt_id id)
{
	struct stmt	*s = &db->stmts[id];

	assert(s->st != NULL);	/* a statement of another schema */
	sqlite3_reset(s->st);
	sqlite3_clear_bindings(s->st);
	return s;
}

void
stmt_int(struct stmt *s, int i, int64_t v)
{
	sqlite3_bind_int64(s->st, i, v);
}

void
stmt_text(struct stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s->st, i, v, -1, SQLITE_STATIC);
}

void
stmt_blob(struct stmt *s, int i, const void *v, size_t n)
{
	sqlite3_bind_blob64(s->st, i, v, n, SQLITE_STATIC);
}

enum db_rc
stmt_step(struct stmt *s)
{
	return rc_of(s->db, sqlite3_step(s->st), sqlite3_sql(s->st));
}

enum db_rc
stmt_exec(struct stmt *s)
{
	enum db_rc	 rc;

	while ((rc = stmt_step(s)) == DB_ROW)
		continue;
	sqlite3_reset(s->st);
	return rc;
}

int64_t
col_int(struct stmt *s, int i)
{
	return sqlite3_column_int64(s->st, i);
}

const char *
col_text(struct stmt *s, int i)
{
	const unsigned char	*t = sqlite3_column_text(s->st, i);

	return t == NULL ? "" : (const char *)t;
}

const void *
col_blob(struct stmt *s, int i, size_t *len)
{
	const void	*p = sqlite3_column_blob(s->st, i);

	*len = (size_t)sqlite3_column_bytes(s->st, i);
	return p == NULL ? "" : p;
}

int64_t
db_changes(struct db *db)
{
	return sqlite3_changes64(db->h);
}

void
stmt_reset(struct stmt *s)
{
	sqlite3_reset(s->st);
}

struct json_object *
stmt_json_row(struct stmt *s)
{
	struct json_object	*o = json_object_new_object(), *v;
	int			 i;

	for (i = 0; i < sqlite3_column_count(s->st); i++) {
		switch (sqlite3_column_type(s->st, i)) {
		case SQLITE_NULL:
			continue;
		case SQLITE_INTEGER:
			v = json_object_new_int64(sqlite3_column_int64(s->st, i));
			break;
		default:
			v = json_object_new_string_len(col_text(s, i),
			    sqlite3_column_bytes(s->st, i));
		}
		/* json_object_object_add steals the reference to v. */
		json_object_object_add(o, sqlite3_column_name(s->st, i), v);
	}
	return o;
}

struct json_object *
stmt_json_rows(struct stmt *s)
{
	struct json_object	*list = json_object_new_array();
	enum db_rc		 rc;

	while ((rc = stmt_step(s)) == DB_ROW)
		json_object_array_add(list, stmt_json_row(s));
	sqlite3_reset(s->st);
	if (rc != DB_DONE) {
		json_object_put(list);
		return NULL;
	}
	return list;
}

enum db_rc
db_tx(struct db *db, enum stmt_id id)
{
	enum db_rc	 rc;
	int		 i;

	/* No statement may keep reading across a transaction's end. */
	if (id == STMT_COMMIT || id == STMT_ROLLBACK)
		for (i = 0; i < STMT__MAX; i++)
			if (db->stmts[i].st != NULL &&
			    sqlite3_stmt_busy(db->stmts[i].st))
				sqlite3_reset(db->stmts[i].st);
	if (id == STMT_ROLLBACK && sqlite3_get_autocommit(db->h)) {
		db->in_tx = 0;		/* already rolled back by the engine */
		return DB_DONE;
	}
	rc = stmt_exec(db_stmt(db, id));
	switch (id) {
	case STMT_BEGIN:
	case STMT_BEGIN_IMMEDIATE:
		db->in_tx = rc == DB_DONE;
		break;
	case STMT_COMMIT:
	case STMT_ROLLBACK:
		if (rc != DB_DONE && !sqlite3_get_autocommit(db->h))
			exec_sql(db, "ROLLBACK");
		db->in_tx = 0;
		break;
	default:
		break;
	}
	return rc;
}

enum db_rc
db_take_error(struct db *db)
{
	enum db_rc	 rc = db->error;

	db->error = DB_DONE;
	return rc;
}

int
db_tx_lost(struct db *db)
{
	return db->in_tx && sqlite3_get_autocommit(db->h);
}

/* Keeps "NNN-name.sql" files only. */
static int
is_migration(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return n > 8 && d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
	    strcmp(d->d_name + n - 4, ".sql") == 0;
}

/* Reads a whole file into a NUL-terminated string. NULL on error. */
static char *
read_file(const char *path)
{
	struct buf	 b = { 0 };
	char		 chunk[8192];
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "r")) == NULL) {
		log_error("%s: %s", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	buf_append(&b, "", 0);
	fclose(f);
	return b.data;
}

/* Runs the SQL file path in one write transaction, then sets user_version
 * to version when it is not 0. Returns 0 or -1. */
static int
apply_file(struct db *db, const char *path, int version)
{
	char	*sql, pragma[64];
	int	 rc;

	if ((sql = read_file(path)) == NULL)
		return -1;
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
	if (rc != SQLITE_OK && !sqlite3_get_autocommit(db->h))
		exec_sql(db, "ROLLBACK");
	free(sql);
	if (rc != SQLITE_OK)
		log_error("%s: not applied", path);
	return rc == SQLITE_OK ? 0 : -1;
}

int
db_migrate(struct db *db, const char *dir, int demo)
{
	struct dirent	**names;
	char		 path[4096];
	int		 i, n, version, current, rc = 0;

	if ((current = schema_version(db)) == -1)
		return -1;
	if (current > db->version) {
		log_error("schema version %d is newer than this build's %d",
		    current, db->version);
		return -1;
	}
	if ((n = scandir(dir, &names, is_migration, alphasort)) == -1) {
		log_error("%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		version = atoi(names[i]->d_name);
		if (rc == 0 && version > current) {
			snprintf(path, sizeof(path), "%s/%s", dir,
			    names[i]->d_name);
			if ((rc = apply_file(db, path, version)) == 0) {
				printf("applied %s\n", names[i]->d_name);
				current = version;
			}
		}
		free(names[i]);
	}
	free(names);
	if (rc == 0 && demo) {
		snprintf(path, sizeof(path), "%s/demo.sql", dir);
		rc = apply_file(db, path, 0);
	}
	return rc;
}
