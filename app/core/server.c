/* server.c — the request threads, the FastCGI accept loop and the plain
 * CGI request (see server.h). */
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "auth.h"
#include "http.h"
#include "log.h"
#include "completer.h"
#include "server.h"

extern char	**environ;

/* Sleeps ms milliseconds, resuming after a signal. */
static void
sleep_ms(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/* Ends a FastCGI request: reads what is left of its input, then closes
 * its streams, which sends what was written. Returns 0, or -1 when that
 * could not be sent (the client, or lighttpd, was gone). libfcgi's own
 * close waits, in poll(), for lighttpd to hang up first (a measured fifth
 * of a request thread's time); closing at once is as safe. */
static int
finish(FCGX_Request *r)
{
	char	 trash[4096];
	int	 rc;

	while (FCGX_GetStr(trash, sizeof(trash), r->in) > 0)
		continue;
	/* err first: closing out first would cost another write. */
	FCGX_FClose(r->err);
	rc = FCGX_FClose(r->out) == 0 ? 0 : -1;
	FCGX_Detach(r);		/* the next close is a plain close(2) */
	FCGX_Finish_r(r);
	return rc;
}

/* Reads, answers, ends and logs one request on db, writing through w. r
 * is NULL for plain CGI. */
static void
serve_one(const struct api *api, struct db *db, struct writer *w,
    char **envp, FCGX_Request *r)
{
	struct request	 req;
	struct response	 res;

	memset(&res, 0, sizeof(res));
	if (http_read(&req, envp, r ? r->in : NULL) == -1)
		http_problem(&res, &problem_invalid_body, "The body is shorter "
		    "than its Content-Length, or the length is malformed.");
	else
		router_dispatch(api, db, w, &req, &res);
	/* An answer held on purpose (res.delay_ms, only ever set on one
	 * whose job committed) waits here, in this request thread: the
	 * writer and every other request go on meanwhile. */
	if (res.delay_ms > 0)
		sleep_ms(res.delay_ms);
	http_write(&req, &res, r ? r->out : NULL);
	/* What is stored stays stored: a retry with the key gets it. */
	res.unsent = r ? finish(r) == -1 : ferror(stdout) != 0;
	log_request(&req, &res);
	http_request_free(&req);
	http_response_free(&res);
}

/* Gives the calling thread the C locale's own object. json-c's parser
 * switches to the C locale around every parse (duplocale, newlocale,
 * freelocale), and from the process's global locale each of those takes
 * glibc's one process-wide locale lock for writing: request threads
 * parsing bodies at once queued on it (a measured 6 % of onceshop's time
 * under new orders). From this object the same calls take no lock. The
 * process never leaves the C locale, so nothing else changes. */
static void
use_c_locale(void)
{
	locale_t	 c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

	if (c != (locale_t)0)
		uselocale(c);
}

struct server {
	const struct server_config	*config;
	struct writer			*writer;
};

/* A request thread: accepts FastCGI requests one at a time and answers
 * them with its own connection for reads, writing through the writer. */
static void *
request_thread(void *arg)
{
	struct server			*s = arg;
	const struct server_config	*c = s->config;
	struct db			*db = NULL;
	FCGX_Request		 r;

	use_c_locale();
	FCGX_InitRequest(&r, 0, 0);
	for (;;) {
		/* No lock around accept(): Linux wakes one waiting thread
		 * per connection, and a lock would add a hand-off to each. */
		if (FCGX_Accept_r(&r) < 0)
			break;
		/* Opened on first use, and again after a failure: a
		 * database that comes back is used again. */
		if (db == NULL)
			db = db_open(&c->db, DB_READ);
		writer_request_begin(s->writer);
		serve_one(c->api, db, s->writer, r.envp, &r);
		writer_request_end(s->writer);
		auth_refresh(db);
	}
	db_close(db);
	return NULL;
}

/* The maintenance thread: every complete_ms, the completer resumes the
 * processing keys whose lease ran out (completer.h). */
static void *
maintenance_thread(void *arg)
{
	struct server			*s = arg;
	const struct server_config	*c = s->config;
	struct db			*db = NULL;
	int64_t				 next_complete = 0;
	long				 finished;
	int				 rc, tick_ms = 1000;

	use_c_locale();
	if (c->complete_ms > 0 && c->complete_ms < tick_ms)
		tick_ms = c->complete_ms;
	for (;;) {
		sleep_ms(tick_ms);
		if (db == NULL && (db = db_open(&c->db, DB_READ)) == NULL)
			continue;
		rc = 0;
		if (c->complete_ms > 0 && time_usec() >= next_complete) {
			next_complete = time_usec() + c->complete_ms * 1000LL;
			rc = completer_run(c->api, db, s->writer, 100, &finished);
		}
		if (rc == -1) {
			db_close(db);	/* again next time */
			db = NULL;
		}
	}
	return NULL;
}

int
server_run(const struct server_config *c)
{
	/* A group gathers (writer.h) on SQLite, where its commit is most of
	 * a write's cost; PostgreSQL's writers spend their time in round
	 * trips instead, and waiting there made fewer orders, not more. */
	struct writer_config	 wc = { c->db, c->housekeeping,
	    db_shared(&c->db) ? c->writers : 1,
	    db_shared(&c->db) ? 0 : WRITER_GATHER_US };
	struct server		 s = { c, NULL };
	struct writer		*w = NULL;
	struct db		*db;
	pthread_t		 thread;
	sigset_t		 stop;
	long			 i;
	int			 sig;

	if (router_check(c->api) == -1)
		return 1;
	db_init();
	if (FCGX_IsCGI()) {
		/* One request, one connection, no threads. */
		if ((db = db_open(&c->db, DB_SERVE)) != NULL)
			w = writer_inline(db);
		serve_one(c->api, db, w, environ, NULL);
		writer_free(w);
		db_close(db);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);	/* a client gone is an error, not death */
	/* Freed memory stays in the process: glibc's trimming of thread
	 * arenas costs an madvise and a TLB shootdown on every core, a
	 * measured few percent of all time under load. */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	/* The stop signals go to the main thread alone, which waits for
	 * them below; libfcgi's own handlers would only set a flag that
	 * threads blocked in accept() never see. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR1);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if (FCGX_Init() != 0 || (s.writer = writer_start(&wc)) == NULL) {
		log_error("cannot initialise FastCGI or the writer");
		return 1;
	}
	for (i = 0; i < c->threads; i++)
		if (pthread_create(&thread, NULL, request_thread, &s) != 0 ||
		    pthread_detach(thread) != 0) {
			log_error("cannot start request thread %ld", i);
			return 1;
		}
	if (c->complete_ms > 0 &&
	    (pthread_create(&thread, NULL, maintenance_thread, &s) != 0 ||
	    pthread_detach(thread) != 0)) {
		log_error("cannot start the maintenance thread");
		return 1;
	}
	sigwait(&stop, &sig);
	/* Let the group being written finish; requests still in flight are
	 * cut off, as in a crash, and their clients retry with their keys.
	 * The writer is not freed: request threads may still submit to it
	 * (and get WRITE_BUSY) until the process ends, right below. */
	writer_stop(s.writer);
	log_note("stopped (%s)", sigabbrev_np(sig));
	_exit(0);
}
