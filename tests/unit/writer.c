/* writer.c — unit tests, in TAP, of the writer (writer.c,
 * writer_group.c) on a SQLite database of its own: its lanes, a group
 * that waits for the requests under way, and writer_stop under load; and
 * unit_writer_start, the writer the token cache's test uses too. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "db.h"
#include "shop.h"
#include "util.h"
#include "writer.h"

#include "unit.h"

/* A writer with lanes write connections on a new SQLite database in a
 * temporary directory of its own, for the test named what (struct
 * unit_writer, in unit.h). */
struct writer *
unit_writer_start(struct unit_writer *u, int lanes, int gather_us,
    const char *what)
{
	struct writer	*w = NULL;
	struct db	*db;

	snprintf(u->dir, sizeof(u->dir), "/tmp/onceshop-unit-XXXXXX");
	if (mkdtemp(u->dir) == NULL) {
		ok(0, "%s: a temporary directory", what);
		return NULL;
	}
	snprintf(u->db_path, sizeof(u->db_path), "%s/unit.db", u->dir);
	u->wc = (struct writer_config){ { u->db_path, NULL, &shop_schema, 0,
	    5000 }, NULL, lanes, gather_us };
	db = db_open(&u->wc.db, DB_MIGRATE);
	if (ok(db != NULL && db_migrate(db, getenv("ONCESHOP_SCHEMA") ?
	    getenv("ONCESHOP_SCHEMA") : "schema", 0) == 0,
	    "%s: a database to write to", what) &&
	    (w = writer_start(&u->wc)) == NULL)
		ok(0, "%s: the writer starts", what);
	db_close(db);
	return w;
}

void
unit_writer_free(struct unit_writer *u, struct writer *w)
{
	char	 rm[64];

	writer_free(w);
	snprintf(rm, sizeof(rm), "rm -rf %s", u->dir);
	if (system(rm) != 0)
		ok(0, "the temporary directory %s is removed", u->dir);
}

/* A job that takes a little while, so that others queue behind it. */
static int
slow_job(struct db *db, void *arg)
{
	(void)db;
	(void)arg;
	usleep(2000);
	return 0;
}

struct submitter {
	struct writer	*w;
	int		 answered, other;	/* COMMITTED or BUSY; else */
};

/* Submits 40 slow jobs, one after the other, counting the answers. */
static void *
submit_many(void *arg)
{
	struct submitter	*s = arg;
	struct write_job	 job = { .run = slow_job };
	enum write_result	 r;
	int			 i;

	for (i = 0; i < 40; i++) {
		r = writer_submit(s->w, &job, 5000);
		if (r == WRITE_COMMITTED || r == WRITE_BUSY)
			s->answered++;
		else
			s->other++;
	}
	return NULL;
}

/* writer_stop while threads wait in writer_submit, as when the server is
 * told to stop under load: each of their jobs is answered (committed, or
 * WRITE_BUSY if it never ran), and jobs submitted after the stop are
 * WRITE_BUSY at once. (It freed the writer under them: make asan.) */
void
test_writer_stop(void)
{
	struct unit_writer	 u;
	struct submitter	 s[8];
	pthread_t		 t[8];
	struct write_job	 job = { .run = slow_job };
	struct writer		*w;
	int			 i, answered = 0, other = 0;

	if ((w = unit_writer_start(&u, 1, 0, "writer_stop")) == NULL)
		return;
	for (i = 0; i < 8; i++) {
		s[i] = (struct submitter){ w, 0, 0 };
		pthread_create(&t[i], NULL, submit_many, &s[i]);
	}
	usleep(30000);
	writer_stop(w);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		answered += s[i].answered;
		other += s[i].other;
	}
	ok(answered == 8 * 40 && other == 0, "writer_stop under load: every "
	    "job answered, committed or WRITE_BUSY (%d of %d, %d other)",
	    answered, 8 * 40, other);
	ok(writer_submit(w, &job, 5000) == WRITE_BUSY,
	    "writer_stop: a job submitted after the stop is WRITE_BUSY at once");
	unit_writer_free(&u, w);
}

/* Lanes: jobs with the same lane hint run on the same write connection's
 * thread, and hints of different lanes on different ones. Three lanes
 * (on SQLite they take its one write lock in turn), six hints: 1 and 4,
 * 2 and 5, 3 and 6 share a lane. */
struct hinted {
	struct writer	*w;
	uint32_t	 hint;
	pthread_t	 ran_on[20];
	int		 results;	/* WRITE_COMMITTED */
};

