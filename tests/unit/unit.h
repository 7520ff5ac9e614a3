/* unit.h — what the unit tests share: ok(), which prints one TAP line
 * (in main.c, with the one count of tests and failures), the test
 * functions main calls in order, the character strings and macros more
 * than one file's cases are written with, and a writer on a database of
 * its own. The tests are one TAP program, build/unit, made of every .c
 * file of tests/unit/; tests/unit.t runs it. */
#ifndef ONCESHOP_UNIT_H
#define ONCESHOP_UNIT_H

#include "writer.h"

/* 16, 64, 255 and 256 characters: the limits and one past them. */
#define C16	"0123456789abcdef"
#define C64	C16 C16 C16 C16
#define C255	C64 C64 C64 C16 C16 C16 "0123456789abcde"
#define C256	C255 "f"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A JSON value as the member "a" of an object, since a body must be one. */
#define IN_A(v)		"{\"a\":" v "}"
/* é */
#define E		"\xc3\xa9"

/* Prints one TAP line and returns cond (main.c). */
int	 ok(int cond, const char *fmt, ...);

/* A writer with lanes write connections on a new SQLite database in a
 * temporary directory of its own, for the test named what (writer.c). */
struct unit_writer {
	char			 dir[32];
	char			 db_path[64];
	struct writer_config	 wc;
};

struct writer	*unit_writer_start(struct unit_writer *u, int lanes,
		    int gather_us, const char *what);
void		 unit_writer_free(struct unit_writer *u, struct writer *w);

/* In the order main calls them. */
void	 test_key_parse(void);		/* keys.c */
void	 test_parse(void);		/* json.c */
void	 test_canonical(void);		/* keys.c */
void	 test_fingerprint(void);	/* keys.c */
void	 test_validate(void);		/* validate.c */
void	 test_typed(void);		/* validate.c */
void	 test_defaults_and_time(void);	/* db.c */
void	 test_utf8(void);		/* json.c */
void	 test_query_text(void);		/* serve.c */
void	 test_pg_dialect(void);		/* db.c */
void	 test_backoff(void);		/* db.c */
void	 test_writer_lanes(void);	/* writer.c */
void	 test_writer_gather(void);	/* writer.c */
void	 test_token_cache(void);	/* db.c */
void	 test_router_check(void);	/* serve.c */
void	 test_shared_answer(void);	/* serve.c */
void	 test_scan_bounds(void);	/* json.c */
void	 test_writer_stop(void);	/* writer.c */

#endif
