/* main.c — the onceshop binary: subcommands (init, user add, sweep,
 * --version) and the request loop, FastCGI or, without a FastCGI socket on
 * stdin, one plain CGI request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#include "auth.h"
#include "db.h"
#include "http.h"
#include "idempotency.h"
#include "router.h"

#define VERSION		"0.1.0"
#define SWEEP_BATCH	500

extern char	**environ;

struct config {
	const char	*db_path;
	const char	*schema_dir;
	long		 ttl;
	long		 busy_ms;
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
	if (!c->sync_full && strcmp(sync, "normal") != 0) {
		fprintf(stderr, "onceshop: ONCESHOP_SYNC must be full or normal\n");
		return -1;
	}
	return 0;
}

/* Writes a logfmt value: bare when safe, else quoted with \" and \\. */
static void
log_value(const char *v)
{
	if (*v != '\0' && strpbrk(v, " =\"\\") == NULL) {
		fputs(v, stderr);
		return;
	}
	fputc('"', stderr);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', stderr);
		fputc(*v, stderr);
	}
	fputc('"', stderr);
}

/* One logfmt line per request on stderr, which lighttpd logs. */
static void
log_request(const struct request *req, const struct response *res,
    int64_t usec)
{
	fputs("onceshop: method=", stderr);
	log_value(req->method_name ? req->method_name : "-");
	fputs(" path=", stderr);
	log_value(req->path ? req->path : "-");
	fputs(" user=", stderr);
	log_value(req->user.id ? req->user.name : "-");
	if (res->operation != NULL) {
		fprintf(stderr, " operation=%s key=", res->operation);
		log_value(res->key[0] ? res->key : "-");
		fprintf(stderr, " outcome=%s", res->outcome);
	}
	fprintf(stderr, " status=%d us=%lld\n", res->status, (long long)usec);
}

/* Reads, answers and logs one request. in and out are NULL for CGI. */
static void
serve_one(struct db *db, char **envp, FCGX_Stream *in, FCGX_Stream *out)
{
	struct request	 req;
	struct response	 res;
	int64_t		 start = time_usec();

	memset(&res, 0, sizeof(res));
	if (http_read(&req, envp, in) == -1)
		http_problem(&res, PROBLEM_INVALID_BODY, "The body is shorter "
		    "than its Content-Length, or the length is malformed.");
	else
		router_dispatch(db, &req, &res);
	http_write(&res, out);
	log_request(&req, &res, time_usec() - start);
	http_request_free(&req);
	http_response_free(&res);
}

static int
serve(const struct config *c)
{
	FCGX_Request	 r;
	struct db	*db;

	/* A worker keeps serving when the database is missing: every request
	 * then gets a 500 that says so, instead of lighttpd's bare 503. */
	db = db_open(c->db_path, 0, c->sync_full, (int)c->busy_ms);
	idem_configure(c->ttl);
	if (FCGX_IsCGI()) {
		serve_one(db, environ, NULL, NULL);
		db_close(db);
		return 0;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0) {
		fprintf(stderr, "onceshop: cannot initialise FastCGI\n");
		db_close(db);
		return 1;
	}
	while (FCGX_Accept_r(&r) >= 0) {
		serve_one(db, r.envp, r.in, r.out);
		FCGX_Finish_r(&r);
	}
	db_close(db);
	return 0;
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
	if (config_read(&c) == -1)
		return 1;
	if (argc == 1)
		return serve(&c);

	if (strcmp(argv[1], "init") == 0 && (argc == 2 ||
	    (argc == 3 && strcmp(argv[2], "--demo") == 0))) {
		if ((db = db_open(c.db_path, 1, c.sync_full, (int)c.busy_ms)))
			rc = db_migrate(db, c.schema_dir, argc == 3) == 0 ? 0 : 1;
	} else if (argc == 4 && strcmp(argv[1], "user") == 0 &&
	    strcmp(argv[2], "add") == 0) {
		if (!valid_user_name(argv[3])) {
			fprintf(stderr, "onceshop: a user name is 1 to 63 of "
			    "a-z 0-9 _ . -\n");
			return 1;
		}
		if ((db = db_open(c.db_path, 0, c.sync_full, (int)c.busy_ms)) &&
		    auth_user_add(db, argv[3], token) == 0) {
			printf("%s\n", token);
			rc = 0;
		}
	} else if (argc == 2 && strcmp(argv[1], "sweep") == 0) {
		if ((db = db_open(c.db_path, 0, c.sync_full, (int)c.busy_ms)) &&
		    (n = idem_sweep(db, SWEEP_BATCH)) >= 0) {
			printf("deleted %ld expired idempotency keys\n", n);
			rc = 0;
		}
	} else
		return usage();
	db_close(db);
	return rc;
}
