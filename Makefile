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
# The payment provider: empty means paysim, served by the same lighttpd.
ONCESHOP_PROVIDER_URL ?=
ONCESHOP_PROVIDER_SECRET ?=
ONCESHOP_PROVIDER_TIMEOUT_MS ?=
ONCESHOP_COMPLETER_MS ?=
ONCESHOP_PROVIDER_SLOTS ?=
export ONCESHOP_PROVIDER_TIMEOUT_MS ONCESHOP_COMPLETER_MS ONCESHOP_PROVIDER_SLOTS
# paysim, the payment-provider simulator lighttpd serves under /paysim/.
PAYSIM_DB	?= $(CURDIR)/paysim.db
PAYSIM_SECRET	?=
PAYSIM_SLOW_MS	?=
PAYSIM_LOST_MS	?=
PAYSIM_THREADS	?=
export PAYSIM_DB PAYSIM_SECRET PAYSIM_SLOW_MS PAYSIM_LOST_MS PAYSIM_THREADS

PACKAGES = gcc make pkg-config lighttpd libfcgi-dev libsqlite3-dev \
	   libjson-c-dev libssl-dev libcurl4-openssl-dev libpq-dev postgresql curl sqlite3 jq perl wrk valgrind fiu-utils \
	   libhiredis-dev redis-server
LIBS_PC	 = fcgi sqlite3 json-c libcrypto libcurl libpq hiredis

CC	?= cc
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wpointer-arith -Wformat=2
# Recursively expanded, so pkg-config runs only after `deps` installed it.
CFLAGS	 = -std=c11 -D_GNU_SOURCE -pthread -O2 -g $(WARN) $(shell pkg-config --cflags $(LIBS_PC))
LDLIBS	 = $(shell pkg-config --libs $(LIBS_PC))
SAN	 = -fsanitize=address,undefined -fno-omit-frame-pointer

