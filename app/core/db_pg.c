/* db_pg.c — the PostgreSQL engine behind db.h (db_engine.h), over libpq:
 * one connection per thread, each named statement prepared on the server
 * when it first runs (its "?" become "$1", "$2", ... unless stmts.c gives
 * PostgreSQL a text of its own), schema versions in the table
 * schema_version. Rows arrive whole, as text; bytea is unescaped.
 * Connecting, and connecting again after the server dropped a connection,
 * is db_pg_conn.c's. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"
#include "log.h"
#include "util.h"

/* Type OIDs (catalog/pg_type_d.h, which the client headers leave out). */
#define OID_BOOL	16
#define OID_BYTEA	17
#define OID_INT8	20
#define OID_INT2	21
#define OID_INT4	23

/* The text a transaction statement has on PostgreSQL. */
static const char *
tx_sql(enum stmt_id id)
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

/* Readies the core's statements and the schema's: their texts with $n.
 * Each is prepared on the server when it first runs (prepare): preparing
 * takes the locks the statement will need, so preparing them all up front
 * would wait behind any lock. */
void
pg_ready_all(struct db *db)
{
	struct pg_db	*p = PDB(db);
	struct pg_stmt	*s;
	int		 i;

	const struct stmt_def	*d;

	for (i = 0; i < db->nstmts; i++) {
		s = &p->stmts[i];
		s->base.db = db;
		s->prepared = 0;
		if (i < STMT_CORE__MAX && tx_sql((enum stmt_id)i) != NULL)
			continue;
		d = db_stmt_def(db, i);
		if (p->texts[i] == NULL)
			p->texts[i] = pg_dollar_params(d->pg ? d->pg : d->sql,
			    &s->nparams);
		assert(s->nparams <= PARAMS_MAX);
		s->sql = p->texts[i];
		snprintf(s->name, sizeof(s->name), "s%d", i);
	}
}

/* Prepares s on the server. Returns DB_DONE or the error. */
static enum db_rc
prepare(struct pg_stmt *s)
{
	PGresult	*res;
	enum db_rc	 rc = DB_DONE;

	res = PQsendPrepare(PDB(s->base.db)->conn, s->name, s->sql, 0, NULL) ?
	    pg_result(PDB(s->base.db)) : NULL;
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pg_rc_of(s->base.db, res, s->sql);
	else
		s->prepared = 1;
	PQclear(res);
	return rc;
}

static void
pg_close(struct db *db)
{
	int	 i;

	for (i = 0; i < db->nstmts; i++) {
		PQclear(PDB(db)->stmts[i].res);
		PQfreemem(PDB(db)->stmts[i].blob);
		free(PDB(db)->texts[i]);
	}
	PQfinish(PDB(db)->conn);
	free(PDB(db)->texts);
	free(PDB(db)->stmts);
	free(db);
}

/* A server that does not take the connection now gives one that
 * connects before its first transaction (db_pg_conn.c); only migrating
 * needs it at once. */
static struct db *
pg_open(const struct db_config *c, enum db_mode mode)
{
	struct pg_db	*p = xmalloc(sizeof(*p));
	struct db	*db = &p->base;

	memset(p, 0, sizeof(*p));
	db_base_init(db, &db_pg, c);
	p->texts = xmalloc(db->nstmts * sizeof(*p->texts));
	memset(p->texts, 0, db->nstmts * sizeof(*p->texts));
	p->stmts = xmalloc(db->nstmts * sizeof(*p->stmts));
	memset(p->stmts, 0, db->nstmts * sizeof(*p->stmts));
	p->url = c->url;
	p->mode = mode;
	p->sync_full = c->sync_full;
	p->busy_ms = c->busy_ms > 0 ? c->busy_ms : 1;
	if (mode != DB_MIGRATE)
		pg_ready_all(db);
	if (pg_connect(p) == -1) {
		pg_close(db);
		return NULL;
	}
	return db;
}

static void
pg_reset(struct stmt *st)
{
	struct pg_stmt	*s = PST(st);

	PQclear(s->res);
	s->res = NULL;
	PQfreemem(s->blob);
	s->blob = NULL;
}

