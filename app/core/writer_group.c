/* writer_group.c — one group of the writer (writer.h): its jobs under
 * savepoints in one transaction, one COMMIT, and the whole group again
 * after a deadlock or a serialization failure. */
#include <stdatomic.h>

#include "log.h"
#include "writer_group.h"

#define RETRIES_MAX		5	/* runs of a group, after deadlocks */

void
group_set_all(struct write_job *jobs, enum write_result r, enum db_rc fault)
{
	struct write_job	*j;

	for (j = jobs; j != NULL; j = j->next) {
		j->result = r;
		j->fault = fault;
	}
}

/* How run_group ended. */
enum group_end {
	GROUP_DONE,	/* every job has its result */
	GROUP_AGAIN,	/* a deadlock: all rolled back, to be run again */
};

/* Runs jobs, a list, inside the transaction db has just begun, each under
 * its own savepoint, then commits, and sets each job's result and fault.
 * A job that meets a deadlock or a serialization failure (PostgreSQL)
 * rolls the whole group back: the locks its earlier jobs took may be what
 * the other side waits for. */
static enum group_end
run_group(struct db *db, struct write_job *jobs, int64_t group)
{
	struct write_job	*j;
	enum write_result	 outcome;
	enum db_rc		 fault = DB_DONE, rc;

	db_take_error(db);
	for (j = jobs; j != NULL; j = j->next) {
		j->group = group;
		j->result = WRITE_COMMITTED;
		j->fault = DB_DONE;
		if (db_tx(db, STMT_SAVEPOINT_JOB) != DB_DONE)
			goto fail;
		if (j->run(db, j->arg) == -1) {
			j->result = WRITE_UNDONE;
			fault = j->fault = db_take_error(db);
			if (fault == DB_RETRY)
				goto again;
			/* A statement may have made the engine roll back
			 * everything: then nothing of the group is left. */
			if (db_tx_lost(db) ||
			    db_tx(db, STMT_ROLLBACK_TO_JOB) != DB_DONE)
				goto fail;
			/* A lock not granted within the busy timeout
			 * (PostgreSQL): nothing was written for it. */
			if (fault == DB_BUSY)
				j->result = WRITE_BUSY;
		}
		if (db_tx_lost(db) || db_tx(db, STMT_RELEASE_JOB) != DB_DONE)
			goto fail;
		db_take_error(db);	/* what a job handled is not a fault */
		/* The jobs after it would most likely wait as long, each in
		 * turn: they are not run (nothing written), so that no
		 * answer waits much more than one busy timeout. */
		if (j->result == WRITE_BUSY) {
			group_set_all(j->next, WRITE_BUSY, DB_BUSY);
			break;
		}
	}
	outcome = db_tx(db, STMT_COMMIT) == DB_DONE ? WRITE_COMMITTED :
	    WRITE_UNKNOWN;
	if ((fault = db_take_error(db)) == DB_RETRY)
		goto again;	/* nothing was committed */
	for (j = jobs; j != NULL; j = j->next)
		if (j->result == WRITE_COMMITTED) {
			j->result = outcome;
			j->fault = fault;
		}
	return GROUP_DONE;
fail:
	/* A deadlock met by a savepoint statement, or a write deferred by
	 * an ended job that failed (db.h, stmt_exec_later). */
	if ((rc = db_take_error(db)) == DB_RETRY)
		goto again;
	log_error("writer: group %lld rolled back", (long long)group);
	if (rc == DB_FULL || rc == DB_GONE)
		fault = rc;
	db_tx(db, STMT_ROLLBACK);
	group_set_all(jobs, WRITE_FAILED, fault);
	return GROUP_DONE;
again:
	db_tx(db, STMT_ROLLBACK);
	return GROUP_AGAIN;
}

void
group_run(struct db *db, struct write_job *jobs, enum db_rc rc,
    _Atomic int64_t *groups)
{
	int	 attempt;

	for (attempt = 1; ; attempt++) {
		if (rc != DB_DONE) {
			group_set_all(jobs, rc == DB_BUSY || rc == DB_GONE ?
			    WRITE_BUSY : WRITE_FAILED, rc);
			return;
		}
		if (run_group(db, jobs, ++*groups) == GROUP_DONE)
			return;
		if (attempt == RETRIES_MAX) {
			group_set_all(jobs, WRITE_BUSY, DB_BUSY);
			return;
		}
		rc = db_tx(db, STMT_BEGIN_IMMEDIATE);
	}
}

