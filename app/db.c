/* db.c — opening, migrating and using one SQLite connection per worker. */
#include <sys/file.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "util.h"

#define STMT_MAX	32

struct db {
	sqlite3		*h;
	int		 lock_fd;	/* <path>-writer, flock(2)ed by writers */
	int		 locked;
	size_t		 nstmts;
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	} stmts[STMT_MAX];
};

struct db *
db_open(const char *path, int create, int sync_full, int busy_ms)
{
	struct db	*db = xmalloc(sizeof(*db));
	char		 lock_path[4096];
	int		 flags = SQLITE_OPEN_READWRITE;

	memset(db, 0, sizeof(*db));
	db->lock_fd = -1;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		fprintf(stderr, "onceshop: %s: %s\n", path, sqlite3_errmsg(db->h));
		goto fail;
	}
	sqlite3_busy_timeout(db->h, busy_ms);
	if (db_exec(db, "PRAGMA journal_mode = WAL") != SQLITE_OK ||
	    db_exec(db, sync_full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") != SQLITE_OK ||
	    db_exec(db, "PRAGMA foreign_keys = ON") != SQLITE_OK)
		goto fail;

	snprintf(lock_path, sizeof(lock_path), "%s-writer", path);
	db->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (db->lock_fd == -1) {
		fprintf(stderr, "onceshop: %s: %s\n", lock_path, strerror(errno));
		goto fail;
	}
	return db;
fail:
	db_close(db);
	return NULL;
}

void
db_close(struct db *db)
{
	size_t	 i;

	if (db == NULL)
		return;
	for (i = 0; i < db->nstmts; i++)
		sqlite3_finalize(db->stmts[i].st);
	sqlite3_close(db->h);
	if (db->lock_fd != -1)
		close(db->lock_fd);
	free(db);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

int
db_exec(struct db *db, const char *sql)
{
	char	*err = NULL;
	int	 rc;

	rc = sqlite3_exec(db->h, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		fprintf(stderr, "onceshop: sqlite: %s (in: %.60s)\n",
		    err ? err : sqlite3_errstr(rc), sql);
	sqlite3_free(err);
	return rc;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt	*st;
	size_t		 i;

	for (i = 0; i < db->nstmts; i++)
		if (db->stmts[i].sql == sql) {
			st = db->stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (db->nstmts == STMT_MAX) {
		fprintf(stderr, "onceshop: more than %d statements\n", STMT_MAX);
		return NULL;
	}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "onceshop: sqlite: %s (in: %.60s)\n",
		    sqlite3_errmsg(db->h), sql);
		return NULL;
	}
	db->stmts[db->nstmts].sql = sql;
	db->stmts[db->nstmts++].st = st;
	return st;
}

int
db_step(struct db *db, sqlite3_stmt *st)
{
	int	 rc = sqlite3_step(st);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fprintf(stderr, "onceshop: sqlite: %s (in: %.60s)\n",
		    sqlite3_errmsg(db->h), sqlite3_sql(st));
	return rc;
}

int
db_exec_stmt(struct db *db, sqlite3_stmt *st)
{
	int	 rc;

	while ((rc = db_step(db, st)) == SQLITE_ROW)
		continue;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct json_object *
db_json_row(sqlite3_stmt *st)
{
	struct json_object	*o = json_object_new_object(), *v;
	int			 i;

	for (i = 0; i < sqlite3_column_count(st); i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			continue;
		case SQLITE_INTEGER:
			v = json_object_new_int64(sqlite3_column_int64(st, i));
			break;
		default:
			v = json_object_new_string_len(
			    (const char *)sqlite3_column_text(st, i),
			    sqlite3_column_bytes(st, i));
		}
		/* json_object_object_add steals the reference to v. */
		json_object_object_add(o, sqlite3_column_name(st, i), v);
	}
	return o;
}

struct json_object *
db_json_rows(struct db *db, sqlite3_stmt *st)
{
	struct json_object	*list = json_object_new_array();
	int			 rc;

	while ((rc = db_step(db, st)) == SQLITE_ROW)
		json_object_array_add(list, db_json_row(st));
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		json_object_put(list);
		return NULL;
	}
	return list;
}

/* Resets every cached statement, so none holds a stale read snapshot. */
static void
reset_all(struct db *db)
{
	size_t	 i;

	for (i = 0; i < db->nstmts; i++)
		sqlite3_reset(db->stmts[i].st);
}

static void
unlock_writer(struct db *db)
{
	if (db->locked) {
		flock(db->lock_fd, LOCK_UN);
		db->locked = 0;
	}
}

int
db_begin(struct db *db, int write)
{
	int	 rc;

	reset_all(db);
	if (!write)
		return db_exec(db, "BEGIN");
	while (flock(db->lock_fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			fprintf(stderr, "onceshop: flock: %s\n", strerror(errno));
			return SQLITE_IOERR;
		}
	db->locked = 1;
	if ((rc = db_exec(db, "BEGIN IMMEDIATE")) != SQLITE_OK)
		unlock_writer(db);
	return rc;
}

int
db_commit(struct db *db)
{
	int	 rc;

	reset_all(db);
	if ((rc = db_exec(db, "COMMIT")) != SQLITE_OK)
		db_rollback(db);
	unlock_writer(db);
	return rc;
}

void
db_rollback(struct db *db)
{
	reset_all(db);
	if (!sqlite3_get_autocommit(db->h))
		db_exec(db, "ROLLBACK");
	unlock_writer(db);
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
		fprintf(stderr, "onceshop: %s: %s\n", path, strerror(errno));
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
	rc = db_begin(db, 1);
	if (rc == SQLITE_OK)
		rc = db_exec(db, sql);
	if (rc == SQLITE_OK && version != 0) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    version);
		rc = db_exec(db, pragma);
	}
	rc = rc == SQLITE_OK ? db_commit(db) : (db_rollback(db), rc);
	free(sql);
	if (rc != SQLITE_OK)
		fprintf(stderr, "onceshop: %s: not applied\n", path);
	return rc == SQLITE_OK ? 0 : -1;
}

int
db_migrate(struct db *db, const char *dir, int demo)
{
	struct dirent	**names;
	sqlite3_stmt	*st;
	char		 path[4096];
	int		 i, n, version, current, rc = 0;

	if ((st = db_stmt(db, "PRAGMA user_version")) == NULL ||
	    db_step(db, st) != SQLITE_ROW)
		return -1;
	current = sqlite3_column_int(st, 0);
	sqlite3_reset(st);

	if ((n = scandir(dir, &names, is_migration, alphasort)) == -1) {
		fprintf(stderr, "onceshop: %s: %s\n", dir, strerror(errno));
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
