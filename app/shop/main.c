/* main.c — the onceshop binary: its configuration, its subcommands (init,
 * user add, sweep, complete, problems, settings, --version) and, with no
 * arguments, serving (server.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "auth.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "job.h"
#include "keystore.h"
#include "lesson.h"
#include "redis.h"
#include "replay_cache.h"
#include "completer.h"
#include "phases.h"
#include "provider.h"
#include "router.h"
#include "server.h"
#include "settings.h"
#include "shop.h"

/* Request threads: enough that a group can hold every request in flight at
 * the usual concurrency (see README, "Worker model"); 64 measured slower
 * here than 16 to 32 (more threads, colder caches). */
#define THREADS_DEFAULT	32
/* A lease outlasts the provider's timeout by this much: time for the
 * writer to record what the provider said. */
#define LEASE_MARGIN_S	2
/* The completer looks for stalled payments this often (README, "When the
 * side effect is somewhere else"), unless ONCESHOP_COMPLETER_MS says. */
#define COMPLETER_MS	2000

struct config {
	const char	*db_path;
	const char	*db_url;	/* PostgreSQL, if set */
	const char	*schema_dir;
	const char	*sync;
	const char	*lesson;
	const char	*lesson_crash;
	const char	*redis;
	const char	*replay_cache;
	long		 lesson_pause_ms;
	long		 ttl;
	long		 busy_ms;
	long		 threads;
	long		 writers;
	long		 completer_ms;
	long		 provider_slots;
	long		 log_gets;
	long		 token_cache_ms;
	int		 sync_full;
	struct provider_config provider;
};

#define C	struct config
/* Every ONCESHOP_* variable: `onceshop settings` prints this table. */
static const struct setting settings[] = {
	SET_TEXT("ONCESHOP_DB", C, db_path, "onceshop.db",
	    "the SQLite database"),
	SET_TEXT("ONCESHOP_DATABASE_URL", C, db_url, "",
	    "a libpq URI: PostgreSQL instead of SQLite"),
	SET_TEXT("ONCESHOP_SCHEMA", C, schema_dir, "schema",
	    "where init finds the migrations"),
	SET_NUMBER("ONCESHOP_IDEMPOTENCY_TTL", C, ttl, KEY_TTL_DEFAULT, 1,
	    10L * 365 * 86400, "s", "how long a stored answer is replayed"),
	/* Below 100 ms nearly every write would be a 503. */
	SET_NUMBER("ONCESHOP_BUSY_TIMEOUT_MS", C, busy_ms, 5000, 100, 600000,
	    "ms", "the longest wait for the database before a 503"),
	SET_NUMBER("ONCESHOP_THREADS", C, threads, THREADS_DEFAULT, 1, 1024, "",
	    "request threads"),
	SET_NUMBER("ONCESHOP_WRITERS", C, writers, 2, 1, WRITER_LANES_MAX, "",
	    "PostgreSQL: write connections, each committing in groups (SQLite "
	    "has one)"),
	SET_NUMBER("ONCESHOP_PROVIDER_SLOTS", C, provider_slots, 0, 0, 1023,
	    "", "payments at the provider at once (0: half the threads)"),
	SET_CHOICE("ONCESHOP_SYNC", C, sync, "full", "full|normal",
	    "full: a 201 is on disk"),
	SET_NUMBER("ONCESHOP_LOG_GETS", C, log_gets, 1, 0, 1, "",
	    "log every GET (0: writes only)"),
	SET_NUMBER("ONCESHOP_TOKEN_CACHE_MS", C, token_cache_ms, 1000, 0,
	    60000, "ms", "a token found is trusted this long without a look-up "
	    "(0: never): a deleted token is refused this much later at most"),
	SET_NUMBER("ONCESHOP_COMPLETER_MS", C, completer_ms, COMPLETER_MS, 0,
	    60000, "ms", "how often stalled payments are resumed (0: never)"),
	SET_TEXT("ONCESHOP_PROVIDER_URL", C, provider.url,
	    "http://127.0.0.1:8080/paysim", "the payment provider"),
	SET_TEXT("ONCESHOP_PROVIDER_SECRET", C, provider.secret,
	    "paysim-secret", "the bearer token sent to the provider"),
	SET_NUMBER("ONCESHOP_PROVIDER_TIMEOUT_MS", C, provider.timeout_ms,
	    PROVIDER_TIMEOUT_DEFAULT, 100, 600000, "ms",
	    "how long a payment waits for the provider"),
	SET_TEXT("ONCESHOP_LESSON", C, lesson, "", "a design that fails, to "
	    "be seen failing: memory-store, select-then-insert, redis-store"),
	SET_TEXT("ONCESHOP_REDIS", C, redis, "",
	    "redis-store: a Redis server's Unix socket"),
	SET_CHOICE("ONCESHOP_REPLAY_CACHE", C, replay_cache, "memory",
	    "memory|redis|off", "finished answers kept for replays: in this "
	    "process, or in Redis (ONCESHOP_REDIS) for every host"),
	SET_CHOICE("ONCESHOP_LESSON_CRASH", C, lesson_crash, "none",
	    "none|after-claim|after-store",
	    "redis-store: where to crash on purpose"),
	SET_NUMBER("ONCESHOP_LESSON_PAUSE_MS", C, lesson_pause_ms, 0, 0, 10000,
	    "ms", "select-then-insert: the wait between look-up and insert"),
};
#undef C

