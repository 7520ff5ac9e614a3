/* settings.c — a program's environment, read from its table (settings.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problems.h"
#include "settings.h"
#include "util.h"

/* Returns 1 if v is one of choices ("a|b|c"). */
static int
is_choice(const char *v, const char *choices)
{
	size_t	 n = strlen(v);
	const char *c = choices;

	for (;;) {
		if (strncmp(c, v, n) == 0 && (c[n] == '|' || c[n] == '\0'))
			return 1;
		if ((c = strchr(c, '|')) == NULL)
			return 0;
		c++;
	}
}

int
settings_read(const char *program, const struct setting *table, size_t n,
    void *config)
{
	const struct setting	*s;
	const char		*v;
	char			*end;
	long			 number;
	size_t			 i;

	for (i = 0; i < n; i++) {
		s = &table[i];
		if ((v = getenv(s->name)) != NULL && *v == '\0')
			v = NULL;	/* set but empty: the default */
		switch (s->kind) {
		case SETTING_NUMBER:
			number = s->number;
			if (v != NULL) {
				errno = 0;
				number = strtol(v, &end, 10);
				if (errno != 0 || end == v || *end != '\0' ||
				    number < s->min || number > s->max) {
					fprintf(stderr, "%s: %s must be %ld to "
					    "%ld%s%s\n", program, s->name,
					    s->min, s->max, *s->unit ? " " : "",
					    s->unit);
					return -1;
				}
			}
			*(long *)((char *)config + s->at) = number;
			break;
		case SETTING_CHOICE:
			if (v != NULL && !is_choice(v, s->choices)) {
				fprintf(stderr, "%s: %s must be one of %s\n",
				    program, s->name, s->choices);
				return -1;
			}
			/* FALLTHROUGH */
		case SETTING_TEXT:
			*(const char **)((char *)config + s->at) =
			    v != NULL ? v : s->text;
			break;
		}
	}
	return 0;
}

void
settings_print(const struct setting *table, size_t n)
{
	const struct setting	*s;
	size_t			 i;

	for (i = 0; i < n; i++) {
		s = &table[i];
		switch (s->kind) {
		case SETTING_NUMBER:
			printf("%s\t%ld\t%ld to %ld%s%s\t%s\n", s->name,
			    s->number, s->min, s->max, *s->unit ? " " : "",
			    s->unit, s->what);
			break;
		case SETTING_CHOICE:
			printf("%s\t%s\t%s\t%s\n", s->name, s->text,
			    s->choices, s->what);
			break;
		case SETTING_TEXT:
			printf("%s\t%s\t-\t%s\n", s->name, *s->text ?
			    s->text : "(none)", s->what);
			break;
		}
	}
}

int
settings_subcommand(const char *program, int argc, char *argv[],
    const struct problem_type *const problems[],
    const struct setting *table, size_t n)
{
	if (argc != 2)
		return -1;
	if (strcmp(argv[1], "--version") == 0)
		printf("%s %s\n", program, ONCESHOP_VERSION);
	else if (strcmp(argv[1], "problems") == 0) {
		problems_print(core_problems);
		problems_print(problems);
	} else if (strcmp(argv[1], "settings") == 0)
		settings_print(table, n);
	else
		return -1;
	return 0;
}
