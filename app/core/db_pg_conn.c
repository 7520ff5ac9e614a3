/* db_pg_conn.c — connecting the PostgreSQL engine's connections, and
 * connecting them again (db_pg.h). A connection the server dropped (a
 * restart, a terminated backend) is connected again before its next
 * transaction or read, with its settings applied again and its statements
 * to be prepared again; never in the middle of a transaction, which is
 * lost with the connection (DB_GONE). While the server does not take
 * connections, each try is bounded by the busy timeout and they are
 * RECONNECT_GAP_US apart; the log says so at most once in LOG_GAP_US. */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"
#include "log.h"

#define RECONNECT_GAP_US 200000	/* between two tries of one connection */
/* How much longer than the busy timeout an answer may take before the
 * connection is given up. The server itself ends a lock wait at the busy
 * timeout (lock_timeout): only a server that does not answer at all
 * (stopped, hung, cut off) gets this far. */
#define ANSWER_SLACK_US	1000000
#define LOG_GAP_US	2000000	/* between two lines about a lost server */

/* Says what went wrong with the server, and why, or (what NULL) that it
 * came right, at most once every LOG_GAP_US for the whole process (every
 * thread's connection sees the same outage). */
static void
log_server(const char *what, const char *why)
{
	static _Atomic int64_t	 next[2];	/* for errors, for notes */
	_Atomic int64_t		*gate = &next[what == NULL];
	int64_t			 now = time_monotonic_usec(), due = *gate;
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

enum db_rc
pg_rc_of(struct db *db, const PGresult *res, const char *sql)
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

int
pg_await(struct pg_db *p)
{
	int64_t		 deadline = time_monotonic_usec() +
	    (int64_t)p->busy_ms * 1000 + ANSWER_SLACK_US;
	struct pollfd	 pfd;
	int		 ms, rc;

	if (p->mode == DB_MIGRATE)	/* a migration takes what it takes */
		return 0;
	while (PQisBusy(p->conn)) {
		pfd.fd = PQsocket(p->conn);
		pfd.events = POLLIN;
		ms = (int)((deadline - time_monotonic_usec()) / 1000);
		if ((rc = ms > 0 ? poll(&pfd, 1, ms) : 0) == -1 &&
		    errno == EINTR)
			continue;
		if (rc <= 0) {
			log_server("no answer within the busy timeout; the "
			    "connection is given up", "a server stopped, hung or "
			    "cut off");
			/* libpq reads the end: the connection is bad, and
			 * its result an error (DB_GONE). */
			shutdown(PQsocket(p->conn), SHUT_RDWR);
			PQconsumeInput(p->conn);
			return -1;
		}
		if (!PQconsumeInput(p->conn))
			return -1;	/* PQgetResult says what */
	}
	return 0;
}

PGresult *
pg_result(struct pg_db *p)
{
	PGresult	*r, *last = NULL;

	while (pg_await(p), (r = PQgetResult(p->conn)) != NULL) {
		PQclear(last);
		last = r;
	}
	return last;
}

/* Sends sql (one statement or several) and returns its last result, or
 * NULL when it could not be sent. */
static PGresult *
exec_bounded(struct pg_db *p, const char *sql)
{
	return PQsendQuery(p->conn, sql) ? pg_result(p) : NULL;
}

int
pg_exec_sql(struct db *db, const char *sql)
{
	PGresult	*res = exec_bounded(PDB(db), sql);
	ExecStatusType	 st = PQresultStatus(res);
	int		 rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_rc_of(db, res, sql);
		rc = -1;
	}
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

int
pg_stored_version(struct db *db)
{
	PGresult	*res;
	int		 v = -1;

	res = exec_bounded(PDB(db), "SELECT to_regclass('schema_version') "
	    "IS NULL");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		v = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? 0 : -2;
	PQclear(res);
	if (v != -2)
		return v;
	res = exec_bounded(PDB(db), "SELECT coalesce(max(version), 0) FROM "
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
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t			 deadline = time_monotonic_usec() +
	    (int64_t)p->busy_ms * 1000;
	struct pollfd		 pfd;
	int			 ms, reset = p->conn != NULL;

	if (!reset)
		p->conn = PQconnectStart(p->url);
	else if (!PQresetStart(p->conn))
		st = PGRES_POLLING_FAILED;
	if (p->conn == NULL)
		abort();	/* out of memory */
	if (PQstatus(p->conn) == CONNECTION_BAD)
		st = PGRES_POLLING_FAILED;
	while (st == PGRES_POLLING_READING || st == PGRES_POLLING_WRITING) {
		pfd.fd = PQsocket(p->conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		ms = (int)((deadline - time_monotonic_usec()) / 1000);
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
	if (pg_exec_sql(db, set) == -1)
		return -1;
	if (p->mode == DB_MIGRATE)
		return 0;
	if ((version = pg_stored_version(db)) != db->version) {
		db_log_version(db, "postgres", version);
		return -1;
	}
	pg_ready_all(db);
	return 0;
}

int
pg_revive(struct pg_db *p)
{
	int64_t	 now;

	if (PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	if ((p->base.in_tx && !p->reading) ||
	    (now = time_monotonic_usec()) < p->next_try)
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

/* A connection the server ends gets the reason, then the end of the
 * stream: while idle, anything to read means that. One read each. */
void
pg_notice_closed(struct pg_db *p)
{
	struct pollfd	 fd = { .fd = PQsocket(p->conn), .events = POLLIN };
	int		 i;

	for (i = 0; i < 2 && fd.fd >= 0 && poll(&fd, 1, 0) == 1; i++)
		if (PQconsumeInput(p->conn) == 0)
			break;
}

int
pg_connect(struct pg_db *p)
{
	if (connect_bounded(p) == -1) {
		log_server("cannot connect", PQstatus(p->conn) ==
		    CONNECTION_BAD ? PQerrorMessage(p->conn) : "no connection "
		    "within the busy timeout");
		if (p->mode == DB_MIGRATE)
			return -1;
		/* Connects before the first transaction, as if the server
		 * had dropped it (DB_GONE until then). */
		p->next_try = time_monotonic_usec() + RECONNECT_GAP_US;
		return 0;
	}
	return configure(p);
}