/* Reads the ONCESHOP_* environment. Returns 0, or -1 after saying which
 * variable is wrong. */
static int
config_read(struct config *c)
{
	long	 slots_max;

	if (settings_read("onceshop", settings, sizeof(settings) /
	    sizeof(settings[0]), c) == -1)
		return -1;
	c->sync_full = strcmp(c->sync, "full") == 0;
	if (lesson_configure("onceshop", c->lesson) == -1)
		return -1;
	lesson_select_configure(c->lesson_pause_ms);
	auth_configure(c->token_cache_ms);
	redis_configure(c->redis, (int)c->busy_ms);
	lesson_redis_configure(strcmp(c->lesson_crash, "after-claim") == 0 ?
	    LESSON_CRASH_AFTER_CLAIM : strcmp(c->lesson_crash,
	    "after-store") == 0 ? LESSON_CRASH_AFTER_STORE :
	    LESSON_CRASH_NONE);
	/* Of the request threads, those a payment may hold while the
	 * provider answers: half by default, and never all of them. */
	slots_max = c->threads > 1 ? c->threads - 1 : 1;
	if (c->provider_slots == 0)
		c->provider_slots = c->threads > 1 ? c->threads / 2 : 1;
	if (c->provider_slots > slots_max) {
		fprintf(stderr, "onceshop: ONCESHOP_PROVIDER_SLOTS must be 1 "
		    "to %ld (ONCESHOP_THREADS - 1)\n", slots_max);
		return -1;
	}
	return 0;
}

/* Sets up what serving and the completer share. Returns 0 or -1. */
static int
configure(const struct config *c)
{
	if ((strcmp(c->lesson, "redis-store") == 0 ||
	    strcmp(c->replay_cache, "redis") == 0) && *c->redis == '\0') {
		fprintf(stderr, "onceshop: ONCESHOP_LESSON=redis-store and "
		    "ONCESHOP_REPLAY_CACHE=redis need ONCESHOP_REDIS, a Redis "
		    "server's Unix socket\n");
		return -1;
	}
	if (strcmp(c->replay_cache, "redis") == 0 && *c->lesson != '\0') {
		fprintf(stderr, "onceshop: ONCESHOP_REPLAY_CACHE stands in "
		    "front of the database store, not of a lesson's\n");
		return -1;
	}
	replay_cache_configure(strcmp(c->replay_cache, "redis") == 0 ?
	    REPLAY_CACHE_REDIS : strcmp(c->replay_cache, "memory") == 0 ?
	    REPLAY_CACHE_MEMORY : REPLAY_CACHE_OFF);
	keystore_configure(c->ttl);
	job_configure((int)c->busy_ms);
	phases_configure((int)((c->provider.timeout_ms + 999) / 1000) +
	    LEASE_MARGIN_S, (int)c->provider_slots);
	log_configure((int)c->log_gets);
	return provider_configure(&c->provider);
}

