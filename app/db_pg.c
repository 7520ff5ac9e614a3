/* db_pg.c — the PostgreSQL engine behind db.h (db_engine.h), over libpq:
 * one connection per thread, each named statement prepared on the server
 * when it first runs (its "?" become "$1", "$2", ... unless stmts.c gives
 * PostgreSQL a text of its own), schema versions in the table
 * schema_version. Rows arrive whole, as text; bytea is unescaped. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db_engine.h"
#include "log.h"
#include "util.h"

#define PARAMS_MAX	16
/* Type OIDs (catalog/pg_type_d.h, which the client headers leave out). */
#define OID_BOOL	16
#define OID_BYTEA	17
#define OID_INT8	20
#define OID_INT2	21
#define OID_INT4	23

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
};

struct pg_db {
	struct db	 base;
	PGconn		*conn;
	enum db_schema	 schema;
	int64_t		 changes;
	char		*texts[STMT__MAX];	/* with $n, owned */
	struct pg_stmt	 stmts[STMT__MAX];
};

#define PDB(db)	((struct pg_db *)(db))
#define PST(s)	((struct pg_stmt *)(s))

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

/* Maps a failed result's SQLSTATE; logs what is neither a lock timeout nor
 * a constraint. */
static enum db_rc
rc_of(struct db *db, const PGresult *res, const char *sql)
{
	const char	*state = res ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL;
	enum db_rc	 rc = DB_ERROR;

	if (state == NULL)
		state = "";
	if (strncmp(state, "23", 2) == 0)
		rc = DB_CONSTRAINT;
	else if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0)
		rc = DB_BUSY;		/* lock_timeout, statement_timeout */
	else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		rc = DB_RETRY;		/* serialization failure, deadlock */
	else if (strcmp(state, "53100") == 0)
		rc = DB_FULL;
	if (rc != DB_CONSTRAINT && rc != DB_BUSY)
		log_error("postgres: %s (%s; in: %.60s)",
		    res ? PQresultErrorMessage(res) :
		    PQerrorMessage(PDB(db)->conn), state, sql);
	return db->error = rc;
}

