/* db_pg.h — what the files of the PostgreSQL engine share: db_pg.c
 * (statements), db_pg_tx.c (transactions), db_pg_conn.c (connecting, again
 * after a loss, and every wait bounded) and db_pg_sql.c (SQL texts). */
#ifndef ONCESHOP_DB_PG_H
#define ONCESHOP_DB_PG_H

#include <libpq-fe.h>

#include "db_engine.h"
#include "util.h"

#define PARAMS_MAX	16
#define DEFERRED_MAX	64

struct pg_stmt {
	struct stmt	 base;
	char		 name[16];
	const char	*sql;		/* for the log */
	int		 prepared;
	int		 nparams;
	const char	*values[PARAMS_MAX];
	int		 lengths[PARAMS_MAX];
	int		 formats[PARAMS_MAX];
	char		 ints[PARAMS_MAX][24];
	PGresult	*res;
	int		 row, nrows;
	unsigned char	*blob;		/* the last col_blob of bytea */
	int		 sent;		/* stmt_send deferred it: res comes
					 * with the next round trip */
	enum db_rc	 failed;	/* it failed there */
};

/* A statement of a write transaction not sent yet (db_pg_tx.c): a
 * savepoint statement, or a write whose result nobody reads
 * (stmt_exec_later) with its parameters copied. */
struct pg_deferred {
	enum stmt_id	 tx;		/* a transaction statement, or */
	struct pg_stmt	*s;		/* a statement, prepared */
	int64_t		 job;		/* pg_db.jobs when it was deferred */
	int		 keep;		/* its result: stmt_send */
	size_t		 at[PARAMS_MAX];	/* each value in pg_db.args, */
#define NO_VALUE	((size_t)-1)		/* or NULL */
	int		 lengths[PARAMS_MAX];
	int		 formats[PARAMS_MAX];
};

struct pg_db {
	struct db	 base;
	PGconn		*conn;
	const char	*url;
	enum db_mode	 mode;
	int		 busy_ms, sync_full;
	int		 reading;	/* in a read "transaction" (pg_tx) */
	/* A write transaction's statements not sent yet: they go in one
	 * round trip with the next statement whose result is wanted, or
	 * the COMMIT. */
	struct pg_deferred deferred[DEFERRED_MAX];
	int		 ndeferred;
	struct buf	 args;		/* their parameters' values */
	int64_t		 jobs;		/* jobs ended in this connection */
	int		 strict;	/* defer no write, until a COMMIT */
	int64_t		 next_try;	/* no reconnection before (usec) */
	int64_t		 changes;
	char		**texts;	/* with $n, owned; db->nstmts */
	struct pg_stmt	*stmts;		/* db->nstmts */
};

#define PDB(db)	((struct pg_db *)(db))
#define PST(s)	((struct pg_stmt *)(s))

/* db_pg_conn.c: */

/* Connects (or, for a server that does not take connections now, readies
 * to connect before the first transaction) a new connection p, whose
 * url, schema, mode, busy_ms and sync_full are set. Returns 0, or -1
 * after logging why (then p may be closed). */
int		 pg_connect(struct pg_db *p);

/* Makes a connection the server dropped usable again, outside a
 * transaction, no more often than every RECONNECT_GAP_US. Returns 0 when
 * it is connected, -1 when not (yet). */
int		 pg_revive(struct pg_db *p);

/* Finds out, without a round trip, whether the server has closed p since
 * its last transaction (a restart, a terminated backend): libpq then
 * marks it bad, and pg_revive connects again. */
void		 pg_notice_closed(struct pg_db *p);

/* Maps a failed result's SQLSTATE to db_rc (DB_GONE for a lost
 * connection) and logs what is neither a lock timeout nor a constraint;
 * sets db->error. */
enum db_rc	 pg_rc_of(struct db *db, const PGresult *res, const char *sql);

/* Waits until what was sent can be read without blocking, at most the
 * busy timeout and a second (unbounded when migrating). A server that says
 * nothing by then loses the connection: -1, and PQgetResult gives an error
 * (DB_GONE). Returns 0 otherwise. */
int		 pg_await(struct pg_db *p);

/* The last result of what was just sent (the error, if one failed),
 * read with pg_await: never a wait without end. NULL if none came. */
PGresult	*pg_result(struct pg_db *p);

/* Runs plain SQL (several statements may be in it). Returns 0 or -1. */
int		 pg_exec_sql(struct db *db, const char *sql);

/* The stored schema version (0 for an empty database), or -1. */
int		 pg_stored_version(struct db *db);

/* db_pg_sql.c: */

/* Returns sql with each ? outside quotes as $1, $2, ...; *n their count. */
char		*pg_dollar_params(const char *sql, int *n);

/* Returns sql, written in SQLite's type names, in PostgreSQL's (a new
 * string). */
char		*pg_dialect(const char *sql);

/* db_pg.c: readies the statements of the connection's schema again (a
 * fresh connection prepares each when it first runs). */
void		 pg_ready_all(struct db *db);

/* db_pg_tx.c: */

/* The text of transaction statement id, or NULL if id is not one. */
const char	*pg_tx_sql(enum stmt_id id);

/* Runs transaction statement id (the engine's tx); pg_tx_lost is its
 * tx_lost. */
enum db_rc	 pg_tx(struct db *db, enum stmt_id id);
int		 pg_tx_lost(struct db *db);

/* Defers s, prepared, with its parameters, to be sent with the next
 * statement of the transaction (the engine's exec_later). Returns 0, or
 * -1 when it must run now: outside a write, after a late failure until
 * the COMMIT, or with too many deferred. */
int		 pg_defer(struct db *db, struct stmt *s);

/* As pg_defer, with its result kept for s's next step (stmt_send). */
int		 pg_send(struct db *db, struct stmt *s);

/* Sends the deferred statements now, in one round trip. Returns DB_DONE
 * or the error. */
enum db_rc	 pg_send_deferred(struct pg_db *p);

/* Runs s, prepared, after the deferred statements, all in one round
 * trip: s->res is s's result. Returns DB_DONE or the first error; the
 * failure of a write deferred by a job that has ended since is DB_RETRY
 * (its group runs again, no write deferred). */
enum db_rc	 pg_run_deferred(struct pg_db *p, struct pg_stmt *s);

#endif
