/* replay.c — a main() for a fuzz harness without libFuzzer: runs
 * LLVMFuzzerTestOneInput once on every file of the directories (or files)
 * named on the command line and prints TAP, one line per file, so that
 * `make test` replays the seed corpus with the normal compiler and no
 * clang (tests/fuzz.t). A failed check aborts: the file's "not ok" line
 * is written on the way out. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "util.h"

static char	 current[512];	/* the "not ok" line of the file being run */

/* Writes the running file's "not ok" line, then dies of sig as it would. */
static void
died(int sig)
{
	ssize_t	 r = write(STDOUT_FILENO, current, strlen(current));

	(void)r;		/* dying either way */
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Reads the file at path into *data. Returns its size, or -1. */
static long
read_file(const char *path, uint8_t **data)
{
	FILE	*f = fopen(path, "rb");
	long	 n;

	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	*data = xmalloc((size_t)n + 1);	/* + 1: malloc(0) may be NULL */
	if (fread(*data, 1, (size_t)n, f) != (size_t)n) {
		free(*data);
		n = -1;
	}
	fclose(f);
	return n;
}

/* Appends the regular files under path (itself, or a directory's
 * entries in name order, dot files left out) to *files. */
static void
collect(const char *path, char ***files, size_t *n)
{
	struct dirent	**ents;
	struct stat	  st;
	char		 *p;
	int		  i, m;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		*files = xrealloc(*files, (*n + 1) * sizeof(**files));
		(*files)[(*n)++] = xstrdup(path);
		return;
	}
	if ((m = scandir(path, &ents, NULL, alphasort)) < 0) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	for (i = 0; i < m; i++) {
		if (ents[i]->d_name[0] != '.') {
			p = xmalloc(strlen(path) + strlen(ents[i]->d_name) + 2);
			sprintf(p, "%s/%s", path, ents[i]->d_name);
			*files = xrealloc(*files, (*n + 1) * sizeof(**files));
			(*files)[(*n)++] = p;
		}
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char *argv[])
{
	char	**files = NULL;
	uint8_t	 *data;
	size_t	  i, n = 0;
	long	  len;
	int	  failed = 0;

	for (i = 1; i < (size_t)argc; i++)
		collect(argv[i], &files, &n);
	if (n == 0) {
		printf("Bail out! no corpus files\n");
		return 1;
	}
	signal(SIGABRT, died);
	signal(SIGSEGV, died);
	signal(SIGBUS, died);
	printf("1..%zu\n", n);
	for (i = 0; i < n; i++) {
		snprintf(current, sizeof(current), "not ok %zu - %s\n", i + 1,
		    files[i]);
		fflush(stdout);
		if ((len = read_file(files[i], &data)) < 0) {
			printf("not ok %zu - cannot read %s\n", i + 1, files[i]);
			failed = 1;
			continue;
		}
		LLVMFuzzerTestOneInput(data, (size_t)len);
		printf("ok %zu - %s\n", i + 1, files[i]);
		free(data);
		free(files[i]);
	}
	free(files);
	return failed;
}