static struct stmt *
pg_stmt(struct db *db, int id)
{
	struct pg_stmt	*s = &PDB(db)->stmts[id];

	/* Outside a transaction, a dropped connection comes back; inside
	 * one, the statement fails (DB_GONE) and so does the transaction. */
	if (!db->in_tx || PDB(db)->reading)
		pg_revive(PDB(db));
	assert(s->sql != NULL);	/* not a transaction's: db_tx */
	pg_reset(&s->base);
	memset(s->values, 0, sizeof(s->values));
	memset(s->lengths, 0, sizeof(s->lengths));
	memset(s->formats, 0, sizeof(s->formats));
	return &s->base;
}

static void
pg_bind_int(struct stmt *st, int i, int64_t v)
{
	struct pg_stmt	*s = PST(st);

	snprintf(s->ints[i - 1], sizeof(s->ints[0]), "%lld", (long long)v);
	s->values[i - 1] = s->ints[i - 1];
	s->formats[i - 1] = 0;
}

static void
pg_bind_text(struct stmt *st, int i, const char *v)
{
	PST(st)->values[i - 1] = v;
	PST(st)->formats[i - 1] = 0;
}

static void
pg_bind_blob(struct stmt *st, int i, const void *v, size_t n)
{
	PST(st)->values[i - 1] = v;
	PST(st)->lengths[i - 1] = (int)n;
	PST(st)->formats[i - 1] = 1;	/* binary: bytea as it is */
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
		    tx_sql(p->deferred[i]));
	if (then != NULL)
		snprintf(buf + n, size - n, "%s%s", n ? "; " : "", then);
	p->ndeferred = 0;
	return buf;
}

/* Sends the deferred savepoint statements and s in one pipeline (one
 * round trip) and reads their results: s->res is s's. Returns DB_DONE, or
 * the first error (what follows an error in a pipeline is not run). */
static enum db_rc
run_pipelined(struct pg_db *p, struct pg_stmt *s)
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
		sent = PQsendQueryParams(c, tx_sql(p->deferred[i]), 0, NULL,
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
			    tx_sql(p->deferred[i]) : s->sql);
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

/* Runs s on the server, preparing it first where this connection has not.
 * Returns DB_DONE with s->res its result, or the error. */
static enum db_rc
run(struct pg_stmt *s)
{
	struct pg_db	*p = PDB(s->base.db);
	ExecStatusType	 status;
	enum db_rc	 rc;

	char		 sql[160];

	if (!s->prepared) {
		/* Preparing may fail: after the savepoint, so that rolling
		 * back to it recovers. */
		if (p->ndeferred > 0 && pg_exec_sql(&p->base,
		    deferred_sql(p, sql, sizeof(sql), NULL)) == -1)
			return p->base.error;
		if ((rc = prepare(s)) != DB_DONE)
			return rc;
	}
	PQclear(s->res);
	s->res = NULL;
	if (p->ndeferred > 0)
		return run_pipelined(p, s);
	s->res = PQsendQueryPrepared(p->conn, s->name, s->nparams, s->values,
	    s->lengths, s->formats, 0) ? pg_result(p) : NULL;
	status = PQresultStatus(s->res);
	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
		return pg_rc_of(s->base.db, s->res, s->sql);
	return DB_DONE;
}

static enum db_rc
pg_step(struct stmt *st)
{
	struct pg_stmt	*s = PST(st);
	struct pg_db	*p = PDB(st->db);
	enum db_rc	 rc;

	if (s->res == NULL) {
		/* A read finds a connection the server dropped since: it
		 * connects again and reads again (nothing was written). */
		if ((rc = run(s)) == DB_GONE && p->reading && pg_revive(p) == 0)
			rc = run(s);
		if (rc != DB_DONE)
			return rc;
		s->row = -1;
		s->nrows = PQntuples(s->res);
		p->changes = atoll(PQcmdTuples(s->res));
	}
	PQfreemem(s->blob);
	s->blob = NULL;
	return ++s->row < s->nrows ? DB_ROW : DB_DONE;
}

