/* shared.h — an answer that is the same for every request (the
 * catalogue), read once for all the requests that wait for it together,
 * as the writer commits a group in one transaction. A request is given
 * the answer of a read that began after it arrived, never an earlier one:
 * whatever was committed before it arrived is in its answer, as if it had
 * read alone. Under load, one read then answers many requests; with one
 * request at a time, each reads for itself. */
#ifndef ONCESHOP_SHARED_H
#define ONCESHOP_SHARED_H

#include <pthread.h>

#include "http.h"

struct shared_waiter;

struct shared_answer {
	pthread_mutex_t		 lock;
	int			 running;	/* a read is under way */
	struct shared_waiter	*current;	/* wait for its answer */
	struct shared_waiter	*next;		/* wait for the read after it */
};

#define SHARED_ANSWER_INIT { .lock = PTHREAD_MUTEX_INITIALIZER }

/* Sets res to s's answer: fill(arg, res)'s from this request's own read,
 * or a copy of one that began after this request arrived. An answer that
 * is not a 2xx is not shared: each request that waited for it reads for
 * itself (a failure's problem names its own request). */
void	 shared_answer(struct shared_answer *s,
	     void (*fill)(void *arg, struct response *res), void *arg,
	     struct response *res);

#endif
