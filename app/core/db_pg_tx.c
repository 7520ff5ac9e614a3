/* db_pg_tx.c — the PostgreSQL engine's transaction statements (db_pg.h):
 * BEGIN, COMMIT, ROLLBACK and a job's savepoint, and the statements a
 * write transaction defers: its BEGIN, its savepoint statements, and the
 * writes whose result nobody reads (stmt_exec_later: an order's row and
 * items, the stored answer). They are sent in the round trip of the next
 * statement whose result is wanted, or of the COMMIT (libpq's pipeline
 * mode): a one-item order takes one round trip of its group (with the
 * order's id asked for beside its stock, orders.c), not seven, and a
 * group no round trip of its own to begin.
 *
 * A deferred write that fails is found a round trip late. While its job
 * runs, the statement that finds it fails in its place, and the job with
 * it. Once its job has ended (counted done), the statement that finds it
 * gives DB_RETRY: the group is rolled back and runs again (writer.h),
 * with no write deferred, so that the failure is its own job's. */
#include <assert.h>
#include <string.h>

#include "db_pg.h"
#include "log.h"

/* The text a transaction statement has on PostgreSQL. */
const char *
pg_tx_sql(enum stmt_id id)
{
	switch (id) {
	case STMT_BEGIN:
	case STMT_BEGIN_IMMEDIATE:	/* every write locks what it touches */
		return "BEGIN";
	case STMT_COMMIT:
		return "COMMIT";
	case STMT_ROLLBACK:
		return "ROLLBACK";
	case STMT_SAVEPOINT_JOB:
		return "SAVEPOINT job";
	case STMT_RELEASE_JOB:
		return "RELEASE SAVEPOINT job";
	case STMT_ROLLBACK_TO_JOB:
		return "ROLLBACK TO SAVEPOINT job";
	default:
		return NULL;
	}
}

/* Whether p's write transaction has begun only here: its BEGIN, deferred,
 * is not sent yet. */
static int
begin_unsent(const struct pg_db *p)
{
	return p->ndeferred > 0 && p->deferred[0].s == NULL &&
	    p->deferred[0].tx == STMT_BEGIN_IMMEDIATE;
}

/* Defers transaction statement id. */
static void
defer_tx(struct pg_db *p, enum stmt_id id)
{
	struct pg_deferred	*d = &p->deferred[p->ndeferred++];

	d->tx = id;
	d->s = NULL;
	d->job = p->jobs;
	d->keep = 0;
}

static int
defer_stmt(struct db *db, struct stmt *st, int keep)
{
	struct pg_db		*p = PDB(db);
	struct pg_stmt		*s = PST(st);
	struct pg_deferred	*d;
	size_t			 n;
	int			 i;

	if (!db->in_tx || p->reading || p->strict || !s->prepared ||
	    p->ndeferred == DEFERRED_MAX || PQstatus(p->conn) != CONNECTION_OK)
		return -1;
	d = &p->deferred[p->ndeferred++];
	d->s = s;
	d->job = p->jobs;
	d->keep = s->sent = keep;
	/* The values are copied: the caller's may be gone by the time. */
	for (i = 0; i < s->nparams; i++) {
		d->lengths[i] = s->lengths[i];
		d->formats[i] = s->formats[i];
		d->at[i] = NO_VALUE;
		if (s->values[i] == NULL)
			continue;
		d->at[i] = p->args.len;
		n = s->formats[i] ? (size_t)s->lengths[i] :
		    strlen(s->values[i]) + 1;
		buf_append(&p->args, s->values[i], n);
	}
	return 0;
}

int
pg_defer(struct db *db, struct stmt *st)
{
	return defer_stmt(db, st, 0);
}

int
pg_send(struct db *db, struct stmt *st)
{
	return defer_stmt(db, st, 1);
}

/* Keeps r, the result of d (stmt_send), for its statement's next step.
 * One that is not ok is marked failed; pipeline says with what. */
static void
keep(const struct pg_deferred *d, PGresult *r, int ok)
{
	struct pg_stmt	*s = d->s;

	if (!s->sent) {		/* reset since: nobody wants it */
		PQclear(r);
		return;
	}
	s->sent = 0;
	s->failed = ok ? DB_DONE : DB_ERROR;
	s->res = r;
	s->row = -1;
	s->nrows = ok ? PQntuples(r) : 0;
}

static const char *
deferred_sql(const struct pg_deferred *d)
{
	return d->s != NULL ? d->s->sql : pg_tx_sql(d->tx);
}

