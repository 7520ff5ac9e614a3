/* writer_group.h — how the writer (writer.c) runs one group. Private to
 * the writer. */
#ifndef ONCESHOP_WRITER_GROUP_H
#define ONCESHOP_WRITER_GROUP_H

#include <stdint.h>

#include "writer.h"

/* Sets the result and fault of every job in jobs, a list. */
void	 group_set_all(struct write_job *jobs, enum write_result,
	     enum db_rc fault);

/* Runs jobs in the transaction on db whose BEGIN gave rc, each under its
 * own savepoint, then commits, numbering the group from *groups; again
 * from a new BEGIN after a deadlock or serialization failure (the locks
 * its earlier jobs took may be what the other side waits for),
 * RETRIES_MAX times at most, then WRITE_BUSY. Sets each job's result. A
 * BEGIN that waited out the busy timeout, or found the server gone,
 * leaves nothing written: WRITE_BUSY. */
void	 group_run(struct db *db, struct write_job *jobs, enum db_rc rc,
	     _Atomic int64_t *groups);

#endif
