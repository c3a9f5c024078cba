#!/usr/bin/env bash
# make check-version-sync: trickle.control, META.json, sql/ and
# docs/CHANGELOG.md must agree on the current version.
set -u
cd "$(dirname "$0")/.." || exit 1
control=$(sed -n "s/^default_version = '\(.*\)'/\1/p" trickle.control)
meta_top=$(sed -n 's/^   "version": "\(.*\)",/\1/p' META.json)
meta_provides=$(sed -n 's/^         "version": "\(.*\)"/\1/p' META.json)
meta_file=$(sed -n 's/^         "file": "sql\/trickle--\(.*\)\.sql",/\1/p' META.json)
changelog=$(sed -n 's/^## \[\{0,1\}\([0-9][0-9.]*\)\]\{0,1\}.*/\1/p' docs/CHANGELOG.md | head -n 1)
# the newest version a script reaches: an install script, or the target of
# an update script (CREATE EXTENSION follows the update path from the newest
# install script below the requested version)
newest_sql=$(ls sql/trickle--*.sql | sed -n 's/^sql\/trickle--\([0-9.]*--\)\{0,1\}\([0-9.]*\)\.sql$/\2/p' | sort -V | tail -n 1)
ok=1
for pair in "META.json version:$meta_top" "META.json provides:$meta_provides" \
	"docs/CHANGELOG.md:$changelog" "sql/ newest script:$newest_sql"; do
	what=${pair%%:*}
	v=${pair#*:}
	if [ "$v" != "$control" ]; then
		echo "version mismatch: trickle.control says '$control', $what says '$v'"
		ok=0
	fi
done
if [ ! -f "sql/trickle--$meta_file.sql" ]; then
	echo "META.json names sql/trickle--$meta_file.sql, which does not exist"
	ok=0
fi
# every step between versions has an upgrade script
prev=
for v in $(ls sql/trickle--*.sql | sed -n 's/^sql\/trickle--\([0-9.]*--\)\{0,1\}\([0-9.]*\)\.sql$/\2/p' | sort -uV); do
	if [ -n "$prev" ] && [ ! -f "sql/trickle--$prev--$v.sql" ]; then
		echo "missing upgrade script sql/trickle--$prev--$v.sql"
		ok=0
	fi
	prev=$v
done
[ $ok = 1 ] && echo "versions agree: $control"
[ $ok = 1 ]