/* Sends d (pipeline mode). Returns 1, or 0 if it could not be sent. */
static int
send_deferred(struct pg_db *p, const struct pg_deferred *d)
{
	const char	*values[PARAMS_MAX];
	int		 i;

	if (d->s == NULL)
		return PQsendQueryParams(p->conn, pg_tx_sql(d->tx), 0, NULL,
		    NULL, NULL, NULL, 0);
	for (i = 0; i < d->s->nparams; i++)
		values[i] = d->at[i] == NO_VALUE ? NULL : p->args.data +
		    d->at[i];
	return PQsendQueryPrepared(p->conn, d->s->name, d->s->nparams, values,
	    d->lengths, d->formats, 0);
}

/* A deferred write failed after its job ended, and the job was counted
 * done: its group must run again, and then each write is sent on its
 * own, so that a failure is its own job's. */
static enum db_rc
late(struct pg_db *p, const char *sql)
{
	log_error("postgresql: %s failed after its job ended; the group runs "
	    "again, each write on its own", sql);
	p->strict = 1;
	return p->base.error = DB_RETRY;
}

/* Sends the deferred statements, then s (prepared) or tx (a transaction
 * statement's text) if either is given, in one pipeline, and reads their
 * results: *out is the last one's. Returns DB_DONE or the first error
 * (what follows an error in a pipeline is not run). */
static enum db_rc
pipeline(struct pg_db *p, struct pg_stmt *s, const char *tx, PGresult **out)
{
	PGconn			*c = p->conn;
	PGresult		*r;
	ExecStatusType		 status;
	const struct pg_deferred *failed = NULL;
	const char		*last = s != NULL ? s->sql : tx;
	enum db_rc		 rc = DB_DONE;
	int			 i, n = p->ndeferred, sent = 1;

	p->ndeferred = 0;
	if (PQenterPipelineMode(c) != 1) {
		buf_reset(&p->args);
		return pg_rc_of(&p->base, NULL, "a pipeline");
	}
	for (i = 0; i < n && sent; i++)
		sent = send_deferred(p, &p->deferred[i]);
	if (sent && s != NULL)
		sent = PQsendQueryPrepared(c, s->name, s->nparams, s->values,
		    s->lengths, s->formats, 0);
	else if (sent && tx != NULL)
		sent = PQsendQueryParams(c, tx, 0, NULL, NULL, NULL, NULL, 0);
	sent = sent && PQpipelineSync(c);
	/* Each statement's results, a NULL after each, then the sync. A
	 * lost connection gives NULLs only: stop at one too many. */
	for (i = 0; sent; ) {
		pg_await(p);
		if ((r = PQgetResult(c)) == NULL) {
			if (++i > n + (last != NULL))
				break;
			continue;
		}
		status = PQresultStatus(r);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
		    rc == DB_DONE) {
			rc = pg_rc_of(&p->base, r, i < n ?
			    deferred_sql(&p->deferred[i]) : last);
			failed = i < n ? &p->deferred[i] : NULL;
		}
		if (i < n && p->deferred[i].keep)
			keep(&p->deferred[i], r, status == PGRES_COMMAND_OK ||
			    status == PGRES_TUPLES_OK);
		else if (i == n && out != NULL && *out == NULL)
			*out = r;
		else
			PQclear(r);
	}
	if (!sent && rc == DB_DONE)
		rc = pg_rc_of(&p->base, NULL, last ? last : "a pipeline");
	PQexitPipelineMode(c);
	buf_reset(&p->args);
	if (failed != NULL && failed->s != NULL && failed->job != p->jobs &&
	    rc != DB_GONE)
		rc = late(p, failed->s->sql);
	/* A kept result that failed, or was not run after a failure,
	 * fails as the pipeline does. */
	for (i = 0; i < n; i++)
		if (p->deferred[i].keep && p->deferred[i].s->failed != DB_DONE)
			p->deferred[i].s->failed = rc;
	return rc;
}

enum db_rc
pg_send_deferred(struct pg_db *p)
{
	return p->ndeferred > 0 ? pipeline(p, NULL, NULL, NULL) : DB_DONE;
}

enum db_rc
pg_run_deferred(struct pg_db *p, struct pg_stmt *s)
{
	return pipeline(p, s, NULL, &s->res);
}

/* Runs transaction statement id once, after the savepoint statements
 * deferred before it, in one round trip. */
