/* writer.h — the writer. Every write goes through writer threads (one on
 * SQLite, which has one write lock; config.lanes on PostgreSQL), each with
 * its own connection, that commit in groups: a thread begins one
 * transaction, runs every job waiting in the queue each under its own
 * savepoint, commits once (one fsync for the whole group), and only then
 * releases the answers. A job that fails is rolled back to its savepoint
 * alone; a failed COMMIT fails the whole group; a deadlock or serialization
 * failure runs the whole group again. Between groups the first thread runs
 * the housekeeping (sweeping expired keys) in small transactions.
 *
 * The caller of writer_submit waits at most until its deadline for the
 * job to start; a job that never started wrote nothing (WRITE_BUSY). */
#ifndef ONCESHOP_WRITER_H
#define ONCESHOP_WRITER_H

#include <pthread.h>
#include <stdint.h>

#include "db.h"

/* A job's work, run inside the group's transaction under its savepoint.
 * Returns 0 to keep its writes, -1 to have them rolled back (the rest of
 * the group goes on). It must not begin, commit or roll back the
 * transaction; it may undo its own writes so far with
 * db_tx(db, STMT_ROLLBACK_TO_JOB) and go on. */
typedef int write_fn(struct db *, void *arg);

/* Work between groups, in a transaction of its own. Returns 1 when there
 * is more to do soon, 0 when done for now, -1 on an error (rolled back). */
typedef int housekeeping_fn(struct db *, time_t now);

enum write_result {
	WRITE_COMMITTED,	/* run kept its writes; the group committed */
	WRITE_UNDONE,		/* run asked to roll its writes back: none */
	WRITE_BUSY,		/* never ran: no write lock before the
				 * deadline; nothing was written */
	WRITE_FAILED,		/* the group rolled back: nothing written */
	WRITE_UNKNOWN,		/* COMMIT failed: written or not, unknown */
};

struct write_job {
	write_fn		*run;
	void			*arg;
	/* 0, or which write connection runs it (PostgreSQL's lanes): jobs
	 * with the same hint run on the same one, one group after another,
	 * so that they never wait for each other's row locks across two
	 * connections, nor deadlock there. Within a group, jobs run in the
	 * order of their hints (those with equal hints in the order they
	 * came): two groups, of two hosts, then take the rows their hints
	 * stand for in one order, and cannot deadlock over them. */
	uint32_t		 lane_hint;
	/* Set by the writer: */
	enum write_result	 result;
	enum db_rc		 fault;		/* WRITE_FAILED, _UNKNOWN: why
						 * (DB_FULL: the disk is full) */
	int64_t			 group;		/* which group ran it */
	/* Private to writer.c: */
	int			 state;
	struct write_job	*next;
	pthread_cond_t		 done;
};

#define WRITER_LANES_MAX	8
#define WRITER_GATHER_US	300

struct writer_config {
	struct db_config	 db;		/* the write connections' */
	housekeeping_fn		*housekeeping;	/* may be NULL */
	int			 lanes;		/* write connections, each with
						 * its thread: 1 on SQLite */
	int			 gather_us;	/* the longest a group waits for
						 * requests begun: 0 never */
};

struct writer;

/* Starts the writer thread, which opens its own connection. NULL on
 * failure to start the thread. */
struct writer	*writer_start(const struct writer_config *);

/* A writer without a thread: writer_submit runs the job at once in the
 * caller's thread, as a group of one, on db (plain CGI, subcommands). */
struct writer	*writer_inline(struct db *db);

/* Stops the thread after the group it is running: the jobs still queued,
 * and any submitted from now on, get WRITE_BUSY (nothing written). w stays
 * valid for the request threads that may still submit, until
 * writer_free. Nothing to do for a writer without a thread. */
void		 writer_stop(struct writer *);

/* Stops w if it runs, and frees it: only once no thread can submit to it
 * any more. */
void		 writer_free(struct writer *);

/* A request thread's request has begun, and may queue a job; then it
 * has ended. Before it takes its jobs, a group waits up to gather_us for
 * the requests begun that have not queued one yet, so that one commit
 * serves them too. Nothing to do for a writer without a thread, or
 * one that does not gather. */
void		 writer_request_begin(struct writer *);
void		 writer_request_end(struct writer *);

/* Queues job and waits for its group's outcome; gives up after
 * timeout_ms if the job has not started by then. Returns job->result. */
enum write_result writer_submit(struct writer *, struct write_job *,
		    int timeout_ms);

#endif
