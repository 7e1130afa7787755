#!/usr/bin/env bash
# man/gen.sh JPKI [PAGE [OUT]]: write PAGE (default man/jpki.1) to OUT
# (default PAGE itself) with its COMMANDS section (between the BEGIN/END
# COMMANDS markers) filled from the real `jpki COMMAND --help` of the jpki
# binary JPKI.  The build runs it into build/man/jpki.1, the page that is
# installed; the committed man/jpki.1 keeps the section empty.  With
# --check, change nothing: exit 1 and show the difference when OUT no
# longer matches the program's help.
set -euo pipefail
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
jpki=${1:?usage: man/gen.sh [--check] JPKI [PAGE [OUT]]}
page=${2:-$(dirname "$0")/jpki.1}
out=${3:-$page}

# roff-escape help text for a no-fill block: backslash, hyphen-minus, and a
# leading dot or quote.
esc() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }

section() {
	local cmds
	cmds=$("$jpki" --help | sed -n '/^commands:/,/^$/p' | awk 'NR>1 && NF {print $1}')
	for c in $cmds; do
		printf '.SS "jpki %s"\n.nf\n' "$c"
		# a command's help ends with status 0 on stdout, or 2 on stderr
		{ "$jpki" "$c" --help 2>&1 || true; } | esc
		printf '.fi\n'
	done
}

tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.sec"' EXIT
section >"$tmp.sec"
awk -v sec="$tmp.sec" '
	/^\.\\" BEGIN COMMANDS/ { print; while ((getline l < sec) > 0) print l; skip = 1; next }
	/^\.\\" END COMMANDS/ { skip = 0 }
	!skip { print }' "$page" >"$tmp"
grep -q '^\.\\" END COMMANDS' "$tmp" || { echo "gen.sh: no COMMANDS markers in $page" >&2; exit 1; }
[ -s "$tmp.sec" ] || { echo "gen.sh: $jpki --help lists no commands" >&2; exit 1; }
if [ $check = 1 ]; then
	diff -u "$out" "$tmp" || { echo "gen.sh: $out is stale: rebuild (man/gen.sh)" >&2; exit 1; }
else
	mkdir -p "$(dirname "$out")"
	cp "$tmp" "$out"
fi