# Two programs on one core. The core (app/core) is built once and sees
# only its own headers; each program (app/shop: onceshop, app/paysim) sees
# the core's and its own, and is linked with the core and its own folder
# only, whose main.c is its entry. The unit tests and fuzz harnesses link
# every piece but the two mains.
CORE_SRC   = $(wildcard app/core/*.c)
# The lessons (designs that fail, ONCESHOP_LESSON): onceshop's only, apart.
SHOP_SRC   = $(wildcard app/shop/*.c) $(wildcard app/lessons/*.c)
PAYSIM_SRC = $(wildcard app/paysim/*.c)
APP_SRC	   = $(CORE_SRC) $(SHOP_SRC) $(PAYSIM_SRC)
CORE_OBJ   = $(CORE_SRC:app/%.c=build/obj/%.o)
TEST_SRC   = $(filter-out app/shop/main.c app/paysim/main.c, $(APP_SRC))
TEST_OBJ   = $(TEST_SRC:app/%.c=build/obj/%.o)
# The unit tests: one TAP program (build/unit) of every tests/unit/*.c.
UNIT_SRC   = $(wildcard tests/unit/*.c)
UNIT_OBJ   = $(UNIT_SRC:tests/unit/%.c=build/obj/unit/%.o)
INC_SHOP   = -Iapp/core -Iapp/shop -Iapp/lessons
INC_PAYSIM = -Iapp/core -Iapp/paysim
INC_ALL	   = -Iapp/core -Iapp/shop -Iapp/paysim -Iapp/lessons

.PHONY: all run cluster test unit asan tsan bench reset sweep deps clean endpoint

all: build/onceshop build/paysim

# $(call install,PACKAGES,COMMANDS): installs what is missing of PACKAGES
# with apt-get as root, or prints the command to run and fails; elsewhere
# than Debian/Ubuntu, checks that COMMANDS exist.
define install
	@missing=""; \
	if ! command -v dpkg-query >/dev/null; then \
		echo "not a Debian/Ubuntu system: install $(1) by hand"; \
		for c in $(2); do command -v $$c >/dev/null || exit 1; done; \
		exit 0; \
	fi; \
	for p in $(1); do \
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
endef

deps:
	$(call install,$(PACKAGES),cc pkg-config lighttpd curl prove)

build/onceshop: $(SHOP_SRC:app/%.c=build/obj/%.o) $(CORE_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/paysim: $(PAYSIM_SRC:app/%.c=build/obj/%.o) $(CORE_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/unit: $(UNIT_OBJ) $(TEST_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/obj/unit/%.o: tests/unit/%.c tests/unit/unit.h | deps
	@mkdir -p build/obj/unit
	$(CC) $(CFLAGS) $(INC_ALL) -MMD -MP -c -o $@ $<

build/obj/core/%.o: app/core/%.c | deps
	@mkdir -p build/obj/core
	$(CC) $(CFLAGS) -Iapp/core -MMD -MP -c -o $@ $<

build/obj/shop/%.o: app/shop/%.c | deps
	@mkdir -p build/obj/shop
	$(CC) $(CFLAGS) $(INC_SHOP) -MMD -MP -c -o $@ $<

build/obj/lessons/%.o: app/lessons/%.c | deps
	@mkdir -p build/obj/lessons
	$(CC) $(CFLAGS) -Iapp/core -Iapp/lessons -MMD -MP -c -o $@ $<

build/obj/paysim/%.o: app/paysim/%.c | deps
	@mkdir -p build/obj/paysim
	$(CC) $(CFLAGS) $(INC_PAYSIM) -MMD -MP -c -o $@ $<

# The same programs with AddressSanitizer and UBSan, in build-asan/.
build-asan/onceshop build-asan/paysim build-asan/unit &: $(APP_SRC) $(UNIT_SRC) tests/unit/unit.h | deps
	@mkdir -p build-asan
	$(CC) $(CFLAGS) $(SAN) $(INC_SHOP) -o build-asan/onceshop $(SHOP_SRC) $(CORE_SRC) $(LDLIBS)
	$(CC) $(CFLAGS) $(SAN) $(INC_PAYSIM) -o build-asan/paysim $(PAYSIM_SRC) $(CORE_SRC) $(LDLIBS)
	$(CC) $(CFLAGS) $(SAN) $(INC_ALL) -o build-asan/unit $(UNIT_SRC) $(TEST_SRC) $(LDLIBS)

# The same with ThreadSanitizer, in build-tsan/ (make tsan).
build-tsan/onceshop build-tsan/paysim build-tsan/unit &: $(APP_SRC) $(UNIT_SRC) tests/unit/unit.h | deps
	@mkdir -p build-tsan
	$(CC) $(CFLAGS) -fsanitize=thread $(INC_SHOP) -o build-tsan/onceshop $(SHOP_SRC) $(CORE_SRC) $(LDLIBS)
	$(CC) $(CFLAGS) -fsanitize=thread $(INC_PAYSIM) -o build-tsan/paysim $(PAYSIM_SRC) $(CORE_SRC) $(LDLIBS)
	$(CC) $(CFLAGS) -fsanitize=thread $(INC_ALL) -o build-tsan/unit $(UNIT_SRC) $(TEST_SRC) $(LDLIBS)

-include $(wildcard build/*.d build/obj/*/*.d)

# make endpoint NAME=refunds: scaffolds an idempotent POST /refunds in the
# shop, a template to edit (app/endpoint.sh); make test passes after it.
endpoint:
	@app/endpoint.sh "$(NAME)"

# make run DB=postgres: the same on a PostgreSQL server of our own
# (tests/serve-pg.sh); make cluster: two hosts on PORT and PORT+1 sharing it.
# Their paysim keeps a database of its own, build/paysim-pg.db, unless
# PAYSIM_DB is given: the SQLite run's ledger would count other charges.
DB ?= sqlite
PG_PAYSIM_DB = $(if $(filter file,$(origin PAYSIM_DB)),$(CURDIR)/build/paysim-pg.db,$(PAYSIM_DB))
run: build/onceshop build/paysim
ifeq ($(DB),postgres)
	@PORT=$(PORT) PAYSIM_DB=$(PG_PAYSIM_DB) tests/with-redis.sh tests/serve-pg.sh 1
