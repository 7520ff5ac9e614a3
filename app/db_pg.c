/* db_pg.c — the PostgreSQL engine behind db.h (db_engine.h), over libpq:
 * one connection per thread, each named statement prepared on the server
 * when it first runs (its "?" become "$1", "$2", ... unless stmts.c gives
 * PostgreSQL a text of its own), schema versions in the table
 * schema_version. Rows arrive whole, as text; bytea is unescaped.
 *
 * A connection the server dropped (a restart, a terminated backend) is
 * connected again before its next transaction, with its settings applied
 * again and its statements to be prepared again; never in the middle of a
 * transaction, which is lost with the connection (DB_GONE). While the
 * server does not take connections, each try is bounded by the busy
 * timeout and they are RECONNECT_GAP_US apart. */
#include <assert.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db_engine.h"
#include "log.h"
#include "util.h"

#define PARAMS_MAX	16
#define RECONNECT_GAP_US 200000	/* between two tries of one connection */
#define LOG_GAP_US	2000000	/* between two lines about a lost server */
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
	const char	*url;
	enum db_schema	 schema;
	enum db_mode	 mode;
	int		 busy_ms, sync_full;
	int		 reading;	/* in a read "transaction" (pg_tx) */
	int64_t		 next_try;	/* no reconnection before (usec) */
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

