/* server.h — serving an API (onceshop's or paysim's): one process whose
 * request threads accept FastCGI requests, each reading on a connection of
 * its own and writing through the single writer (writer.h); or, without a
 * FastCGI socket on stdin, one plain CGI request on one connection. */
#ifndef ONCESHOP_SERVER_H
#define ONCESHOP_SERVER_H

#include "db.h"
#include "router.h"
#include "writer.h"

struct server_config {
	struct db_config	 db;
	const struct api	*api;
	long			 threads;	/* request threads */
	housekeeping_fn		*housekeeping;	/* the writer's, or NULL */
	int			 complete_ms;	/* run the completer this often
						 * (phases.h); 0: never */
	int			 writers;	/* PostgreSQL: write connections,
						 * each committing in groups;
						 * SQLite has one */
};

/* Serves until a stop signal (SIGTERM, SIGINT, SIGHUP, SIGUSR1), or one
 * CGI request. Returns the exit status. */
int	 server_run(const struct server_config *);

#endif
