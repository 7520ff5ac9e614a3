#!/usr/bin/env bash
# README.md's "Try it with curl" and "Lessons, one concept at a time" are
# true as pasted: every shell block marked <!-- readme-lessons.t: run -->
# runs, in order, in one shell, against one test server, and the statuses
# and `texts` its comments annotate are checked (tests/examples.sh says
# how). Two kinds of block need more than that server:
#   ttl      runs against a second server whose keys live 5 s: the block's
#            port 18081 becomes that server's (the first one is stopped
#            meanwhile, and started again after, on its port);
#   restart  runs after the server was stopped and started again, on the
#            same port with the same databases, as Ctrl-C and `make run` do;
#   lesson   runs after the same restart with ONCESHOP_LESSON=memory-store,
#   lesson_restart  after one more such restart; the server then goes back
#            to no lesson, as the README says to;
#   select   runs after a restart with ONCESHOP_LESSON=select-then-insert
#            (and a pause of 300 ms), then goes back to no lesson.
# Unmarked blocks are not run: the one that starts the second server.
# make run's payment timings, shortened (tok_slow still answers in time).
export PAYSIM_SLOW_MS=1000 ONCESHOP_PROVIDER_TIMEOUT_MS=2000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/examples.sh"

# The two sections' shell blocks: each one's mark ("" when unmarked) and
# its text without the list's indentation, NUL-separated.
blocks() {
	perl -e '
	local $/; open my $f, "<", $ARGV[0] or die; my $md = <$f>;
	my ($s) = $md =~ /^## Try it with curl\n(.*?)^## API\n/ms or die "no sections\n";
	while ($s =~ /(?:<!-- readme-lessons\.t: (\w+) -->\n)?([ \t]*)```sh\n(.*?)^[ \t]*```\n/msg) {
		my ($mark, $indent, $code) = ($1 // "", $2, $3);
		$code =~ s/^\Q$indent\E//mg;
		print "$mark\0$code\0";
	}' "$ROOT/README.md"
}

# The server starts from the clone, as make run does (ONCESHOP_SCHEMA).
# restart_server: stops the server and starts it again on its port.
restart_server() {
	local port=${BASE##*:}
	stop_server
	cd "$ROOT" && start_server "$port" && cd "$EXAMPLES/cwd"
}

# lesson_server_run TEXT [again]: restarts the server with the memory-store
# lesson on and runs TEXT; after "again", starts it without the lesson.
lesson_server_run() {
	ONCESHOP_LESSON=memory-store restart_server
	run_example "README, with ONCESHOP_LESSON=memory-store" "$1"
	[ -z "${2:-}" ] || restart_server
}

# ttl_server_run TEXT: runs TEXT against a second server, keys kept 5 s.
ttl_server_run() {
	local port=${BASE##*:} db=$ONCESHOP_DB pdb=$PAYSIM_DB
	stop_server
	export ONCESHOP_DB=$TMP/ttl.db PAYSIM_DB=$TMP/ttl-paysim.db ONCESHOP_IDEMPOTENCY_TTL=5
	cd "$ROOT" && start_server && cd "$EXAMPLES/cwd"
	run_example "keys expire (a second server)" "${1//18081/${BASE##*:}}"
	stop_server
	export ONCESHOP_DB=$db PAYSIM_DB=$pdb ONCESHOP_IDEMPOTENCY_TTL=
	cd "$ROOT" && start_server "$port" && cd "$EXAMPLES/cwd"
}

marks=0 unmarked=0
while IFS= read -r -d '' mark && IFS= read -r -d '' code; do
	if [ -n "$mark" ]; then marks=$((marks + 1)); else unmarked=$((unmarked + 1)); fi
done < <(blocks)
like "$marks" '^[1-9][0-9]$' "the sections mark their runnable blocks ($marks)"
is "$unmarked" 1 "... all but one: the second server's make run"
like "$(perl -ne 'print if /^## Try it with curl/ .. /^## API/' "$ROOT/README.md" | grep -c '127\.0\.0\.1:8080\|localhost:8080')" \
	'^0$' "... and no block or line names port 8080 but through PORT"

start_server
examples_setup
while IFS= read -r -d '' mark && IFS= read -r -d '' code; do
	case $mark in
	run) run_example "README" "$code" ;;
	ttl) ttl_server_run "$code" ;;
	restart) restart_server; run_example "README, after a restart" "$code" ;;
	lesson) lesson_server_run "$code" ;;
	lesson_restart) lesson_server_run "$code" again ;;
	select) ONCESHOP_LESSON=select-then-insert ONCESHOP_LESSON_PAUSE_MS=300 restart_server
		run_example "README, with ONCESHOP_LESSON=select-then-insert" "$code"
		restart_server ;;
	*) echo "# not run: ${code%%$'\n'*}" ;;
	esac
done < <(blocks)
done_testing
