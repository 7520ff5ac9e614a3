/* db_pg_tx.c — the PostgreSQL engine's transaction statements (db_pg.h):
 * BEGIN, COMMIT, ROLLBACK and a job's savepoint. A write transaction's
 * savepoint statements are deferred, and sent in the round trip of the
 * next statement (libpq's pipeline mode) or of the COMMIT: a one-item
 * order takes five round trips, not seven. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "db_pg.h"

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

/* Writes the deferred savepoint statements into buf, joined by "; ",
 * then then (if not NULL), and forgets them. Returns buf. */
static char *
deferred_sql(struct pg_db *p, char *buf, size_t size, const char *then)
{
	size_t	 n = 0;
	int	 i;

	buf[0] = '\0';
	for (i = 0; i < p->ndeferred; i++)
		n += snprintf(buf + n, size - n, "%s%s", i ? "; " : "",
		    pg_tx_sql(p->deferred[i]));
	if (then != NULL)
		snprintf(buf + n, size - n, "%s%s", n ? "; " : "", then);
	p->ndeferred = 0;
	return buf;
}

enum db_rc
pg_send_deferred(struct pg_db *p)
{
	char	 sql[160];

	if (p->ndeferred == 0)
		return DB_DONE;
	return pg_exec_sql(&p->base, deferred_sql(p, sql, sizeof(sql), NULL)) ==
	    -1 ? p->base.error : DB_DONE;
}

/* Sends the deferred savepoint statements and s in one pipeline (one
 * round trip) and reads their results: s->res is s's. Returns DB_DONE, or
 * the first error (what follows an error in a pipeline is not run). */
enum db_rc
pg_run_deferred(struct pg_db *p, struct pg_stmt *s)
{
	PGconn		*c = p->conn;
	PGresult	*r;
	ExecStatusType	 status;
	enum db_rc	 rc = DB_DONE;
	int		 i, n = p->ndeferred, sent = 1;

	p->ndeferred = 0;
	if (PQenterPipelineMode(c) != 1)
		return pg_rc_of(&p->base, NULL, "a pipeline");
	for (i = 0; i < n && sent; i++)
		sent = PQsendQueryParams(c, pg_tx_sql(p->deferred[i]), 0, NULL,
		    NULL, NULL, NULL, 0);
	sent = sent && PQsendQueryPrepared(c, s->name, s->nparams, s->values,
	    s->lengths, s->formats, 0) && PQpipelineSync(c);
	/* Each statement's results, a NULL after each, then the sync. A
	 * lost connection gives NULLs only: stop at one too many. */
	for (i = 0; sent; ) {
		pg_await(p);
		if ((r = PQgetResult(c)) == NULL) {
			if (++i > n + 1)
				break;
			continue;
		}
		status = PQresultStatus(r);
		if (status == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
		    rc == DB_DONE)
			rc = pg_rc_of(&p->base, r, i < n ?
			    pg_tx_sql(p->deferred[i]) : s->sql);
		if (i == n && s->res == NULL)
			s->res = r;
		else
			PQclear(r);
	}
	if (!sent && rc == DB_DONE)
		rc = pg_rc_of(&p->base, NULL, s->sql);
	PQexitPipelineMode(c);
	return rc;
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
	PGresult		*res;
	enum db_rc		 rc = DB_DONE;
	char			 all[160];
	int			 deferred = p->ndeferred;

	assert(sql != NULL);
	if (id == STMT_ROLLBACK)
		p->ndeferred = 0;	/* it undoes them all the same */
	/* Nothing to roll back: none begun, or the server ended it with
	 * the connection. */
	if (id == STMT_ROLLBACK && (before == PQTRANS_IDLE ||
	    PQstatus(conn) != CONNECTION_OK))
		return DB_DONE;
	if (p->ndeferred > 0)
		sql = deferred_sql(p, all, sizeof(all), sql);
	res = PQsendQuery(conn, sql) ? pg_result(p) : NULL;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_rc_of(db, res, sql);
	/* COMMIT of a failed transaction "succeeds" by rolling back (one
	 * whose deferred statements left it failed has failed above). */
	else if (id == STMT_COMMIT && before == PQTRANS_INERROR && !deferred)
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
 * the server dropped since its last transaction connects again first,
 * and tries once more if the drop is found only by that BEGIN (a read
 * does the same at its first statement): nothing was lost, so the caller
 * need not know. */
enum db_rc
pg_tx(struct db *db, enum stmt_id id)
{
	struct pg_db	*p = PDB(db);
	enum db_rc	 rc;

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
	/* A write's savepoint statements wait for the next statement or
	 * the COMMIT, and go in its round trip. */
	if ((id == STMT_SAVEPOINT_JOB || id == STMT_RELEASE_JOB ||
	    id == STMT_ROLLBACK_TO_JOB) && p->ndeferred < DEFERRED_MAX &&
	    PQstatus(p->conn) == CONNECTION_OK) {
		p->deferred[p->ndeferred++] = id;
		return DB_DONE;
	}
	if (id != STMT_BEGIN_IMMEDIATE)
		return tx_once(db, id);
	p->ndeferred = 0;
	assert(!p->reading);	/* a read is ended before a write begins */
	if (pg_revive(p) == -1)
		return db->error = DB_GONE;
	if ((rc = tx_once(db, id)) == DB_GONE && pg_revive(p) == 0)
		rc = tx_once(db, id);
	return rc;
}

/* A transaction in error can still be rolled back to a savepoint; one the
 * server ended (a lost connection) is gone. */
int
pg_tx_lost(struct db *db)
{
	PGTransactionStatusType	 t = PQtransactionStatus(PDB(db)->conn);

	return db->in_tx && !PDB(db)->reading && (t == PQTRANS_IDLE ||
	    t == PQTRANS_UNKNOWN);
}

