/* settings.h — a program's configuration as one table: each environment
 * variable with its default, its checked range or choices, and what it
 * does. Read once at start-up; a bad value is refused with a message that
 * names the variable and what it may be. `onceshop settings` and `paysim
 * settings` print the table (README, "Configuration"). */
#ifndef ONCESHOP_SETTINGS_H
#define ONCESHOP_SETTINGS_H

#include <stddef.h>

enum setting_kind {
	SETTING_NUMBER,		/* a whole number from min to max */
	SETTING_TEXT,		/* any text; "" is the default */
	SETTING_CHOICE,		/* one of choices, "a|b" */
};

struct setting {
	const char		*name;		/* the environment variable */
	enum setting_kind	 kind;
	size_t			 at;		/* offsetof its field in the
						 * program's config: a long
						 * (NUMBER) or a const char *
						 * (TEXT, CHOICE) */
	long			 number;	/* NUMBER: the default */
	long			 min, max;
	const char		*unit;		/* NUMBER: "ms", "s" or "" */
	const char		*text;		/* TEXT, CHOICE: the default */
	const char		*choices;	/* CHOICE */
	const char		*what;		/* what it does, in a few words */
};

/* One row of a program's table; T is its config struct, F the field. */
#define SET_NUMBER(N, T, F, DEF, LO, HI, UNIT, WHAT) \
	{ .name = N, .kind = SETTING_NUMBER, .at = offsetof(T, F), \
	    .number = DEF, .min = LO, .max = HI, .unit = UNIT, .what = WHAT }
#define SET_TEXT(N, T, F, DEF, WHAT) \
	{ .name = N, .kind = SETTING_TEXT, .at = offsetof(T, F), \
	    .text = DEF, .what = WHAT }
#define SET_CHOICE(N, T, F, DEF, CHOICES, WHAT) \
	{ .name = N, .kind = SETTING_CHOICE, .at = offsetof(T, F), \
	    .text = DEF, .choices = CHOICES, .what = WHAT }

/* Reads each of the n settings of table from the environment into config.
 * Returns 0, or -1 after telling stderr, as program, which is wrong. */
int	 settings_read(const char *program, const struct setting *table,
	     size_t n, void *config);

/* Prints the table: name, default, range or choices, what. */
void	 settings_print(const struct setting *table, size_t n);

struct problem_type;

/* Answers the subcommands every program has that read no configuration:
 * --version, problems (the core's problem types and the program's own,
 * a NULL-ended list) and settings (table). Returns the exit status, or -1
 * when argv is none of them. */
int	 settings_subcommand(const char *program, int argc, char *argv[],
	     const struct problem_type *const problems[],
	     const struct setting *table, size_t n);

#endif
