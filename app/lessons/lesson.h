/* lesson.h — the designs the course warns against, switched on by name to
 * be seen failing (README, "Where the keys live"): ONCESHOP_LESSON names
 * one, and nothing else turns one on. They live here, in app/lessons,
 * apart from the core a template copies: onceshop links them, behind the
 * core's key-store boundary (keystore.h); paysim does not. Never for a real service: the server
 * logs a warning when it starts, every answer carries an Onceshop-Lesson
 * header, GET /health names it and the demo page shows a banner. */
#ifndef ONCESHOP_LESSON_H
#define ONCESHOP_LESSON_H

#include "keystore.h"

/* memory-store: the keys in this process's memory (lesson_memory.c). */
extern const struct key_store lesson_memory_store;

/* select-then-insert: the claim as a look-up, then an insert that no
 * UNIQUE protects (lesson_select.c). */
extern const struct key_store lesson_select_store;

/* redis-store: the keys in Redis, beside the database (lesson_redis.c). */
extern const struct key_store lesson_redis_store;

/* Where redis-store crashes on purpose (ONCESHOP_LESSON_CRASH). */
enum lesson_crash {
	LESSON_CRASH_NONE,
	LESSON_CRASH_AFTER_CLAIM,	/* the key claimed, no order yet */
	LESSON_CRASH_AFTER_STORE,	/* the answer stored, no COMMIT yet */
};

/* Sets where redis-store crashes (its server: redis.h). */
void		 lesson_redis_configure(enum lesson_crash);

/* Sets how long select-then-insert waits between its look-up and its
 * insert (ONCESHOP_LESSON_PAUSE_MS), to widen the race for the lesson. */
void		 lesson_select_configure(long pause_ms);

/* Switches the lesson name on (NULL or "": none). Returns 0, or -1 after
 * telling stderr, as program, which lessons there are. */
int		 lesson_configure(const char *program, const char *name);

/* The lesson that is on, or NULL. */
const char	*lesson_name(void);

#endif