static int64_t
pg_col_int(struct stmt *st, int i)
{
	const char	*v = PQgetvalue(PST(st)->res, PST(st)->row, i);

	if (*v == 't' || *v == 'f')	/* a boolean */
		return *v == 't';
	return strtoll(v, NULL, 10);
}

static const char *
pg_col_text(struct stmt *st, int i)
{
	return PQgetvalue(PST(st)->res, PST(st)->row, i);
}

static const void *
pg_col_blob(struct stmt *st, int i, size_t *len)
{
	struct pg_stmt	*s = PST(st);
	const char	*v = PQgetvalue(s->res, s->row, i);

	if (PQftype(s->res, i) != OID_BYTEA || PQgetisnull(s->res, s->row, i)) {
		*len = strlen(v);
		return v;
	}
	PQfreemem(s->blob);
	s->blob = PQunescapeBytea((const unsigned char *)v, len);
	if (s->blob == NULL)
		abort();	/* out of memory */
	return s->blob;
}

static int
pg_col_count(struct stmt *st)
{
	return PQnfields(PST(st)->res);
}

static const char *
pg_col_name(struct stmt *st, int i)
{
	return PQfname(PST(st)->res, i);
}

static enum col_kind
pg_col_kind(struct stmt *st, int i)
{
	struct pg_stmt	*s = PST(st);

	if (PQgetisnull(s->res, s->row, i))
		return COL_NULL;
	switch (PQftype(s->res, i)) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
	case OID_BOOL:
		return COL_INT;
	default:
		return COL_TEXT;
	}
}

static int64_t
pg_changes(struct db *db)
{
	return PDB(db)->changes;
}

/* Runs transaction statement id once, after the savepoint statements
 * deferred before it, in one round trip. */
static enum db_rc
tx_once(struct db *db, enum stmt_id id)
{
	struct pg_db		*p = PDB(db);
	PGconn			*conn = p->conn;
	PGTransactionStatusType	 before = PQtransactionStatus(conn);
	const char		*sql = tx_sql(id);
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
static enum db_rc
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
static int
pg_tx_lost(struct db *db)
{
	PGTransactionStatusType	 t = PQtransactionStatus(PDB(db)->conn);

	return db->in_tx && !PDB(db)->reading && (t == PQTRANS_IDLE ||
	    t == PQTRANS_UNKNOWN);
}

static int
pg_apply(struct db *db, const char *sql, int version)
{
	char	 record[160];
	int	 rc;

	snprintf(record, sizeof(record), "CREATE TABLE IF NOT EXISTS "
	    "schema_version (version integer NOT NULL); "
	    "DELETE FROM schema_version; "
	    "INSERT INTO schema_version VALUES (%d)", version);
	rc = pg_exec_sql(db, "BEGIN");
	if (rc == 0)
		rc = pg_exec_sql(db, sql);
	if (rc == 0 && version != 0)
		rc = pg_exec_sql(db, record);
	if (rc == 0)
		rc = pg_exec_sql(db, "COMMIT");
	if (rc != 0)
		pg_exec_sql(db, "ROLLBACK");
	return rc;
}

/* The server dropped the connection and it is not back yet. */
static int
pg_gone(struct db *db)
{
	return PQstatus(PDB(db)->conn) != CONNECTION_OK;
}

const struct db_engine db_pg = {
	.subdir = "pg",
	.open = pg_open,
	.close = pg_close,
	.stored_version = pg_stored_version,
	.apply = pg_apply,
	.dialect = pg_dialect,
	.stmt = pg_stmt,
	.bind_int = pg_bind_int,
	.bind_text = pg_bind_text,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.reset = pg_reset,
	.col_int = pg_col_int,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.col_count = pg_col_count,
	.col_name = pg_col_name,
	.col_kind = pg_col_kind,
	.changes = pg_changes,
	.tx = pg_tx,
	.tx_lost = pg_tx_lost,
	.gone = pg_gone,
};
