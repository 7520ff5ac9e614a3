# onceshop — `make run` serves the demo, `make test` runs every test.
# Both install missing Debian packages first (as root; otherwise they print
# the apt-get command to run and stop).

PORT		?= 8080
ONCESHOP_DB	?= $(CURDIR)/onceshop.db
# Empty means the default; lighttpd.conf passes them on to the workers.
ONCESHOP_IDEMPOTENCY_TTL ?=
ONCESHOP_BUSY_TIMEOUT_MS ?=
ONCESHOP_SYNC	?=
export ONCESHOP_DB ONCESHOP_IDEMPOTENCY_TTL ONCESHOP_BUSY_TIMEOUT_MS ONCESHOP_SYNC

PACKAGES = gcc make pkg-config lighttpd libfcgi-dev libsqlite3-dev \
	   libjson-c-dev libssl-dev curl sqlite3 jq perl wrk fiu-utils
LIBS_PC	 = fcgi sqlite3 json-c libcrypto

CC	?= cc
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2
# Recursively expanded, so pkg-config runs only after `deps` installed it.
CFLAGS	 = -std=c11 -D_GNU_SOURCE -pthread -O2 -g $(WARN) $(shell pkg-config --cflags $(LIBS_PC))
LDLIBS	 = $(shell pkg-config --libs $(LIBS_PC))
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer

APP_SRC	 = $(wildcard app/*.c)
LIB_SRC	 = $(filter-out app/main.c, $(APP_SRC))

.PHONY: all run test unit asan tsan bench sweep deps clean

all: build/onceshop

deps:
	@missing=""; \
	if ! command -v dpkg-query >/dev/null; then \
		echo "not a Debian/Ubuntu system: install $(PACKAGES) by hand"; \
		for c in cc pkg-config lighttpd curl prove; do \
			command -v $$c >/dev/null || exit 1; done; exit 0; \
	fi; \
	for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "Missing packages. Install them with:"; \
		echo "  sudo apt-get install -y$$missing"; \
		exit 1; \
	fi; \
	echo "installing:$$missing"; \
	apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing

build/onceshop: $(APP_SRC:app/%.c=build/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/unit: build/unit.o $(LIB_SRC:app/%.c=build/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/unit.o: tests/unit.c | deps
	@mkdir -p build
	$(CC) $(CFLAGS) -Iapp -MMD -MP -c -o $@ $<

build/%.o: app/%.c | deps
	@mkdir -p build
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# The same programs with AddressSanitizer and UBSan, in build-asan/.
build-asan/onceshop build-asan/unit &: $(APP_SRC) tests/unit.c | deps
	@mkdir -p build-asan
	$(CC) $(CFLAGS) $(SAN) -o build-asan/onceshop $(APP_SRC) $(LDLIBS)
	$(CC) $(CFLAGS) $(SAN) -Iapp -o build-asan/unit tests/unit.c $(LIB_SRC) $(LDLIBS)

# The same with ThreadSanitizer, in build-tsan/ (make tsan).
build-tsan/onceshop build-tsan/unit &: $(APP_SRC) tests/unit.c | deps
	@mkdir -p build-tsan
	$(CC) $(CFLAGS) -fsanitize=thread -o build-tsan/onceshop $(APP_SRC) $(LDLIBS)
	$(CC) $(CFLAGS) -fsanitize=thread -Iapp -o build-tsan/unit tests/unit.c $(LIB_SRC) $(LDLIBS)

-include $(wildcard build/*.d)

run: build/onceshop
	@build/onceshop init --demo
	@echo
	@echo "onceshop on http://127.0.0.1:$(PORT)/  (database: $(ONCESHOP_DB))"
	@echo "demo tokens (local demos only): alice-token, bob-token"
	@echo "try:  curl -i http://127.0.0.1:$(PORT)/products"
	@echo "Ctrl-C stops it."
	@echo
	@ONCESHOP_PORT=$(PORT) ONCESHOP_BIN=$(CURDIR)/build/onceshop \
		ONCESHOP_SOCKET=/tmp/onceshop-$(PORT).sock ONCESHOP_LOG=/dev/stderr \
		exec lighttpd -D -f lighttpd.conf

# Unit tests (C, TAP) and API tests (bash + curl against a real lighttpd,
# TAP), all through prove. ONCESHOP_BIN picks the binary the API tests run.
ONCESHOP_BIN ?= $(CURDIR)/build/onceshop
test: build/onceshop build/unit
	ONCESHOP_BIN=$(ONCESHOP_BIN) UNIT_BIN=$(CURDIR)/build/unit prove tests/

# Every test again, against the sanitizer build.
asan: build-asan/onceshop build-asan/unit
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ONCESHOP_BIN=$(CURDIR)/build-asan/onceshop UNIT_BIN=$(CURDIR)/build-asan/unit prove tests/

# Every test again under ThreadSanitizer: the request threads and the writer.
tsan: build-tsan/onceshop build-tsan/unit
	TSAN_OPTIONS=halt_on_error=1 \
	ONCESHOP_BIN=$(CURDIR)/build-tsan/onceshop UNIT_BIN=$(CURDIR)/build-tsan/unit prove tests/

# A FastCGI hello (the ceiling) and onceshop behind the same lighttpd,
# measured with wrk on loopback; the table is kept in build/bench.txt.
# `make bench BENCH_SECS=3` for a quick run. See bench/README.md.
bench: build/onceshop build/hello
	ONCESHOP_BIN=$(CURDIR)/build/onceshop BENCH_HELLO_BIN=$(CURDIR)/build/hello \
		bash -o pipefail -c 'bench/run.sh | tee build/bench.txt'

build/hello: bench/hello.c | deps
	@mkdir -p build
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

sweep: build/onceshop
	build/onceshop sweep

clean:
	rm -rf build build-asan build-tsan