/* Runs plain SQL (several statements may be in it). Returns 0 or -1. */
static int
exec_sql(struct db *db, const char *sql)
{
	PGresult	*res = PQexec(PDB(db)->conn, sql);
	ExecStatusType	 st = PQresultStatus(res);
	int		 rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc_of(db, res, sql);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* Returns sql with each ? outside quotes as $1, $2, ...; *n their count. */
static char *
dollar_params(const char *sql, int *n)
{
	struct buf	 b = { 0 };
	char		 quote = 0;

	*n = 0;
	for (; *sql != '\0'; sql++) {
		if (quote != 0 && *sql == quote)
			quote = 0;
		else if (quote == 0 && (*sql == '\'' || *sql == '"'))
			quote = *sql;
		if (quote == 0 && *sql == '?')
			buf_printf(&b, "$%d", ++*n);
		else
			buf_append(&b, sql, 1);
	}
	buf_append(&b, "", 0);
	return b.data;
}

/* Readies the statements of the connection's schema (and of every
 * schema): their texts with $n. Each is prepared on the server when it
 * first runs (prepare): preparing takes the locks the statement will
 * need, so preparing them all up front would wait behind any lock. */
static void
ready_all(struct db *db)
{
	struct pg_db	*p = PDB(db);
	struct pg_stmt	*s;
	int		 i;

	for (i = 0; i < STMT__MAX; i++) {
		s = &p->stmts[i];
		s->base.db = db;
		s->prepared = 0;
		if (tx_sql((enum stmt_id)i) != NULL ||
		    (stmt_defs[i].schema != SCHEMA_COMMON &&
		    stmt_defs[i].schema != p->schema))
			continue;
		if (p->texts[i] == NULL)
			p->texts[i] = dollar_params(stmt_defs[i].pg ?
			    stmt_defs[i].pg : stmt_defs[i].sql, &s->nparams);
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

	res = PQprepare(PDB(s->base.db)->conn, s->name, s->sql, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = rc_of(s->base.db, res, s->sql);
	else
		s->prepared = 1;
	PQclear(res);
	return rc;
}

/* Notices (a migration's "table exists, skipping") are not errors. */
static void
quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int
pg_stored_version(struct db *db)
{
	PGresult	*res;
	int		 v = -1;

	res = PQexec(PDB(db)->conn, "SELECT to_regclass('schema_version') "
	    "IS NULL");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 0 : -2;
	PQclear(res);
	if (v != -2)
		return v;
	res = PQexec(PDB(db)->conn, "SELECT coalesce(max(version), 0) FROM "
	    "schema_version");
	v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ?
	    atoi(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	return v;
}

static void	 pg_close(struct db *);

static struct db *
pg_open(const struct db_config *c, enum db_mode mode)
{
	struct pg_db	*p = xmalloc(sizeof(*p));
	struct db	*db = &p->base;
	char		 set[256];
	int		 version;

	memset(p, 0, sizeof(*p));
	db->engine = &db_pg;
	db->error = DB_DONE;
	db->version = DB_SCHEMA_VERSION;
	p->schema = c->schema;
	p->conn = PQconnectdb(c->url);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		log_error("postgres: %s", PQerrorMessage(p->conn));
		goto fail;
	}
	PQsetNoticeProcessor(p->conn, quiet, NULL);
	/* Timestamps are RFC 3339 text, compared as text: byte order. A
	 * lock held longer than the busy timeout is an error (DB_BUSY),
	 * not a wait without end. */
	snprintf(set, sizeof(set), "SET lock_timeout = %d; "
	    "SET synchronous_commit = %s; SET TIME ZONE 'UTC'; "
	    "SET default_transaction_isolation = 'read committed'",
	    c->busy_ms > 0 ? c->busy_ms : 1, c->sync_full ? "on" : "off");
	if (exec_sql(db, set) == -1 || (mode == DB_READ &&
	    exec_sql(db, "SET default_transaction_read_only = on") == -1))
		goto fail;
	if (mode == DB_MIGRATE)
		return db;
	if ((version = pg_stored_version(db)) != db->version) {
		log_error("postgres: schema version %d, this build needs %d%s",
		    version, db->version, version < db->version ?
		    ": run init first" : ": a newer build made it");
		goto fail;
	}
	ready_all(db);
	return db;
fail:
	pg_close(db);
	return NULL;
}

static void
pg_close(struct db *db)
{
	int	 i;

	for (i = 0; i < STMT__MAX; i++) {
		PQclear(PDB(db)->stmts[i].res);
		PQfreemem(PDB(db)->stmts[i].blob);
		free(PDB(db)->texts[i]);
	}
	PQfinish(PDB(db)->conn);
	free(db);
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
pg_stmt(struct db *db, enum stmt_id id)
{
	struct pg_stmt	*s = &PDB(db)->stmts[id];

	/* A connection the server dropped comes back, without the
	 * statements it had prepared. */
	if (PQstatus(PDB(db)->conn) == CONNECTION_BAD) {
		PQreset(PDB(db)->conn);
		ready_all(db);
	}
	assert(s->sql != NULL);	/* a statement of another schema */
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

static enum db_rc
pg_step(struct stmt *st)
{
	struct pg_stmt	*s = PST(st);
	struct pg_db	*p = PDB(st->db);
	ExecStatusType	 status;
	enum db_rc	 rc;

	if (s->res == NULL) {
		if (!s->prepared && (rc = prepare(s)) != DB_DONE)
			return rc;
		s->res = PQexecPrepared(p->conn, s->name, s->nparams,
		    s->values, s->lengths, s->formats, 0);
		status = PQresultStatus(s->res);
		if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
			return rc_of(st->db, s->res, s->sql);
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

/* Runs transaction statement id; a COMMIT or ROLLBACK that fails leaves
 * no transaction open (db.c keeps in_tx). */
static enum db_rc
pg_tx(struct db *db, enum stmt_id id)
{
	PGconn			*conn = PDB(db)->conn;
	PGTransactionStatusType	 before = PQtransactionStatus(conn);
	const char		*sql = tx_sql(id);
	PGresult		*res;
	enum db_rc		 rc = DB_DONE;

	assert(sql != NULL);
	if (id == STMT_ROLLBACK && before == PQTRANS_IDLE)
		return DB_DONE;		/* nothing to roll back */
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = rc_of(db, res, sql);
	/* COMMIT of a failed transaction "succeeds" by rolling back. */
	else if (id == STMT_COMMIT && before == PQTRANS_INERROR)
		rc = db->error = DB_ERROR;
	PQclear(res);
	if ((id == STMT_COMMIT || id == STMT_ROLLBACK) &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		exec_sql(db, "ROLLBACK");
	return rc;
}

/* A transaction in error can still be rolled back to a savepoint; one the
 * server ended (a lost connection) is gone. */
static int
pg_tx_lost(struct db *db)
{
	PGTransactionStatusType	 t = PQtransactionStatus(PDB(db)->conn);

	return db->in_tx && (t == PQTRANS_IDLE || t == PQTRANS_UNKNOWN);
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
	rc = exec_sql(db, "BEGIN");
	if (rc == 0)
		rc = exec_sql(db, sql);
	if (rc == 0 && version != 0)
		rc = exec_sql(db, record);
	if (rc == 0)
		rc = exec_sql(db, "COMMIT");
	if (rc != 0)
		exec_sql(db, "ROLLBACK");
	return rc;
}

const struct db_engine db_pg = {
	"pg", pg_open, pg_close, pg_stored_version, pg_apply, pg_stmt,
	pg_bind_int, pg_bind_text, pg_bind_blob, pg_step, pg_reset,
	pg_col_int, pg_col_text, pg_col_blob, pg_col_count, pg_col_name,
	pg_col_kind, pg_changes, pg_tx, pg_tx_lost,
};
