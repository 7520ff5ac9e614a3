/* shared.c — one read's answer for the requests that wait for it together
 * (shared.h). */
#include "shared.h"

static void
copy(struct buf *to, const struct buf *from)
{
	buf_reset(to);
	buf_append(to, from->data, from->len);
}

/* Copies the kept answer of s into res. s is locked. */
static void
take(const struct shared_answer *s, struct response *res)
{
	res->status = s->status;
	copy(&res->headers, &s->headers);
	copy(&res->body, &s->body);
}

/* Keeps res, the answer of read number n, in s. s is locked. */
static void
keep(struct shared_answer *s, uint64_t n, const struct response *res)
{
	s->ended = n;
	s->ok = res->status >= 200 && res->status < 300;
	s->status = res->status;
	copy(&s->headers, &res->headers);
	copy(&s->body, &res->body);
}

void
shared_answer(struct shared_answer *s,
    void (*fill)(void *arg, struct response *res), void *arg,
    struct response *res)
{
	uint64_t	 need, mine;

	pthread_mutex_lock(&s->lock);
	/* A read under way may have begun before this request arrived: its
	 * answer could miss a commit this request's client has seen. */
	need = s->begun + 1;
	while (s->ended < need && s->running)
		pthread_cond_wait(&s->done, &s->lock);
	if (s->ended >= need) {
		if (s->ok) {
			take(s, res);
			pthread_mutex_unlock(&s->lock);
			return;
		}
		pthread_mutex_unlock(&s->lock);
		fill(arg, res);		/* a failure: this request's own */
		return;
	}
	/* None under way and none recent enough: this request reads, for
	 * itself and for those that arrive meanwhile. */
	s->running = 1;
	mine = ++s->begun;
	pthread_mutex_unlock(&s->lock);

	fill(arg, res);

	pthread_mutex_lock(&s->lock);
	keep(s, mine, res);
	s->running = 0;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->lock);
}
