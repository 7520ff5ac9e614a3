/* main.c — the paysim binary, a payment-provider simulator: a second
 * FastCGI program built from onceshop's modules (server, http, router, the
 * idempotency layer, the writer, db) with its own route table, its own
 * SQLite file and no knowledge of the shop. Here: its configuration, its
 * routes, its subcommands (init, --version) and, with no arguments,
 * serving (server.c). Its handlers are in charges.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "auth.h"
#include "builtin.h"
#include "paysim.h"
#include "keystore.h"
#include "job.h"
#include "log.h"
#include "server.h"
#include "settings.h"

/* A provider answers a handful of shops, not the public; but a slow card
 * holds its thread for PAYSIM_SLOW_MS, so enough threads for every
 * payment a shop holds open at once (ONCESHOP_PROVIDER_SLOTS, 16 by
 * default). */
#define THREADS_DEFAULT	32
/* Public, like the demo users' tokens: for local demos only. */
#define SECRET_DEFAULT	"paysim-secret"
/* The one merchant, whose token is the shared secret. */
#define MERCHANT	"onceshop"
#define BUSY_MS		5000

/* Paths as lighttpd passes them: the whole path, /paysim/ included (its
 * own FastCGI pool, mounted at "/" under a $HTTP["url"] condition). */
static const struct route routes[] = {
	{ .method = METHOD_GET, .path = "/paysim/health", .handler = health_get,
	    .public = 1 },
	{ .method = METHOD_GET, .path = "/paysim/v1/charges",
	    .handler = charges_list },
	{ .method = METHOD_POST, .path = "/paysim/v1/charges",
	    .handler = charges_create, .operation = "create-charge",
	    .body = &charge_body, .before_claim = charges_before_claim },
};

static const struct api paysim_api = {
	routes, sizeof(routes) / sizeof(routes[0]), "paysim",
	"the shared secret: PAYSIM_SECRET when paysim init ran, "
	"paysim-secret by default"
};

struct config {
	const char	*db_path;
	const char	*schema_dir;
	const char	*secret;
	long		 slow_ms;
	long		 lost_ms;
	long		 threads;
};

/* Returns 1 if s is 1 to 512 visible ASCII characters: a bearer token. */
static int
valid_secret(const char *s)
{
	size_t	 n = strlen(s), i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return 0;
	return n >= 1 && n <= 512;
}

#define C	struct config
/* Every PAYSIM_* variable: `paysim settings` prints this table. */
static const struct setting settings[] = {
	SET_TEXT("PAYSIM_DB", C, db_path, "paysim.db", "paysim's SQLite database"),
	SET_TEXT("PAYSIM_SCHEMA", C, schema_dir, "schema/paysim",
	    "where init finds the migrations"),
	SET_TEXT("PAYSIM_SECRET", C, secret, SECRET_DEFAULT,
	    "the merchant's bearer token, stored by init"),
	SET_NUMBER("PAYSIM_SLOW_MS", C, slow_ms, 2000, 0, 600000, "ms",
	    "how long tok_slow's answer is held"),
	SET_NUMBER("PAYSIM_LOST_MS", C, lost_ms, 8000, 0, 600000, "ms",
	    "how long tok_lost's answer is held"),
	SET_NUMBER("PAYSIM_THREADS", C, threads, THREADS_DEFAULT, 1, 1024, "",
	    "request threads"),
};
#undef C

/* Reads the PAYSIM_* environment. Returns 0, or -1 after saying which
 * variable is wrong. */
static int
config_read(struct config *c)
{
	if (settings_read("paysim", settings, sizeof(settings) /
	    sizeof(settings[0]), c) == -1)
		return -1;
	if (!valid_secret(c->secret)) {
		fprintf(stderr, "paysim: PAYSIM_SECRET must be 1 to 512 "
		    "visible ASCII characters\n");
		return -1;
	}
	return 0;
}

static int
serve(const struct config *c)
{
	struct server_config	 sc = { { c->db_path, NULL, &paysim_schema, 1, BUSY_MS },
	    &paysim_api, c->threads, keystore_housekeeping, 0, 1 };

	job_configure(BUSY_MS);
	charges_configure((int)c->slow_ms, (int)c->lost_ms);
	return server_run(&sc);
}

/* paysim init: creates or migrates the database from schema_dir, then
 * sets the merchant's token to the secret. Returns 0 or -1. */
static int
init(const struct config *c)
{
	struct db_config	 dc = { c->db_path, NULL, &paysim_schema, 1, BUSY_MS };
	struct db		*db;
	int			 rc;

	if ((db = db_open(&dc, DB_MIGRATE)) == NULL)
		return -1;
	rc = db_migrate(db, c->schema_dir, 0);
	db_close(db);
	if (rc == -1 || (db = db_open(&dc, DB_SERVE)) == NULL)
		return -1;
	rc = auth_token_add(db, MERCHANT, c->secret, AUTH_ONLY_TOKEN);
	db_close(db);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: paysim            serve (FastCGI, or one CGI request)\n"
	    "       paysim init       create or migrate the database; the "
	    "merchant \"" MERCHANT "\"\n"
	    "                         gets PAYSIM_SECRET as its token\n"
	    "       paysim problems   list its problem types\n"
	    "       paysim settings   list the PAYSIM_* variables\n"
	    "       paysim --version\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct config	 c;
	int		 rc;

	log_set_name("paysim");
	if ((rc = settings_subcommand("paysim", argc, argv, paysim_problems,
	    settings, sizeof(settings) / sizeof(settings[0]))) != -1)
		return rc;
	if (config_read(&c) == -1)
		return 1;
	if (argc == 1 && isatty(STDIN_FILENO))
		return usage();		/* a person, not lighttpd */
	if (argc == 1)
		return serve(&c);
	if (argc == 2 && strcmp(argv[1], "init") == 0)
		return init(&c) == 0 ? 0 : 1;
	return usage();
}