/* Serves with ONCESHOP_THREADS request threads, of which payments waiting
 * on the provider hold at most ONCESHOP_PROVIDER_SLOTS: however slow the
 * provider, the others serve everything else (phases.h). */
static int
serve(const struct config *c)
{
	struct server_config	 sc = { { c->db_path, c->db_url, &shop_schema,
	    c->sync_full, (int)c->busy_ms }, &shop_api, c->threads,
	    keystore_housekeeping, (int)c->completer_ms, (int)c->writers };

	if (configure(c) == -1)
		return 1;
	return server_run(&sc);
}

/* onceshop complete: resumes every processing key whose lease ran out.
 * Returns 0, or -1 if the keys could not be read. */
static int
complete(struct db *db)
{
	struct writer	*w = writer_inline(db);
	long		 n, finished, resumed = 0, done = 0;

	do {
		if ((n = completer_run(&shop_api, db, w, 100,
		    &finished)) == -1)
			break;
		resumed += n;
		done += finished;
	} while (n > 0 && finished > 0);
	writer_free(w);
	printf("resumed %ld processing keys: %ld completed, %ld still "
	    "processing\n", resumed, done, resumed - done);
	return n == -1 ? -1 : 0;
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
	    "       onceshop user add NAME   add a user, print their token\n"
	    "       onceshop user token NAME print another token for a user\n"
	    "       onceshop sweep           delete expired idempotency keys\n"
	    "       onceshop complete        finish payments whose request stopped\n"
	    "       onceshop problems        list the problem types (name, status, title)\n"
	    "       onceshop settings        list the ONCESHOP_* variables\n"
	    "       onceshop --version\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct config	 c;
	struct db_config dc;
	struct db	*db = NULL;
	char		 token[65];
	long		 n = 0;
	int		 rc = 1, how;

	if ((rc = settings_subcommand("onceshop", argc, argv, shop_problems,
	    settings, sizeof(settings) / sizeof(settings[0]))) != -1)
		return rc;
	rc = 1;
	if (config_read(&c) == -1)
		return 1;
	if (argc == 1 && isatty(STDIN_FILENO))
		return usage();		/* a person, not lighttpd */
	if (argc == 1)
		return serve(&c);

	dc = (struct db_config){ c.db_path, c.db_url, &shop_schema, c.sync_full,
	    (int)c.busy_ms };
	if (strcmp(argv[1], "init") == 0 && (argc == 2 ||
	    (argc == 3 && strcmp(argv[2], "--demo") == 0))) {
		if ((db = db_open(&dc, DB_MIGRATE)))
			rc = db_migrate(db, c.schema_dir, argc == 3) == 0 ? 0 : 1;
	} else if (argc == 4 && strcmp(argv[1], "user") == 0 &&
	    (strcmp(argv[2], "add") == 0 || strcmp(argv[2], "token") == 0)) {
		if (!valid_user_name(argv[3])) {
			fprintf(stderr, "onceshop: a user name is 1 to 63 of "
			    "a-z 0-9 _ . -\n");
			return 1;
		}
		how = strcmp(argv[2], "add") == 0 ? AUTH_NEW_USER :
		    AUTH_MORE_TOKENS;
		if ((db = db_open(&dc, DB_SERVE)) != NULL &&
		    (n = auth_user_add(db, argv[3], how, token)) == 0) {
			printf("%s\n", token);
			rc = 0;
		} else if (db != NULL && n == -2)
			fprintf(stderr, how == AUTH_NEW_USER ? "onceshop: user "
			    "%s exists already; `onceshop user token %s` gives "
			    "them another token\n" : "onceshop: there is no user "
			    "%s; `onceshop user add %s` creates them\n", argv[3],
			    argv[3]);
	} else if (argc == 2 && strcmp(argv[1], "sweep") == 0) {
		if ((db = db_open(&dc, DB_SERVE)) && (n = keystore_sweep(db)) >= 0) {
			printf("deleted %ld expired idempotency keys\n", n);
			rc = 0;
		}
	} else if (argc == 2 && strcmp(argv[1], "complete") == 0) {
		if (configure(&c) == 0 && (db = db_open(&dc, DB_SERVE)) &&
		    complete(db) == 0)
			rc = 0;
	} else
		return usage();
	db_close(db);
	return rc;
}