static int64_t
monotonic_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Says what went wrong with the server, and why, or (what NULL) that it
 * came right, at most once every LOG_GAP_US for the whole process (every
 * thread's connection sees the same outage). */
static void
log_server(const char *what, const char *why)
{
	static _Atomic int64_t	 next[2];	/* for errors, for notes */
	_Atomic int64_t		*gate = &next[what == NULL];
	int64_t			 now = monotonic_usec(), due = *gate;
	char			 line[256];

	snprintf(line, sizeof(line), "%s", why);
	line[strcspn(line, "\n")] = '\0';	/* libpq ends it with one */
	if (now < due || !atomic_compare_exchange_strong(gate, &due,
	    now + LOG_GAP_US))
		return;
	if (what == NULL)
		log_note("postgres: %s", line);
	else
		log_error("postgres: %s: %s", what, line);
}

/* Maps a failed result's SQLSTATE; logs what is neither a lock timeout nor
 * a constraint (a lost connection, once in a while). */
static enum db_rc
rc_of(struct db *db, const PGresult *res, const char *sql)
{
	const char	*state = res ? PQresultErrorField(res,
	    PG_DIAG_SQLSTATE) : NULL;
	enum db_rc	 rc = DB_ERROR;

	if (state == NULL)
		state = "";
	if (PQstatus(PDB(db)->conn) != CONNECTION_OK ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0) {
		/* The connection, or the server (admin or crash shutdown,
		 * not yet accepting): whatever was not committed is gone. */
		log_server("the connection to the server was lost",
		    PQerrorMessage(PDB(db)->conn));
		return db->error = DB_GONE;
	}
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

/* Connects p->conn (again, when it has one), waiting at most the busy
 * timeout. Returns 0, or -1 with the connection left bad. */
static int
connect_bounded(struct pg_db *p)
{
	static const char *const keys[] = { "connect_timeout", "dbname", NULL };
	const char		*values[] = { "10", p->url, NULL };
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t			 deadline = monotonic_usec() +
	    (int64_t)p->busy_ms * 1000;
	struct pollfd		 pfd;
	int			 ms, reset = p->conn != NULL;

	/* connect_timeout first: a URL that sets its own wins. */
	if (!reset)
		p->conn = PQconnectStartParams(keys, values, 1);
	else if (!PQresetStart(p->conn))
		st = PGRES_POLLING_FAILED;
	if (p->conn == NULL)
		abort();	/* out of memory */
	if (PQstatus(p->conn) == CONNECTION_BAD)
		st = PGRES_POLLING_FAILED;
	while (st == PGRES_POLLING_READING || st == PGRES_POLLING_WRITING) {
		pfd.fd = PQsocket(p->conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		ms = (int)((deadline - monotonic_usec()) / 1000);
		if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
			break;	/* the deadline (or poll failed) */
		st = reset ? PQresetPoll(p->conn) : PQconnectPoll(p->conn);
	}
	return st == PGRES_POLLING_OK ? 0 : -1;
}

/* Gives a fresh connection its settings, and checks that its schema is
 * this build's (unless it is to migrate it); its statements are prepared
 * again when they next run. Returns 0 or -1. */
static int
configure(struct pg_db *p)
{
	struct db	*db = &p->base;
	char		 set[256];
	int		 version;

	PQsetNoticeProcessor(p->conn, quiet, NULL);
	/* Timestamps are RFC 3339 text, compared as text: byte order. A
	 * lock held longer than the busy timeout is an error (DB_BUSY),
	 * not a wait without end. */
	snprintf(set, sizeof(set), "SET lock_timeout = %d; "
	    "SET synchronous_commit = %s; SET TIME ZONE 'UTC'; "
	    "SET default_transaction_isolation = 'read committed'%s",
	    p->busy_ms, p->sync_full ? "on" : "off", p->mode == DB_READ ?
	    "; SET default_transaction_read_only = on" : "");
	if (exec_sql(db, set) == -1)
		return -1;
	if (p->mode == DB_MIGRATE)
		return 0;
	if ((version = pg_stored_version(db)) != db->version) {
		log_error("postgres: schema version %d, this build needs %d%s",
		    version, db->version, version < db->version ?
		    ": run init first" : ": a newer build made it");
		return -1;
	}
	ready_all(db);
	return 0;
}

/* Makes a connection the server dropped usable again, outside a
 * transaction, no more often than every RECONNECT_GAP_US. Returns 0 when
 * it is connected, -1 when not (yet). */
static int
revive(struct pg_db *p)
{
	int64_t	 now;

	if (PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	if ((p->base.in_tx && !p->reading) ||
	    (now = monotonic_usec()) < p->next_try)
		return -1;
	if (connect_bounded(p) == 0 && configure(p) == 0) {
		log_server(NULL, "connected again");
		return 0;
	}
	log_server("cannot connect", PQstatus(p->conn) == CONNECTION_BAD ?
	    PQerrorMessage(p->conn) : "no connection within the busy timeout");
	p->next_try = now + RECONNECT_GAP_US;
	return -1;
}

static void	 pg_close(struct db *);

/* A server that does not take the connection now gives one that
 * connects before its first transaction, as if the server had dropped it
 * (DB_GONE until then); only migrating needs it at once. */
static struct db *
pg_open(const struct db_config *c, enum db_mode mode)
{
	struct pg_db	*p = xmalloc(sizeof(*p));
	struct db	*db = &p->base;

	memset(p, 0, sizeof(*p));
	db->engine = &db_pg;
	db->error = DB_DONE;
	db->version = c->schema == SCHEMA_PAYSIM ? DB_PAYSIM_VERSION :
	    DB_SCHEMA_VERSION;
	p->url = c->url;
	p->schema = c->schema;
	p->mode = mode;
	p->sync_full = c->sync_full;
	p->busy_ms = c->busy_ms > 0 ? c->busy_ms : 1;
	if (mode != DB_MIGRATE)
		ready_all(db);
	if (connect_bounded(p) == -1) {
		log_server("cannot connect", PQstatus(p->conn) ==
		    CONNECTION_BAD ? PQerrorMessage(p->conn) : "no connection "
		    "within the busy timeout");
		if (mode == DB_MIGRATE)
			goto fail;
		p->next_try = monotonic_usec() + RECONNECT_GAP_US;
		return db;
	}
	if (configure(p) == -1)
		goto fail;
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

	/* Outside a transaction, a dropped connection comes back; inside
	 * one, the statement fails (DB_GONE) and so does the transaction. */
	if (!db->in_tx || PDB(db)->reading)
		revive(PDB(db));
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

/* Runs s on the server, preparing it first where this connection has not.
 * Returns DB_DONE with s->res its result, or the error. */
static enum db_rc
run(struct pg_stmt *s)
{
	struct pg_db	*p = PDB(s->base.db);
	ExecStatusType	 status;
	enum db_rc	 rc;

	if (!s->prepared && (rc = prepare(s)) != DB_DONE)
		return rc;
	PQclear(s->res);
	s->res = PQexecPrepared(p->conn, s->name, s->nparams, s->values,
	    s->lengths, s->formats, 0);
	status = PQresultStatus(s->res);
	if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
		return rc_of(s->base.db, s->res, s->sql);
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
		if ((rc = run(s)) == DB_GONE && p->reading && revive(p) == 0)
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

/* Runs transaction statement id once. */
static enum db_rc
tx_once(struct db *db, enum stmt_id id)
{
	PGconn			*conn = PDB(db)->conn;
	PGTransactionStatusType	 before = PQtransactionStatus(conn);
	const char		*sql = tx_sql(id);
	PGresult		*res;
	enum db_rc		 rc = DB_DONE;

	assert(sql != NULL);
	/* Nothing to roll back: none begun, or the server ended it with
	 * the connection. */
	if (id == STMT_ROLLBACK && (before == PQTRANS_IDLE ||
	    PQstatus(conn) != CONNECTION_OK))
		return DB_DONE;
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = rc_of(db, res, sql);
	/* COMMIT of a failed transaction "succeeds" by rolling back. */
	else if (id == STMT_COMMIT && before == PQTRANS_INERROR)
		rc = db->error = DB_ERROR;
	PQclear(res);
	if ((id == STMT_COMMIT || id == STMT_ROLLBACK) &&
	    PQstatus(conn) == CONNECTION_OK &&
	    PQtransactionStatus(conn) != PQTRANS_IDLE)
		exec_sql(db, "ROLLBACK");
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
		if (revive(p) == -1)
			return db->error = DB_GONE;
		p->reading = 1;
		return DB_DONE;
	}
	if (p->reading && (id == STMT_ROLLBACK || id == STMT_COMMIT)) {
		p->reading = 0;
		return DB_DONE;
	}
	if (id != STMT_BEGIN_IMMEDIATE)
		return tx_once(db, id);
	assert(!p->reading);	/* a read is ended before a write begins */
	if (revive(p) == -1)
		return db->error = DB_GONE;
	if ((rc = tx_once(db, id)) == DB_GONE && revive(p) == 0)
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
