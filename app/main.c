/* main.c — the onceshop binary: subcommands (init, user add, sweep,
 * --version) and the request loop, FastCGI or, without a FastCGI socket on
 * stdin, one plain CGI request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "auth.h"
#include "db.h"
#include "http.h"
#include "idempotency.h"
#include "log.h"
#include "router.h"
#include "writer.h"

#define VERSION		"0.2.0"
/* Request threads: enough that a group can hold every request in flight at
 * the usual concurrency (see README, "Worker model"); 64 measured slower
 * here than 16 to 32 (more threads, colder caches). */
#define THREADS_DEFAULT	32

extern char	**environ;

struct config {
	const char	*db_path;
	const char	*schema_dir;
	long		 ttl;
	long		 busy_ms;
	long		 threads;
	int		 sync_full;
};

/* Reads the ONCESHOP_* environment. Returns 0, or -1 after saying which
 * variable is wrong. */
static int
config_read(struct config *c)
{
	const char	*sync = getenv("ONCESHOP_SYNC");

	c->db_path = getenv("ONCESHOP_DB");
	if (c->db_path == NULL || *c->db_path == '\0')
		c->db_path = "onceshop.db";
	c->schema_dir = getenv("ONCESHOP_SCHEMA");
	if (c->schema_dir == NULL || *c->schema_dir == '\0')
		c->schema_dir = "schema";
	c->ttl = env_long("ONCESHOP_IDEMPOTENCY_TTL", IDEM_TTL_DEFAULT, 1,
	    10L * 365 * 86400);
	c->busy_ms = env_long("ONCESHOP_BUSY_TIMEOUT_MS", 5000, 0, 600000);
	c->threads = env_long("ONCESHOP_THREADS", THREADS_DEFAULT, 1, 1024);
	c->sync_full = sync == NULL || *sync == '\0' ||
	    strcmp(sync, "full") == 0;
	if (c->ttl == -1) {
		fprintf(stderr, "onceshop: ONCESHOP_IDEMPOTENCY_TTL must be "
		    "seconds, 1 or more\n");
		return -1;
	}
	if (c->busy_ms == -1) {
		fprintf(stderr, "onceshop: ONCESHOP_BUSY_TIMEOUT_MS must be "
		    "0 to 600000\n");
		return -1;
	}
	if (c->threads == -1) {
		fprintf(stderr, "onceshop: ONCESHOP_THREADS must be 1 to 1024\n");
		return -1;
	}
	if (!c->sync_full && strcmp(sync, "normal") != 0) {
		fprintf(stderr, "onceshop: ONCESHOP_SYNC must be full or normal\n");
		return -1;
	}
	return 0;
}

/* Reads, answers and logs one request on db, writing through w. in and
 * out are NULL for plain CGI. */
static void
serve_one(struct db *db, struct writer *w, char **envp, FCGX_Stream *in,
    FCGX_Stream *out)
{
	struct request	 req;
	struct response	 res;

	memset(&res, 0, sizeof(res));
	if (http_read(&req, envp, in) == -1)
		http_problem(&res, PROBLEM_INVALID_BODY, "The body is shorter "
		    "than its Content-Length, or the length is malformed.");
	else
		router_dispatch(db, w, &req, &res);
	http_write(&req, &res, out);
	log_request(&req, &res);
	http_request_free(&req);
	http_response_free(&res);
}

/* Ends a FastCGI request. libfcgi's own close waits, in poll(), for
 * lighttpd to hang up first (a measured fifth of a request thread's time);
 * reading what is left of the input and closing at once is as safe. */
static void
finish(FCGX_Request *r)
{
	char	 trash[4096];

	while (FCGX_GetStr(trash, sizeof(trash), r->in) > 0)
		continue;
	FCGX_Detach(r);		/* the next close is a plain close(2) */
	FCGX_Finish_r(r);
}

struct server {
	const struct config	*config;
	struct writer		*writer;
};

/* A request thread: accepts FastCGI requests one at a time and answers
 * them with its own read connection, writing through the shared writer. */
