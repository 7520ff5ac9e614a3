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
		s->sent = 0;
		s->failed = DB_DONE;
		if (i < STMT_CORE__MAX && pg_tx_sql((enum stmt_id)i) != NULL)
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
	buf_free(&PDB(db)->args);
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
	s->sent = 0;
	s->failed = DB_DONE;
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

/* Runs s on the server, preparing it first where this connection has not.
 * Returns DB_DONE with s->res its result, or the error. */
static enum db_rc
run(struct pg_stmt *s)
{
	struct pg_db	*p = PDB(s->base.db);
	ExecStatusType	 status;
	enum db_rc	 rc;

	if (!s->prepared) {
		/* Preparing may fail: after the savepoint, so that rolling
		 * back to it recovers. */
		if ((rc = pg_send_deferred(p)) != DB_DONE)
			return rc;
		if ((rc = prepare(s)) != DB_DONE)
			return rc;
	}
	PQclear(s->res);
	s->res = NULL;
	if (p->ndeferred > 0)
		return pg_run_deferred(p, s);
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

	if (s->sent) {
		/* Sent by stmt_send, and no statement since: its round trip
		 * is now. */
		rc = pg_send_deferred(p);
		if (s->sent) {		/* no result came */
			s->sent = 0;
			return rc != DB_DONE ? rc : DB_ERROR;
		}
	}
	if (s->failed != DB_DONE) {	/* as db.c's stmt_step says */
		rc = st->db->error = s->failed;
		s->failed = DB_DONE;
		return rc;
	}
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
	.defer = pg_defer,
	.send = pg_send,
	.tx = pg_tx,
	.tx_lost = pg_tx_lost,
	.gone = pg_gone,
};
