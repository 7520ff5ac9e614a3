/* lesson.c — which lesson is on (lesson.h). */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "lesson.h"
#include "log.h"

static const struct {
	const char		*name;
	const struct key_store	*keys;
	const char		*what;
} lessons[] = {
	{ "memory-store", &lesson_memory_store, "idempotency keys in this "
	    "process's memory: a restart forgets them, and each server has "
	    "its own" },
	{ "select-then-insert", &lesson_select_store, "a key is claimed by "
	    "looking it up, then inserting it where no UNIQUE stops a second "
	    "insert: concurrent copies may each make an order" },
	{ "redis-store", &lesson_redis_store, "idempotency keys in Redis, "
	    "beside the database: the key and the order are never one "
	    "transaction" },
};

static const char	*on;

int
lesson_configure(const char *program, const char *name)
{
	size_t	 i;

	if (name == NULL || *name == '\0')
		return 0;
	for (i = 0; i < sizeof(lessons) / sizeof(lessons[0]); i++)
		if (strcmp(lessons[i].name, name) == 0)
			break;
	if (i == sizeof(lessons) / sizeof(lessons[0])) {
		fprintf(stderr, "%s: ONCESHOP_LESSON must be empty or one of:",
		    program);
		for (i = 0; i < sizeof(lessons) / sizeof(lessons[0]); i++)
			fprintf(stderr, " %s", lessons[i].name);
		fprintf(stderr, "\n");
		return -1;
	}
	on = lessons[i].name;
	keystore_use(lessons[i].keys);
	http_set_lesson(on);
	log_note("warning: LESSON %s is on: %s. A design that fails, to be seen "
	    "failing; never for a real service (README, \"Where the keys "
	    "live\")", on, lessons[i].what);
	return 0;
}

const char *
lesson_name(void)
{
	return on;
}
