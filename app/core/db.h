/* db.h — the database as the rest of onceshop sees it: a connection, named
 * statements (stmts.h) with values bound by position, transactions and
 * savepoints, migrations. Two engines fit behind it (db_engine.h): SQLite
 * (db_sqlite.c), the default, and PostgreSQL (db_pg.c) when
 * ONCESHOP_DATABASE_URL is set. Nothing else includes sqlite3.h or
 * libpq-fe.h. */
#ifndef ONCESHOP_DB_H
#define ONCESHOP_DB_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "stmts.h"

/* A program's database: the schema version its migrations reach (the
 * highest NNN-*.sql of its schema folder), and its own statements,
 * numbered on from STMT_CORE__MAX (stmts.h). */
struct db_schema {
	const char		*name;		/* "onceshop", "paysim" */
	int			 version;
	const struct stmt_def	*stmts;
	size_t			 nstmts;
};

/* What a statement step, an exec or a transaction statement returns. */
enum db_rc {
	DB_ROW,		/* a row is ready to read */
	DB_DONE,	/* ran to completion */
	DB_CONSTRAINT,	/* a UNIQUE, CHECK or foreign key said no */
	DB_BUSY,	/* locked by another connection past the busy timeout */
	DB_FULL,	/* the disk or the database is full */
	DB_RETRY,	/* a deadlock or serialization failure (PostgreSQL):
			 * the transaction must be run again */
	DB_GONE,	/* the connection to the server was lost, or the
			 * server does not take one (PostgreSQL): what was
			 * not committed is gone; a lost COMMIT may or may
			 * not have been */
	DB_ERROR,	/* anything else; logged */
};

enum db_mode {
	DB_SERVE,	/* read-write; schema must be this build's version */
	DB_READ,	/* read-only; the same check */
	DB_MIGRATE,	/* read-write, created if missing; no statements */
};

struct db;
struct stmt;

/* Where a connection goes and how it behaves. */
struct db_config {
	const char	*path;		/* SQLite's file, unless url is set */
	const char	*url;		/* a libpq URI: PostgreSQL; NULL or "":
					 * SQLite */
	const struct db_schema *schema;	/* whose database */
	int		 sync_full;	/* synchronous FULL, else NORMAL */
	int		 busy_ms;	/* busy timeout */
};

/* Sets the engine's process-wide options; call once, before any db_open
 * of a threaded server. */
void		 db_init(void);

/* Opens c->path with WAL, foreign keys, c's synchronous mode and busy
 * timeout, and prepares the core's statements and c->schema's unless mode is
 * DB_MIGRATE. Returns NULL, after logging why, when it cannot open or the
 * schema version is not this build's. */
struct db	*db_open(const struct db_config *c, enum db_mode);
void		 db_close(struct db *);

/* Returns 1 if c is a server that other processes and hosts write to as
 * well (PostgreSQL): there is no single writer, each connection writes its
 * own transactions, and the server orders concurrent ones. 0 for SQLite. */
int		 db_shared(const struct db_config *c);

/* Applies schema_dir/NNN-*.sql above the stored version, each in its own
 * transaction, then schema_dir/demo.sql when demo is set. Returns 0 or -1. */
int		 db_migrate(struct db *, const char *schema_dir, int demo);

/* Returns statement id (the core's enum stmt_id, or the program's),
 * reset and with no values bound. */
struct stmt	*db_stmt(struct db *, int id);

/* Binds the i-th value (from 1). Text and blobs must outlive the step. */
void		 stmt_int(struct stmt *, int i, int64_t);
void		 stmt_text(struct stmt *, int i, const char *);
void		 stmt_blob(struct stmt *, int i, const void *, size_t);

/* Steps the statement once; an error is logged. Returns DB_ROW, DB_DONE
 * or an error code. */
enum db_rc	 stmt_step(struct stmt *);

/* Steps to the end and resets. Returns DB_DONE or an error code. */
enum db_rc	 stmt_exec(struct stmt *);

/* As stmt_exec, for a write whose rows and count of changes nobody
 * reads. In a write transaction on PostgreSQL it is sent later, with the
 * next statement whose result is wanted (one round trip for both), and
 * DB_DONE means only that: a failure is then that statement's, or, once
 * the job has ended, makes its group run again (writer.h). */
enum db_rc	 stmt_exec_later(struct stmt *);

/* Runs a statement whose result is read later, by stmt_step, after
 * other statements of the same write transaction: on PostgreSQL it is
 * sent with the next statement whose result is wanted, in one round trip;
 * elsewhere it runs now. Its values are used at once (they need not
 * outlive the call). Its result, and an error, come with stmt_step; a
 * statement run in between that finds the error fails too. */
void		 stmt_send(struct stmt *);

/* The i-th column (from 0) of the current row. Text is never NULL (""
 * for NULL) and lives until the next step or reset. */
int64_t		 col_int(struct stmt *, int i);
const char	*col_text(struct stmt *, int i);
const void	*col_blob(struct stmt *, int i, size_t *len);

/* Rows changed by the last INSERT, UPDATE or DELETE that ran to its end. */
int64_t		 db_changes(struct db *);

/* Done with the rows: lets go of the statement's read snapshot. */
void		 stmt_reset(struct stmt *);

/* The current row as a JSON object named by its result columns: integers
 * as numbers, text as strings, NULL columns left out. */
struct json_object *stmt_json_row(struct stmt *);

/* Every remaining row as a JSON array of such objects, then resets; NULL
 * on a database error. */
struct json_object *stmt_json_rows(struct stmt *);

/* Runs a transaction statement (STMT_BEGIN, STMT_COMMIT, ...). On an
 * error it leaves no transaction open. Returns DB_DONE or an error. */
enum db_rc	 db_tx(struct db *, enum stmt_id);

/* Returns the error class of the last statement that failed on db since
 * the last call (DB_DONE if none), and forgets it: how a caller that saw a
 * failure tells a full disk (DB_FULL) from anything else. */
enum db_rc	 db_take_error(struct db *);

/* Returns 1 inside a write transaction (STMT_BEGIN_IMMEDIATE): what it
 * reads may be its own writes, not committed yet. */
int		 db_writing(const struct db *);

/* Returns 1 if a transaction was begun and the engine has since rolled
 * it back by itself (after a full disk or an I/O error): nothing of it may
 * be committed or reported as written. */
int		 db_tx_lost(struct db *);

/* Returns 1 while the connection to the server is lost (PostgreSQL; it
 * comes back by itself before a later transaction), else 0. */
int		 db_gone(struct db *);

#endif
