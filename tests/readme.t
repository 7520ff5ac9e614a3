#!/usr/bin/env bash
# The README's "Adding an idempotent endpoint" is true: its snippets, put
# where they say, build into the program with every warning an error.
. "$(dirname "$0")/lib.sh"

# onceshop: every source but paysim's main.
mkdir -p "$TMP/src" && cp "$ROOT"/app/*.[ch] "$TMP/src/" && rm "$TMP/src/paysim.c"
perl - "$ROOT/README.md" "$TMP/src" <<'PERL' > "$TMP/applied" 2>&1
use strict; use warnings;
my ($readme, $dir) = @ARGV;
local $/; open my $f, '<', $readme or die; my $md = <$f>;
my ($section) = $md =~ /^## Adding an idempotent endpoint\n(.*?)^## /ms or die "no section\n";
sub edit { my ($file, $code) = @_;
	open my $i, '<', "$dir/$file" or die "$file: $!"; my $s = <$i>;
	$code->($s); open my $o, '>', "$dir/$file" or die; print $o $s; }
for my $block ($section =~ /```c\n(.*?)```/gs) {
	my ($file) = $block =~ m{^/\* app/(\S+?)[ ,]} or die "no file in: $block";
	my $whole = $block;
	$block =~ s{^/\*.*?\*/\n}{}s;	# the "where it goes" line
	if ($file eq 'refunds.c') { open my $o, '>', "$dir/$file" or die; print $o $whole; }
	elsif ($file eq 'stmts.h') { edit($file, sub { $_[0] =~ s{^(\t/\* new statements go above)}{$block$1}m or die "stmts.h\n" }) }
	elsif ($file eq 'stmts.c') { edit($file, sub { $_[0] =~ s/^\};\s*\z/$block};\n/m or die "stmts.c\n" }) }
	elsif ($file eq 'handlers.h') { edit($file, sub { $_[0] =~ s{^#endif}{$block\n#endif}m or die "handlers.h\n" }) }
	elsif ($file eq 'router.c') { edit($file, sub { $_[0] =~ s{(routes\[\] = \{\n)}{$1$block}m or die "router.c\n" }) }
	else { die "unknown target $file\n" }
	print "applied $file\n";
}
PERL
is "$(sort "$TMP/applied" | tr '\n' ' ')" \
	"applied handlers.h applied refunds.c applied router.c applied stmts.c applied stmts.h " \
	"the README's five snippets each have a place"
LIBS="fcgi sqlite3 json-c libcrypto libcurl libpq"
if cc -std=c11 -D_GNU_SOURCE -pthread -Wall -Wextra -Werror -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes $(pkg-config --cflags $LIBS) \
	-o "$TMP/onceshop" "$TMP"/src/*.c $(pkg-config --libs $LIBS) -lm 2>"$TMP/cc.log"; then
	pass "... and with them onceshop builds without a warning"
else
	fail "... and with them onceshop builds without a warning" "$(head -20 "$TMP/cc.log")"
fi
"$TMP/onceshop" --version >/dev/null 2>&1 && pass "... and runs" || fail "... and runs"
done_testing
