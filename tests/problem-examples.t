#!/usr/bin/env bash
# The "Try it" examples of www/problems/ work as pasted against `make run`
# on any port: each block starts with BASE=http://127.0.0.1:${PORT:-8080},
# none names localhost:8080 or calls uuidgen (not installed by default on
# Debian), and every block runs here, page after page, against one test
# server, each annotated status checked (tests/examples.sh says how).
#
# Not run: forbidden (root reads every file, so it would not be a 403, and
# it chmods a file of the clone). Pages without a "Try it" block say why in
# their prose (a client cannot cause a 502, 503 or 504 from lighttpd, a
# full disk, an overflowing total).
#
# make run's payment timings, shortened (the shop still waits longer than
# tok_slow and less than tok_lost takes).
export PAYSIM_SLOW_MS=1000 PAYSIM_LOST_MS=2500 ONCESHOP_PROVIDER_TIMEOUT_MS=2000
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/examples.sh"
SKIP=" forbidden "
DIR=$ROOT/www/problems

# Each page's name and its "Try it" blocks, HTML entities decoded, NUL-separated.
blocks() {
	perl -e '
	for my $f (sort glob "$ARGV[0]/*.html") {
		my ($name) = $f =~ m{([^/]+)\.html$};
		local $/; open my $h, "<", $f or die; my $s = <$h>;
		my ($try) = $s =~ m{<h2>Try it</h2>(.*?)(?:<h2|</main>)}s or next;
		for my $b ($try =~ m{<pre><code>(.*?)</code></pre>}gs) {
			$b =~ s/&lt;/</g; $b =~ s/&gt;/>/g; $b =~ s/&quot;/"/g; $b =~ s/&#39;/\x27/g; $b =~ s/&amp;/&/g;
			print "$name\0$b\0";
		}
	}' "$DIR"
}

hits=$(grep -l 'localhost:8080' "$DIR"/*.html | xargs -r -n1 basename | tr '\n' ' ')
is "$hits" "" "no problem page names localhost:8080"
# The lint, page by page.
declare -A seen
uuid=
while IFS= read -r -d '' name && IFS= read -r -d '' block; do
	seen[$name]=1
	first=${block%%$'\n'*}
	rest=${block#*$'\n'}
	is "$first" 'BASE=http://127.0.0.1:${PORT:-8080}' "$name: the example starts with BASE"
	like "$(grep -cE 'https?://(localhost|127\.0\.0\.1)|nc localhost' <<<"$rest")" '^0$' \
		"$name: ... and names no host or port after that"
	[[ $block != *uuidgen* ]] || uuid+="$name "
done < <(blocks)
is "$uuid" "" "no example calls uuidgen"

start_server
examples_setup
while IFS= read -r -d '' name && IFS= read -r -d '' block; do
	if [[ $SKIP == *" $name "* ]]; then
		echo "# $name: not run (see the top of this test)"
		continue
	fi
	before=$TESTS
	run_example "$name" "$block"
	[ "$TESTS" -gt "$before" ] || fail "$name: the example annotates at least one status"
done < <(blocks)
echo "# pages without an example: $(cd "$DIR" && for f in *.html; do
	n=${f%.html}; [ -n "${seen[$n]:-}" ] || [ "$n" = index ] || printf '%s ' "$n"; done)"
done_testing