static int
note_thread(struct db *db, void *arg)
{
	(void)db;
	*(pthread_t *)arg = pthread_self();
	return 0;
}

static void *
submit_hinted(void *arg)
{
	struct hinted		*h = arg;
	struct write_job	 job;
	int			 i;

	for (i = 0; i < 20; i++) {
		job = (struct write_job){ .run = note_thread,
		    .arg = &h->ran_on[i], .lane_hint = h->hint };
		h->results += writer_submit(h->w, &job, 5000) ==
		    WRITE_COMMITTED;
	}
	return NULL;
}

void
test_writer_lanes(void)
{
	struct unit_writer	 u;
	struct hinted		 h[6];
	pthread_t		 t[6];
	struct writer		*w;
	int			 i, k, same = 1, committed = 0;

	if ((w = unit_writer_start(&u, 3, 0, "writer lanes")) == NULL)
		return;
	for (i = 0; i < 6; i++) {
		h[i] = (struct hinted){ .w = w, .hint = (uint32_t)i + 1 };
		pthread_create(&t[i], NULL, submit_hinted, &h[i]);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		committed += h[i].results;
		for (k = 1; k < 20; k++)
			same &= pthread_equal(h[i].ran_on[k], h[i].ran_on[0]) != 0;
	}
	ok(committed == 120 && same, "writer lanes: each hint's 20 jobs ran on "
	    "one lane's thread (%d of 120 committed)", committed);
	ok(pthread_equal(h[0].ran_on[0], h[3].ran_on[0]) &&
	    pthread_equal(h[1].ran_on[0], h[4].ran_on[0]) &&
	    !pthread_equal(h[0].ran_on[0], h[1].ran_on[0]) &&
	    !pthread_equal(h[1].ran_on[0], h[2].ran_on[0]) &&
	    !pthread_equal(h[0].ran_on[0], h[2].ran_on[0]),
	    "writer lanes: hints of one lane share its thread, three lanes "
	    "three threads");
	unit_writer_free(&u, w);
}

/* A request of its own thread: begins, queues a job, ends; how long
 * writer_submit took is noted. */
struct one_request {
	struct writer		*w;
	struct write_job	 job;
	int64_t			 waited_us;
};

static void *
run_request(void *arg)
{
	struct one_request	*r = arg;
	int64_t			 t0 = time_monotonic_usec();

	writer_request_begin(r->w);
	r->job = (struct write_job){ .run = note_thread, .arg = &(pthread_t){0} };
	writer_submit(r->w, &r->job, 10000);
	r->waited_us = time_monotonic_usec() - t0;
	writer_request_end(r->w);
	return NULL;
}

/* A group waits for the requests begun that have not queued a job yet,
 * so that one commit serves them too; not for one that ended without a
 * job, nor when nothing else is under way. The wait may be 5 s here, so
 * that each case is plain: this thread is the request on its way, and
 * acts 100 ms after the other's job is queued. */
void
test_writer_gather(void)
{
	struct unit_writer	 u;
	struct one_request	 other;
	struct write_job	 mine = { .run = note_thread, .arg = &(pthread_t){0} };
	struct writer		*w;
	pthread_t		 t;

	if ((w = unit_writer_start(&u, 1, 5000000, "writer gather")) == NULL)
		return;
	other = (struct one_request){ .w = w };
	pthread_create(&t, NULL, run_request, &other);
	pthread_join(t, NULL);
	ok(other.job.result == WRITE_COMMITTED && other.waited_us < 2500000,
	    "writer gather: a job with nothing else under way is not held "
	    "(%lld ms)", (long long)other.waited_us / 1000);

	writer_request_begin(w);
	pthread_create(&t, NULL, run_request, &other);
	usleep(100000);
	writer_submit(w, &mine, 10000);
	writer_request_end(w);
	pthread_join(t, NULL);
	ok(mine.result == WRITE_COMMITTED && mine.group == other.job.group,
	    "writer gather: a job queued 100 ms after another, by a request "
	    "begun before, commits in its group (groups %lld and %lld)",
	    (long long)other.job.group, (long long)mine.group);

	writer_request_begin(w);
	pthread_create(&t, NULL, run_request, &other);
	usleep(100000);
	writer_request_end(w);
	pthread_join(t, NULL);
	ok(other.job.result == WRITE_COMMITTED &&
	    other.waited_us >= 90000 && other.waited_us < 2500000,
	    "writer gather: a group waits for a request under way until it "
	    "ends without a job (%lld ms)", (long long)other.waited_us / 1000);
	unit_writer_free(&u, w);
}