else
	@build/onceshop init --demo
	@build/paysim init
	@echo
	@echo "onceshop on http://127.0.0.1:$(PORT)/  (database: $(ONCESHOP_DB))"
	@echo "demo tokens (local demos only): alice-token, bob-token"
	@echo "try:  curl -i http://127.0.0.1:$(PORT)/products"
	@echo "paysim on http://127.0.0.1:$(PORT)/paysim/  (database: $(PAYSIM_DB))"
	@echo "paysim secret: $(or $(PAYSIM_SECRET),paysim-secret (local demos only))"
	@echo "try:  curl -i http://127.0.0.1:$(PORT)/paysim/health"
	@echo "Ctrl-C stops it."
	@echo
	@ONCESHOP_PORT=$(PORT) ONCESHOP_BIN=$(CURDIR)/build/onceshop \
		ONCESHOP_PROVIDER_URL=$(or $(ONCESHOP_PROVIDER_URL),http://127.0.0.1:$(PORT)/paysim) \
		ONCESHOP_PROVIDER_SECRET=$(or $(ONCESHOP_PROVIDER_SECRET),$(PAYSIM_SECRET)) \
		PAYSIM_BIN=$(CURDIR)/build/paysim \
		ONCESHOP_SOCKET=/tmp/onceshop-$(PORT).sock ONCESHOP_LOG=/dev/stderr \
		exec tests/with-redis.sh lighttpd -D -f lighttpd.conf
endif

cluster: build/onceshop build/paysim
	@PORT=$(PORT) PAYSIM_DB=$(PG_PAYSIM_DB) tests/with-redis.sh tests/serve-pg.sh 2

# Unit tests (C, TAP) and API tests (bash + curl against a real lighttpd,
# TAP), all through prove. ONCESHOP_BIN and PAYSIM_BIN pick the binaries
# the API tests run; TEST_PORTS=LO-HI the loopback ports their servers may
# take.
TEST_PORTS ?=
export TEST_PORTS
ONCESHOP_BIN ?= $(CURDIR)/build/onceshop
PAYSIM_BIN ?= $(CURDIR)/build/paysim
# The API tests run twice: on SQLite, and on PostgreSQL (a throwaway server
# that tests/pg-prove.sh starts and stops; sockets only, no TCP port).
PG_TESTS = $(wildcard tests/api-*.t) tests/openapi.t tests/cli.t
# make test PROVE_FLAGS=-v prints every test's name, not only each file's.
PROVE_FLAGS ?=
test: build/onceshop build/paysim build/unit
	ONCESHOP_BIN=$(ONCESHOP_BIN) PAYSIM_BIN=$(PAYSIM_BIN) \
		UNIT_BIN=$(CURDIR)/build/unit prove $(PROVE_FLAGS) tests/
	ONCESHOP_BIN=$(ONCESHOP_BIN) PAYSIM_BIN=$(PAYSIM_BIN) \
		tests/pg-prove.sh $(PROVE_FLAGS) $(PG_TESTS)

# Every test again, against the sanitizer build; and the unit tests of the
# plain build under valgrind, which sees what the sanitizers do not
# (uninitialised reads).
asan: build-asan/onceshop build-asan/paysim build-asan/unit build/unit
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ONCESHOP_BIN=$(CURDIR)/build-asan/onceshop PAYSIM_BIN=$(CURDIR)/build-asan/paysim \
	UNIT_BIN=$(CURDIR)/build-asan/unit prove tests/
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ONCESHOP_BIN=$(CURDIR)/build-asan/onceshop PAYSIM_BIN=$(CURDIR)/build-asan/paysim \
	tests/pg-prove.sh $(PG_TESTS)
	valgrind -q --error-exitcode=1 --leak-check=full build/unit >/dev/null

# Every test again under ThreadSanitizer: the request threads and the writer.
tsan: build-tsan/onceshop build-tsan/paysim build-tsan/unit
	TSAN_OPTIONS=halt_on_error=1 \
	ONCESHOP_BIN=$(CURDIR)/build-tsan/onceshop PAYSIM_BIN=$(CURDIR)/build-tsan/paysim \
	UNIT_BIN=$(CURDIR)/build-tsan/unit prove tests/
	TSAN_OPTIONS=halt_on_error=1 \
	ONCESHOP_BIN=$(CURDIR)/build-tsan/onceshop PAYSIM_BIN=$(CURDIR)/build-tsan/paysim \
	tests/pg-prove.sh $(PG_TESTS)

# A FastCGI hello (the ceiling) and onceshop behind the same lighttpd,
# measured with wrk on loopback; the table is kept in build/bench.txt.
# `make bench BENCH_SECS=3` for a quick run; `make bench DB=postgres` on a
# throwaway PostgreSQL, kept in build/bench-postgres.txt. See bench/README.md.
bench: build/onceshop build/paysim build/hello
	ONCESHOP_BIN=$(CURDIR)/build/onceshop PAYSIM_BIN=$(CURDIR)/build/paysim \
		BENCH_HELLO_BIN=$(CURDIR)/build/hello BENCH_DB=$(DB) \
		bash -o pipefail -c 'bench/run.sh | tee build/bench$(if $(filter postgres,$(DB)),-postgres).txt'

build/hello: bench/hello.c | deps
	@mkdir -p build
	$(CC) $(CFLAGS) -o $@ $< $(LDLIBS)

# Fresh demo databases, the shop's and paysim's (stop `make run` first).
reset: build/onceshop build/paysim
	rm -f $(ONCESHOP_DB) $(ONCESHOP_DB)-wal $(ONCESHOP_DB)-shm
	rm -f $(PAYSIM_DB) $(PAYSIM_DB)-wal $(PAYSIM_DB)-shm
	build/onceshop init --demo
	build/paysim init

sweep: build/onceshop
	build/onceshop sweep

# libFuzzer harnesses (tests/fuzz/): `make fuzz` builds them with clang and
# the sanitizers in build-fuzz/ and runs each for FUZZ_SECS seconds on a
# copy of its seed corpus (build-fuzz/corpus-NAME/, which keeps what it
# finds); a crash fails it and leaves build-fuzz/crash-NAME-*. `make test`
# needs no clang: it replays the seed corpus through the same harnesses
# built with $(CC) as build/fuzz-replay-NAME (tests/fuzz.t).
FUZZ_PACKAGES = clang libclang-rt-14-dev
FUZZ_NAMES = key body request
FUZZ_SECS ?= 60
FUZZ_CC	 = clang
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -pthread -g -O1 $(WARN) \
	   $(shell pkg-config --cflags $(LIBS_PC)) -fno-omit-frame-pointer \
	   -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB = $(TEST_SRC:app/%.c=build-fuzz/%.o)
FUZZ_REPLAY = $(FUZZ_NAMES:%=build/fuzz-replay-%)

.PHONY: fuzz deps-fuzz clean-fuzz

deps-fuzz:
	$(call install,$(FUZZ_PACKAGES),clang)

build-fuzz/%.o: app/%.c | deps deps-fuzz
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(INC_ALL) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(wildcard app/*/*.h) \
	    $(FUZZ_LIB) | deps deps-fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(INC_ALL) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS)

build/fuzz-replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h \
	    $(wildcard app/*/*.h) $(TEST_OBJ) | deps
	$(CC) $(CFLAGS) $(INC_ALL) -o $@ $< tests/fuzz/replay.c \
		$(TEST_OBJ) $(LDLIBS)

-include $(wildcard build-fuzz/*.d build-fuzz/*/*.d)

# Bodies and requests may be longer than the 64 KiB a body may be; a
# harness's tests/fuzz/fuzz_NAME.dict, if any, lends it tokens.
fuzz: $(FUZZ_NAMES:%=build-fuzz/fuzz_%)
	@for n in $(FUZZ_NAMES); do \
		case $$n in key) len=;; *) len=-max_len=70000;; esac; \
		dict=tests/fuzz/fuzz_$$n.dict; \
		[ -f $$dict ] && dict=-dict=$$dict || dict=; \
		mkdir -p build-fuzz/corpus-$$n && \
		cp tests/fuzz/corpus/fuzz_$$n/* build-fuzz/corpus-$$n/ && \
		echo "fuzz_$$n: $(FUZZ_SECS) s" && \
		build-fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECS) $$len $$dict \
			-print_final_stats=1 -artifact_prefix=build-fuzz/crash-$$n- \
			build-fuzz/corpus-$$n || exit 1; \
	done

# The seed corpus is replayed by every test run.
test asan tsan: $(FUZZ_REPLAY)

clean: clean-fuzz
clean-fuzz:
	rm -rf build-fuzz $(FUZZ_REPLAY)

clean:
	rm -rf build build-asan build-tsan

# Browser tests (tests/browser.t): Debian's chromium, driven by
# puppeteer-core (tests/package.json), which downloads no browser of its
# own; tests/openapi.t's @redocly/cli comes from the same package.json.
# `npm ci` installs the locked packages into tests/node_modules when it is
# missing or older than the lockfile. npm is checked for, not
# installed: it comes with Node.js (NodeSource's nodejs package includes
# it), and Debian's own npm package would conflict with that nodejs.
BROWSER_PACKAGES = chromium

.PHONY: deps-browser

deps-browser:
	$(call install,$(BROWSER_PACKAGES),chromium)
	@command -v npm >/dev/null || { \
		echo "npm is missing: install Node.js 18 or later with npm, e.g."; \
		echo "  NodeSource's nodejs package, which includes npm"; \
		exit 1; }

tests/node_modules/.package-lock.json: tests/package-lock.json tests/package.json | deps-browser
	cd tests && npm ci --no-audit --no-fund
	@touch $@

test asan tsan: deps-browser tests/node_modules/.package-lock.json

# ---- make install -----------------------------------------------------------
# The two programs to $(PREFIX)/bin; the migrations (SQLite's, paysim's,
# PostgreSQL's in schema/pg/), www/ and the deployment
# examples (schema/examples/: lighttpd with mod_fastcgi; systemd socket +
# nginx) to $(PREFIX)/share/onceshop, with @PREFIX@ in the examples made
# the real prefix. `onceshop init` then needs
# ONCESHOP_SCHEMA=$(PREFIX)/share/onceshop/schema.
PREFIX	?= /usr/local
DESTDIR	?=
SHARE	 = $(DESTDIR)$(PREFIX)/share/onceshop
.PHONY: install
install: build/onceshop build/paysim
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/schema/paysim \
		$(SHARE)/schema/pg $(SHARE)/schema/common $(SHARE)/examples
	install -m 755 build/onceshop build/paysim $(DESTDIR)$(PREFIX)/bin/
	install -m 644 schema/*.sql $(SHARE)/schema/
	install -m 644 schema/paysim/*.sql $(SHARE)/schema/paysim/
	install -m 644 schema/pg/*.sql $(SHARE)/schema/pg/
	install -m 644 schema/common/*.sql $(SHARE)/schema/common/
	rm -rf $(SHARE)/www
	cp -R www $(SHARE)/www
	chmod -R u=rwX,go=rX $(SHARE)/www
	for f in schema/examples/*; do \
		sed 's|@PREFIX@|$(PREFIX)|g' $$f >$(SHARE)/examples/$${f##*/} && \
		chmod 644 $(SHARE)/examples/$${f##*/} || exit 1; \
	done
	@echo "installed in $(DESTDIR)$(PREFIX); deployment examples in $(PREFIX)/share/onceshop/examples"
