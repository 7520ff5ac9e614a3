/* writer.c — the writer threads, their lanes and the queue (writer.h). */
#include <sys/resource.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "writer.h"
#include "writer_group.h"

/* Housekeeping runs at least this often, and when more is left to do,
 * again after this gap while requests keep the writer busy. */
#define HOUSEKEEPING_IDLE_US	1000000
#define HOUSEKEEPING_BUSY_US	50000
#define WRITER_NICE		-10

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

/* One write connection and the thread that runs groups on it. */
struct lane {
	struct writer		*w;
	struct db		*db;
	pthread_t		 thread;
	int			 index;
	int			 housekeeper;	/* it runs the housekeeping */
};

struct writer {
	struct writer_config	 cfg;
	struct lane		 lanes[WRITER_LANES_MAX];
	int			 nlanes;	/* threads; 0: inline */
	_Atomic int64_t		 groups;
	/* Requests begun that have not queued a job yet, and lanes waiting
	 * for them (gather): read outside mu. */
	_Atomic int		 on_way;
	_Atomic int		 gathering;
	pthread_mutex_t		 mu;	/* guards everything below */
	pthread_cond_t		 wake;	/* a job was queued, or stop */
	struct write_job	*head, *tail;
	int			 idle;	/* lanes waiting on wake */
	int			 stop;
};

/* The writer whose writer_request_begin this request thread made, until
 * the request queues its first job or ends. */
static _Thread_local struct writer	*announced;

/* Whether job is for lane l: any lane takes a job without a hint. */
static int
for_lane(const struct lane *l, const struct write_job *job)
{
	return job->lane_hint == 0 || l->w->cfg.lanes <= 1 ||
	    job->lane_hint % (uint32_t)l->w->cfg.lanes == (uint32_t)l->index;
}

static int
has_work(const struct lane *l)
{
	const struct write_job	*j;

	for (j = l->w->head; j != NULL; j = j->next)
		if (for_lane(l, j))
			return 1;
	return 0;
}

/* Takes every queued job for lane l off the queue, in their order. Call
 * with mu held. */
static struct write_job *
take_mine(struct lane *l)
{
	struct writer		*w = l->w;
	struct write_job	*mine = NULL, **end = &mine, **p = &w->head;

	w->tail = NULL;
	while (*p != NULL) {
		if (for_lane(l, *p)) {
			*end = *p;
			*p = (*p)->next;
			(*end)->state = JOB_RUNNING;
			end = &(*end)->next;
		} else {
			w->tail = *p;
			p = &(*p)->next;
		}
	}
	*end = NULL;
	return mine;
}

/* Sorts jobs, a list, by lane hint, keeping the order of equal hints
 * (writer.h): an insertion sort, as a group is a few dozen jobs. */
static struct write_job *
by_hint(struct write_job *jobs)
{
	struct write_job	*sorted = NULL, *j, **p;

	while ((j = jobs) != NULL) {
		jobs = j->next;
		for (p = &sorted; *p != NULL && (*p)->lane_hint <= j->lane_hint;
		    p = &(*p)->next)
			continue;
		j->next = *p;
		*p = j;
	}
	return sorted;
}

/* Takes every queued job off the queue. Call with mu held. */
static struct write_job *
take_all(struct writer *w)
{
	struct write_job	*jobs = w->head, *j;

	for (j = jobs; j != NULL; j = j->next)
		j->state = JOB_RUNNING;
	w->head = w->tail = NULL;
	return jobs;
}

/* Wakes the caller of each job, its result set. A caller may free its
 * job as soon as it sees JOB_DONE, so read next first. */
