/* fuzz.h — what the libFuzzer harnesses share: the entry point libFuzzer
 * (or replay.c, under `make test`) calls, and a check that stops the run
 * with a message, so a broken invariant is a crash the fuzzer keeps. */
#ifndef ONCESHOP_FUZZ_H
#define ONCESHOP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input. Returns 0 (libFuzzer reserves other values). */
int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with file, line and a message when cond is false. */
#define FUZZ_CHECK(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,	\
		    __LINE__, #cond);					\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

#endif