static void *
request_thread(void *arg)
{
	struct server		*s = arg;
	const struct config	*c = s->config;
	struct db		*db = NULL;
	FCGX_Request		 r;

	FCGX_InitRequest(&r, 0, 0);
	for (;;) {
		/* No lock around accept(): Linux wakes one waiting thread
		 * per connection, and a lock would add a hand-off to each. */
		if (FCGX_Accept_r(&r) < 0)
			break;
		/* Opened on first use, and again after a failure: a
		 * database that comes back is used again. */
		if (db == NULL)
			db = db_open(c->db_path, DB_READ, c->sync_full,
			    (int)c->busy_ms);
		serve_one(db, s->writer, r.envp, r.in, r.out);
		finish(&r);
	}
	db_close(db);
	return NULL;
}

static int
serve(const struct config *c)
{
	struct writer_config	 wc = { c->db_path, c->sync_full,
	    (int)c->busy_ms, idem_housekeeping };
	struct server		 s = { c, NULL };
	struct writer		*w = NULL;
	struct db		*db;
	pthread_t		 thread;
	sigset_t		 stop;
	long			 i;
	int			 sig;

	idem_configure(c->ttl, (int)c->busy_ms);
	db_init();
	if (FCGX_IsCGI()) {
		/* One request, one connection, no threads. */
		if ((db = db_open(c->db_path, DB_SERVE, c->sync_full,
		    (int)c->busy_ms)) != NULL)
			w = writer_inline(db);
		serve_one(db, w, environ, NULL, NULL);
		writer_stop(w);
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
	sigwait(&stop, &sig);
	/* Let the group being written finish; requests still in flight are
	 * cut off, as in a crash, and their clients retry with their keys. */
	writer_stop(s.writer);
	log_error("stopped by signal %d", sig);
	_exit(0);
}

/* Returns 1 if name is 1 to 63 of [a-z0-9_.-]. */
static int
valid_user_name(const char *name)
{
	size_t	 n = strlen(name);

	return n >= 1 && n <= 63 &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: onceshop                 serve (FastCGI, or one CGI request)\n"
	    "       onceshop init [--demo]   create or migrate the database\n"
	    "       onceshop user add NAME   add a user, print a new token\n"
	    "       onceshop sweep           delete expired idempotency keys\n"
	    "       onceshop problems        list the problem types (name, status, title)\n"
	    "       onceshop --version\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct config	 c;
	struct db	*db;
	char		 token[65];
	long		 n;
	int		 rc = 1;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		puts("onceshop " VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "problems") == 0) {
		for (n = 0; n < PROBLEM__MAX; n++)
			printf("%s\t%d\t%s\n", problem_types[n].name,
			    problem_types[n].status, problem_types[n].title);
		return 0;
	}
	if (config_read(&c) == -1)
		return 1;
	if (argc == 1 && isatty(STDIN_FILENO))
		return usage();		/* a person, not lighttpd */
	if (argc == 1)
		return serve(&c);

	if (strcmp(argv[1], "init") == 0 && (argc == 2 ||
	    (argc == 3 && strcmp(argv[2], "--demo") == 0))) {
		if ((db = db_open(c.db_path, DB_MIGRATE, c.sync_full,
		    (int)c.busy_ms)))
			rc = db_migrate(db, c.schema_dir, argc == 3) == 0 ? 0 : 1;
	} else if (argc == 4 && strcmp(argv[1], "user") == 0 &&
	    strcmp(argv[2], "add") == 0) {
		if (!valid_user_name(argv[3])) {
			fprintf(stderr, "onceshop: a user name is 1 to 63 of "
			    "a-z 0-9 _ . -\n");
			return 1;
		}
		if ((db = db_open(c.db_path, DB_SERVE, c.sync_full,
		    (int)c.busy_ms)) && auth_user_add(db, argv[3], token) == 0) {
			printf("%s\n", token);
			rc = 0;
		}
	} else if (argc == 2 && strcmp(argv[1], "sweep") == 0) {
		if ((db = db_open(c.db_path, DB_SERVE, c.sync_full,
		    (int)c.busy_ms)) && (n = idem_sweep(db)) >= 0) {
			printf("deleted %ld expired idempotency keys\n", n);
			rc = 0;
		}
	} else
		return usage();
	db_close(db);
	return rc;
}