static void
finish(struct writer *w, struct write_job *jobs)
{
	struct write_job	*j, *next;

	pthread_mutex_lock(&w->mu);
	for (j = jobs; j != NULL; j = next) {
		next = j->next;
		j->state = JOB_DONE;
		pthread_cond_signal(&j->done);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Waits, at most cfg.gather_us, while requests that have begun are still
 * on their way to queue a job: a group that takes them too commits them
 * with the same WAL pages and fsync. Taking only what was queued when the
 * writer woke made groups of three or four jobs at 32 connections on
 * SQLite. Nothing is waited for when nothing else is under way, as with
 * one client. Call with mu held. */
static void
gather(struct writer *w)
{
	struct timespec	 deadline;

	if (w->cfg.gather_us == 0 || atomic_load(&w->on_way) == 0)
		return;
	deadline = cond_deadline(time_monotonic_usec() + w->cfg.gather_us);
	atomic_fetch_add(&w->gathering, 1);
	while (atomic_load(&w->on_way) > 0 && !w->stop &&
	    pthread_cond_timedwait(&w->wake, &w->mu, &deadline) != ETIMEDOUT)
		continue;
	atomic_fetch_sub(&w->gathering, 1);
}

/* Runs one group: begins (waiting for a lock held outside onceshop at
 * most the busy timeout), gathers, takes every job queued by then, runs
 * them and commits. On BUSY the jobs stay queued until their callers give
 * up. */
static void
group(struct lane *l)
{
	struct writer		*w = l->w;
	struct write_job	*jobs;
	enum db_rc		 rc = DB_ERROR;

	if ((l->db != NULL || (l->db = db_open(&w->cfg.db, DB_SERVE)) != NULL) &&
	    (rc = db_tx(l->db, STMT_BEGIN_IMMEDIATE)) == DB_BUSY)
		return;
	pthread_mutex_lock(&w->mu);
	gather(w);
	jobs = take_mine(l);
	pthread_mutex_unlock(&w->mu);
	/* Running jobs are the writer's alone: no lock to reorder them. */
	jobs = by_hint(jobs);
	group_run(l->db, jobs, rc, &l->w->groups);
	finish(w, jobs);
}

/* Runs the housekeeping once in its own transaction. Returns 1 if it has
 * more to do. */
static int
housekeep(struct lane *l)
{
	int	 more;

	if (l->db == NULL || db_tx(l->db, STMT_BEGIN_IMMEDIATE) != DB_DONE)
		return 0;
	if ((more = l->w->cfg.housekeeping(l->db, time(NULL))) == -1 ||
	    db_tx_lost(l->db)) {
		db_tx(l->db, STMT_ROLLBACK);
		return 0;
	}
	return db_tx(l->db, STMT_COMMIT) == DB_DONE && more;
}

static void *
writer_main(void *arg)
{
	struct lane	*l = arg;
	struct writer	*w = l->w;
	struct timespec	 ts;
	int64_t		 next = 0;	/* next housekeeping, monotonic */
	int		 more, hk = l->housekeeper && w->cfg.housekeeping;

	/* Every write waits for this one thread: let the kernel run it
	 * before the request threads when both are ready (works as root;
	 * otherwise the writer keeps the default priority). */
	setpriority(PRIO_PROCESS, (id_t)gettid(), WRITER_NICE);

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!has_work(l) && !w->stop) {
			if (hk && time_monotonic_usec() >= next) {
				pthread_mutex_unlock(&w->mu);
				more = housekeep(l);
				next = more ? 0 :
				    time_monotonic_usec() + HOUSEKEEPING_IDLE_US;
				pthread_mutex_lock(&w->mu);
				continue;
			}
			w->idle++;
			ts = cond_deadline(next);
			if (hk)
				pthread_cond_timedwait(&w->wake, &w->mu, &ts);
			else
				pthread_cond_wait(&w->wake, &w->mu);
			w->idle--;
		}
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		group(l);
		if (hk && time_monotonic_usec() >= next) {
			more = housekeep(l);
			next = time_monotonic_usec() + (more ?
			    HOUSEKEEPING_BUSY_US : HOUSEKEEPING_IDLE_US);
		}
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct writer *
writer_start(const struct writer_config *cfg)
{
	struct writer	*w = xmalloc(sizeof(*w));
	struct lane	*l;

	memset(w, 0, sizeof(*w));
	w->cfg = *cfg;
	if (w->cfg.lanes > WRITER_LANES_MAX)
		w->cfg.lanes = WRITER_LANES_MAX;
	pthread_mutex_init(&w->mu, NULL);
	cond_init_monotonic(&w->wake);
	for (; w->nlanes < w->cfg.lanes; w->nlanes++) {
		l = &w->lanes[w->nlanes];
		l->w = w;
		l->index = w->nlanes;
		l->housekeeper = w->nlanes == 0;
		/* Open now, to say early when the database is not there;
		 * the thread retries before each group while it is
		 * missing. */
		l->db = db_open(&cfg->db, DB_SERVE);
		if (pthread_create(&l->thread, NULL, writer_main, l) != 0) {
			log_error("writer: cannot start its thread");
			db_close(l->db);
			writer_free(w);
			return NULL;
		}
	}
	return w;
}

struct writer *
writer_inline(struct db *db)
{
	struct writer	*w = xmalloc(sizeof(*w));

	memset(w, 0, sizeof(*w));
	w->lanes[0] = (struct lane){ .w = w, .db = db };
	pthread_mutex_init(&w->mu, NULL);
	return w;
}

void
writer_stop(struct writer *w)
{
	struct write_job	*jobs;
	int			 i;

	if (w == NULL || w->nlanes == 0)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->stop) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->stop = 1;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nlanes; i++)
		pthread_join(w->lanes[i].thread, NULL);
	pthread_mutex_lock(&w->mu);
	jobs = take_all(w);
	pthread_mutex_unlock(&w->mu);
	group_set_all(jobs, WRITE_BUSY, DB_BUSY);
	finish(w, jobs);
	for (i = 0; i < w->nlanes; i++) {
		db_close(w->lanes[i].db);
		w->lanes[i].db = NULL;
	}
}

