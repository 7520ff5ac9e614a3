# tests/examples.sh — sourced after lib.sh (and start_server) by the tests
# that run the shell examples of the README and of www/problems/ as a
# learner pastes them: in one shell, with PORT set to the test server's, in
# a directory where onceshop.db is the test database.
#
# An example is cut after each annotated line into steps, run one after the
# other. A line is annotated when its comment (after " # ") starts with an
# HTTP status, or quotes text in backquotes:
#
#   curl -i $BASE/orders ...                      # 201, Location: /orders/1
#   curl -s $BASE/orders/$o -H "$A" | jq -r .status   # `paid`
#
# After that step, the status of the last answer curl got in it (or, if the
# step ran no curl, the last "HTTP/1.x NNN" line it printed) must be NNN, and
# every `text` must be in what the step printed. So annotations go only on
# lines that end a whole command, never inside a loop or a function.
#
#   examples_setup
#   run_example "a name" "$shell_text"

EXAMPLES=$TMP/examples

# examples_setup: the curl that notes statuses, first in PATH; PORT; the
# working directory.
examples_setup() {
	local real
	real=$(command -v curl)
	mkdir -p "$EXAMPLES/bin" "$EXAMPLES/cwd"
	: > "$EXAMPLES/statuses"
	# curl, as given, plus a --write-out that notes the final status of
	# each transfer in $EXAMPLES/statuses (on stderr, after the
	# example's own --write-out, if any).
	cat > "$EXAMPLES/bin/curl" <<-EOF
	#!/usr/bin/env bash
	args=() w=
	while [ \$# -gt 0 ]; do
		case \$1 in
		-w|--write-out) w=\$2; shift 2 ;;
		*) args+=("\$1"); shift ;;
		esac
	done
	err=\$(mktemp "$EXAMPLES/err.XXXXXX")
	"$real" "\${args[@]}" -w "\$w%{stderr}@@status %{http_code}\n" 2>"\$err"
	rc=\$?
	grep -ao '@@status [0-9]*' "\$err" | cut -d' ' -f2 >> "$EXAMPLES/statuses"
	perl -pe 's/\@\@status \d+\n//' "\$err" >&2
	rm -f "\$err"
	exit \$rc
	EOF
	chmod +x "$EXAMPLES/bin/curl"
	PATH=$EXAMPLES/bin:$PATH
	PORT=${BASE##*:}
	export PORT
	ln -sf "$ONCESHOP_DB" "$EXAMPLES/cwd/onceshop.db"
	cd "$EXAMPLES/cwd" || exit 1
}

# An example's bare `wait` waits for what the example started in the
# background, not for the test server, which is this shell's job too.
wait() {
	local pid
	if [ $# -gt 0 ]; then builtin wait "$@"; return; fi
	for pid in $(jobs -p); do
		[ "$pid" = "${SERVER_PID:-}" ] || builtin wait "$pid"
	done
}

# run_example NAME TEXT: runs the shell TEXT step by step, checking every
# annotation (one TAP line each).
run_example() {
	local _ex_name=$1 _ex_text=$2 _ex_line _ex_step= _ex_comment=
	while IFS= read -r _ex_line || [ -n "$_ex_line" ]; do
		_ex_step+=$_ex_line$'\n'
		_ex_comment=
		if [[ $_ex_line =~ ^[^#]*[^[:space:]#][^#]*[[:space:]]#[[:space:]]+(.*)$ ]]; then
			_ex_comment=${BASH_REMATCH[1]}
		fi
		if [[ $_ex_comment =~ ^[1-5][0-9][0-9]([^0-9]|$) || $_ex_comment == *\`*\`* ]]; then
			example_step "$_ex_name" "$_ex_step" "$_ex_comment"
			_ex_step=
		fi
	done <<<"$_ex_text"
	[ -z "${_ex_step//[[:space:]]/}" ] || example_step "$_ex_name" "$_ex_step" ""
}

# example_step NAME CODE COMMENT: runs CODE in this shell; checks COMMENT.
example_step() {
	local _ex_name=$1 _ex_code=$2 _ex_comment=$3 _ex_out=$EXAMPLES/out _ex_mark _ex_got _ex_want _ex_rest _ex_quoted _ex_ok=1 _ex_why=() _ex_code_lines _ex_out_lines
	_ex_mark=$(wc -l < "$EXAMPLES/statuses")
	set +u
	{ eval "$_ex_code"; } > "$_ex_out" 2>&1
	set -u
	[ -n "$_ex_comment" ] || return 0
	if [[ $_ex_comment =~ ^([1-5][0-9][0-9]) ]]; then
		_ex_want=${BASH_REMATCH[1]}
		_ex_got=$(tail -n +"$((_ex_mark + 1))" "$EXAMPLES/statuses" | tail -n 1)
		[ -n "$_ex_got" ] || _ex_got=$(grep -aoE '^HTTP/[0-9.]+ [0-9]{3}' "$_ex_out" | tail -n 1 | cut -d' ' -f2)
		[ "$_ex_got" = "$_ex_want" ] || { _ex_ok=; _ex_why+=("status: got '${_ex_got:-none}', expected '$_ex_want'"); }
	fi
	_ex_rest=$_ex_comment
	while [[ $_ex_rest =~ \`([^\`]+)\`(.*)$ ]]; do
		_ex_quoted=${BASH_REMATCH[1]} _ex_rest=${BASH_REMATCH[2]}
		grep -qaF -- "$_ex_quoted" "$_ex_out" || { _ex_ok=; _ex_why+=("output lacks: $_ex_quoted"); }
	done
	if [ -n "$_ex_ok" ]; then
		pass "$_ex_name: # $_ex_comment"
	else
		mapfile -t _ex_code_lines <<<"$_ex_code"
		mapfile -t _ex_out_lines < <(tail -n 15 "$_ex_out" | tr -d '\r')
		fail "$_ex_name: # $_ex_comment" "${_ex_why[@]}" "the step:" "${_ex_code_lines[@]/#/    }" \
			"its output (last 15 lines):" "${_ex_out_lines[@]/#/    }"
	fi
}
