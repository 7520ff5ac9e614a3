/* db.h — the SQLite connection of one worker: open with the pragmas,
 * migrations, statements prepared once, and write transactions that queue
 * for the write lock instead of sleep-polling for it. */
#ifndef ONCESHOP_DB_H
#define ONCESHOP_DB_H

#include <sqlite3.h>

#include <json-c/json.h>

struct db;

/* Opens path (created when create is set) in WAL mode with foreign keys
 * on, synchronous FULL (or NORMAL when sync_full is 0) and busy_ms as busy
 * timeout. Returns NULL, after logging why, on failure. */
struct db	*db_open(const char *path, int create, int sync_full, int busy_ms);
void		 db_close(struct db *);
sqlite3		*db_handle(struct db *);

/* Applies schema_dir/NNN-*.sql above PRAGMA user_version, each in its own
 * transaction, then schema_dir/demo.sql when demo is set. Returns 0 or -1. */
int		 db_migrate(struct db *, const char *schema_dir, int demo);

/* Returns sql prepared once for this connection, reset and unbound. sql
 * must be a string literal: its address is the cache key. NULL on error. */
sqlite3_stmt	*db_stmt(struct db *, const char *sql);

/* Steps st and logs any error. Returns SQLITE_ROW, SQLITE_DONE or the
 * error code. */
int		 db_step(struct db *, sqlite3_stmt *st);

/* Runs st to completion. Returns 0, or -1 after logging the error. */
int		 db_exec_stmt(struct db *, sqlite3_stmt *st);

/* Returns the current row of st as a JSON object whose members are named
 * by the result columns: INTEGER as a number, TEXT as a string; a NULL
 * column is left out. */
struct json_object *db_json_row(sqlite3_stmt *st);

/* Steps st to its end and returns its rows as a JSON array of objects (see
 * db_json_row), or NULL on a database error. */
struct json_object *db_json_rows(struct db *, sqlite3_stmt *st);

/* Runs plain SQL with no parameters. Returns an SQLite result code. */
int		 db_exec(struct db *, const char *sql);

/* Begins a read transaction (write = 0) or a write transaction (write = 1).
 * Writers first queue on an exclusive flock(2) beside the database, so they
 * wait in line in the kernel and BEGIN IMMEDIATE finds the lock free.
 * Returns SQLITE_OK, SQLITE_BUSY or another error code. */
int		 db_begin(struct db *, int write);

/* Commits; on failure rolls back. Returns an SQLite result code. */
int		 db_commit(struct db *);
void		 db_rollback(struct db *);

#endif