static enum db_rc
tx_once(struct db *db, enum stmt_id id)
{
	struct pg_db		*p = PDB(db);
	PGconn			*conn = p->conn;
	PGTransactionStatusType	 before = PQtransactionStatus(conn);
	const char		*sql = pg_tx_sql(id);
	PGresult		*res = NULL;
	enum db_rc		 rc = DB_DONE;

	assert(sql != NULL);
	if (id == STMT_ROLLBACK) {
		p->ndeferred = 0;	/* it undoes them all the same */
		buf_reset(&p->args);
	}
	if (id == STMT_COMMIT)
		p->strict = 0;
	/* Nothing to commit: a transaction with no statement (an empty
	 * group) was never sent. */
	if (id == STMT_COMMIT && begin_unsent(p) && p->ndeferred == 1) {
		p->ndeferred = 0;
		return DB_DONE;
	}
	/* Nothing to roll back: none begun, or the server ended it with
	 * the connection. */
	if (id == STMT_ROLLBACK && (before == PQTRANS_IDLE ||
	    PQstatus(conn) != CONNECTION_OK))
		return DB_DONE;
	if (p->ndeferred > 0)
		rc = pipeline(p, NULL, sql, &res);
	else if (PQresultStatus(res = PQsendQuery(conn, sql) ?
	    pg_result(p) : NULL) != PGRES_COMMAND_OK)
		rc = pg_rc_of(db, res, sql);
	/* COMMIT of a failed transaction "succeeds" by rolling back. */
	if (rc == DB_DONE && id == STMT_COMMIT && res != NULL &&
	    strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		rc = db->error = DB_ERROR;
	PQclear(res);
	if ((id == STMT_COMMIT || id == STMT_ROLLBACK) &&
	    PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		pg_exec_sql(db, "ROLLBACK");
	return rc;
}

/* Runs transaction statement id; a COMMIT or ROLLBACK that fails leaves
 * no transaction open (db.c keeps in_tx). A write's BEGIN on a connection
 * the server closed since its last transaction connects again first
 * (pg_notice_closed: nothing was lost, so the caller need not know), then
 * waits to go in the round trip of the transaction's first statement. A
 * connection lost without a word is found by that statement: the
 * transaction is lost (DB_GONE), as with a loss one statement later. (A
 * read that finds its connection lost connects again and reads again: it
 * has written nothing; pg_step.) */
enum db_rc
pg_tx(struct db *db, enum stmt_id id)
{
	struct pg_db	*p = PDB(db);

	/* A read "transaction" sends nothing: under read committed each
	 * statement reads a snapshot of its own all the same, and BEGIN and
	 * ROLLBACK would cost a round trip each (two of a replay's four). */
	if (id == STMT_BEGIN) {
		if (pg_revive(p) == -1)
			return db->error = DB_GONE;
		p->reading = 1;
		return DB_DONE;
	}
	if (p->reading && (id == STMT_ROLLBACK || id == STMT_COMMIT)) {
		p->reading = 0;
		return DB_DONE;
	}
	/* A job ends: what it deferred is late from now on. */
	if (id == STMT_RELEASE_JOB || id == STMT_ROLLBACK_TO_JOB)
		p->jobs++;
	/* A write's savepoint statements wait for the next statement or
	 * the COMMIT, and go in its round trip. */
	if ((id == STMT_SAVEPOINT_JOB || id == STMT_RELEASE_JOB ||
	    id == STMT_ROLLBACK_TO_JOB) && p->ndeferred < DEFERRED_MAX &&
	    PQstatus(p->conn) == CONNECTION_OK) {
		defer_tx(p, id);
		return DB_DONE;
	}
	if (id != STMT_BEGIN_IMMEDIATE)
		return tx_once(db, id);
	p->ndeferred = 0;
	buf_reset(&p->args);
	assert(!p->reading);	/* a read is ended before a write begins */
	pg_notice_closed(p);
	if (pg_revive(p) == -1)
		return db->error = DB_GONE;
	defer_tx(p, id);
	return DB_DONE;
}

/* A transaction in error can still be rolled back to a savepoint; one the
 * server ended (a lost connection) is gone; one not sent yet is whole. */
int
pg_tx_lost(struct db *db)
{
	PGTransactionStatusType	 t = PQtransactionStatus(PDB(db)->conn);

	return db->in_tx && !PDB(db)->reading && !begin_unsent(PDB(db)) &&
	    (t == PQTRANS_IDLE || t == PQTRANS_UNKNOWN);
}