void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	writer_stop(w);
	if (w->nlanes > 0)
		pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Removes job from the queue. Call with mu held. */
static void
unlink_job(struct writer *w, struct write_job *job)
{
	struct write_job	**p, *prev = NULL;

	for (p = &w->head; *p != NULL; prev = *p, p = &(*p)->next)
		if (*p == job) {
			*p = job->next;
			if (w->tail == job)
				w->tail = prev;
			return;
		}
}

/* The request this thread serves is no longer on its way to queue a job.
 * Returns 1 when it was the last one and a lane gathers: wake it. */
static int
arrived(struct writer *w)
{
	if (announced != w)
		return 0;
	announced = NULL;
	return atomic_fetch_sub(&w->on_way, 1) == 1 &&
	    atomic_load(&w->gathering) > 0;
}

void
writer_request_begin(struct writer *w)
{
	if (w == NULL || w->nlanes == 0 || w->cfg.gather_us == 0)
		return;
	announced = w;
	atomic_fetch_add(&w->on_way, 1);
}

void
writer_request_end(struct writer *w)
{
	if (w != NULL && arrived(w)) {
		pthread_mutex_lock(&w->mu);
		pthread_cond_broadcast(&w->wake);
		pthread_mutex_unlock(&w->mu);
	}
}

/* Runs job at once on w's connection, as a group of one. */
static enum write_result
run_inline(struct writer *w, struct write_job *job)
{
	group_run(w->lanes[0].db, job, db_tx(w->lanes[0].db,
	    STMT_BEGIN_IMMEDIATE), &w->groups);
	return job->result;
}

enum write_result
writer_submit(struct writer *w, struct write_job *job, int timeout_ms)
{
	struct timespec	 deadline;

	job->next = NULL;
	job->group = 0;
	if (w->nlanes == 0)
		return run_inline(w, job);

	deadline = cond_deadline(time_monotonic_usec() +
	    (int64_t)timeout_ms * 1000);
	pthread_mutex_lock(&w->mu);
	if (w->stop) {		/* the process is ending */
		pthread_mutex_unlock(&w->mu);
		job->fault = DB_BUSY;
		return job->result = WRITE_BUSY;
	}
	cond_init_monotonic(&job->done);
	job->state = JOB_QUEUED;
	if (w->tail != NULL)
		w->tail->next = job;
	else
		w->head = job;
	w->tail = job;
	/* Every idle lane looks: the job may be for one lane only. A
	 * gathering lane looks once nothing else is on its way. */
	if (arrived(w) || w->idle > 0)
		pthread_cond_broadcast(&w->wake);
	while (job->state != JOB_DONE) {
		if (job->state == JOB_RUNNING) {
			/* Started: its outcome comes within one group. */
			pthread_cond_wait(&job->done, &w->mu);
			continue;
		}
		if (pthread_cond_timedwait(&job->done, &w->mu, &deadline) ==
		    ETIMEDOUT && job->state == JOB_QUEUED) {
			/* Never started: nothing was written for it. */
			unlink_job(w, job);
			job->result = WRITE_BUSY;
			job->fault = DB_BUSY;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	pthread_cond_destroy(&job->done);
	return job->result;
}
