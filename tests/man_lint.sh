#!/bin/sh
# man_lint.sh - the man pages of doc/man lint clean (`mandoc -T lint`,
# warnings included), and render without the two faults of mdoc that lint
# does not see:
#   - an enclosure or flag macro (Ql, Qq, Dq, Sq, Fl) followed on its line
#     by punctuation and more words, which it swallows: ".Ql name , also
#     60" renders 'name, also 60' in one pair of quotes, and ".Fl -x , for
#     every" renders "-x, -for -every";
#   - in the rendered text, a run of words each given a dash ("-for -every
#     -CA").
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib.sh"

skip_unless_bin mandoc "$(command -v mandoc)"
tmpdir
pages=("$top_srcdir"/doc/man/*.[1-8])
[ "${#pages[@]}" -ge 20 ] || fail "only ${#pages[@]} man pages found"
for page in "${pages[@]}"; do
	name=$(basename "$page")
	mandoc -T lint -W warning "$page" >"$tmp/$name.lint" 2>&1
	[ ! -s "$tmp/$name.lint" ] || fail "$name: mandoc -T lint" "$tmp/$name.lint"
	if grep -n -E '(^\.| )(Ql|Qq|Dq|Sq|Fl) [^ ]+ [,;:] [0-9a-z]' "$page" \
	    >"$tmp/$name.swallow"; then
		fail "$name: a macro swallows the words after its punctuation" \
		    "$tmp/$name.swallow"
	fi
	mandoc -T utf8 "$page" | col -b >"$tmp/$name.txt"
	if grep -n -E '(^|[ (])-(for|every|of|the|and|to|with|a|in|their|or)[ ,.]+-[A-Za-z]' \
	    "$tmp/$name.txt" >"$tmp/$name.dashes"; then
		fail "$name: words rendered with dashes" "$tmp/$name.dashes"
	fi
done
say "ok: ${#pages[@]} man pages lint clean and render whole"
exit 0
