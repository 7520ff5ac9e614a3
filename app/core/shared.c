/* shared.c — one read's answer for the requests that wait for it together
 * (shared.h).
 *
 * A request that finds no read under way reads. One that finds a read under
 * way cannot take its answer (it began before the request arrived), so it
 * waits for the read after it: it joins s->next. When a read ends, its
 * reader hands its answer to each request of s->current, wakes the first of
 * s->next to begin the next read, and the rest of s->next wait for that
 * read's answer. Each waiting request is woken once, by its own semaphore,
 * and copies the answer without taking the lock again. */
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "shared.h"

/* One read's answer, kept while the requests it is handed to copy it. */
struct shared_copy {
	atomic_int	 refs;
	int		 status;
	struct buf	 headers;
	struct buf	 body;
};

struct shared_waiter {
	sem_t			 woken;
	int			 begin;	/* woken to begin the next read */
	struct shared_copy	*copy;	/* else its answer; NULL: read alone */
	struct shared_waiter	*next;
};

static void
copy(struct buf *to, const struct buf *from)
{
	buf_reset(to);
	buf_append(to, from->data, from->len);
}

/* A copy of res to hand out, or NULL if res is not a 2xx. */
static struct shared_copy *
copy_of(const struct response *res)
{
	struct shared_copy	*c;

	if (res->status < 200 || res->status >= 300)
		return NULL;
	c = xmalloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	atomic_init(&c->refs, 1);
	c->status = res->status;
	copy(&c->headers, &res->headers);
	copy(&c->body, &res->body);
	return c;
}

static void
release(struct shared_copy *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) > 1)
		return;
	buf_free(&c->headers);
	buf_free(&c->body);
	free(c);
}

/* Reads for the requests of s->current, with those that arrive meanwhile
 * waiting in s->next, then hands the answer out. s->running is set. */
static void
read_for_all(struct shared_answer *s,
    void (*fill)(void *arg, struct response *res), void *arg,
    struct response *res)
{
	struct shared_waiter	*w, *handed, *starter;
	struct shared_copy	*c;

	fill(arg, res);

	pthread_mutex_lock(&s->lock);
	handed = s->current;
	if ((starter = s->next) != NULL) {
		s->current = starter->next;
		s->next = NULL;
	} else {
		s->current = NULL;
		s->running = 0;
	}
	pthread_mutex_unlock(&s->lock);

	c = handed != NULL ? copy_of(res) : NULL;	/* none to hand out */
	/* w->next is read before the post: a woken request's waiter, on its
	 * stack, may be gone as soon as it is posted. */
	while ((w = handed) != NULL) {
		handed = w->next;
		if ((w->copy = c) != NULL)
			atomic_fetch_add(&c->refs, 1);
		sem_post(&w->woken);
	}
	if (starter != NULL) {
		starter->begin = 1;
		sem_post(&starter->woken);
	}
	release(c);
}

void
shared_answer(struct shared_answer *s,
    void (*fill)(void *arg, struct response *res), void *arg,
    struct response *res)
{
	struct shared_waiter	 me = { 0 };

	pthread_mutex_lock(&s->lock);
	if (!s->running) {
		s->running = 1;
		pthread_mutex_unlock(&s->lock);
		read_for_all(s, fill, arg, res);
		return;
	}
	sem_init(&me.woken, 0, 0);
	me.next = s->next;
	s->next = &me;
	pthread_mutex_unlock(&s->lock);

	while (sem_wait(&me.woken) == -1)
		;			/* EINTR */
	sem_destroy(&me.woken);
	if (me.begin)
		read_for_all(s, fill, arg, res);
	else if (me.copy == NULL)
		fill(arg, res);		/* a failure: this request's own */
	else {
		res->status = me.copy->status;
		copy(&res->headers, &me.copy->headers);
		copy(&res->body, &me.copy->body);
		release(me.copy);
	}
}
