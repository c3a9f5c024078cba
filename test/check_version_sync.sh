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
newest_sql=$(ls sql/trickle--*.sql | sed -n 's/^sql\/trickle--\([0-9.]*\)\.sql$/\1/p' | sort -V | tail -n 1)
ok=1
for pair in "META.json version:$meta_top" "META.json provides:$meta_provides" \
	"META.json file:$meta_file" "docs/CHANGELOG.md:$changelog" "sql/ install script:$newest_sql"; do
	what=${pair%%:*}
	v=${pair#*:}
	if [ "$v" != "$control" ]; then
		echo "version mismatch: trickle.control says '$control', $what says '$v'"
		ok=0
	fi
done
# every step between released versions has an upgrade script
prev=
for v in $(ls sql/trickle--*.sql | sed -n 's/^sql\/trickle--\([0-9.]*\)\.sql$/\1/p' | sort -V); do
	if [ -n "$prev" ] && [ ! -f "sql/trickle--$prev--$v.sql" ]; then
		echo "missing upgrade script sql/trickle--$prev--$v.sql"
		ok=0
	fi
	prev=$v
done
[ $ok = 1 ] && echo "versions agree: $control"
[ $ok = 1 ]
