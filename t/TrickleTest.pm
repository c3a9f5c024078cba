
# Copyright (c) trickle contributors

# Helpers shared by trickle's TAP tests.

package TrickleTest;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT = qw(diff_count refresh);

# diff_count(node, db, stream table, column list, query): the number of rows
# that differ between the stream table and its query, both ways (EXCEPT ALL),
# or the error.  The column list is applied to both sides (json has no
# equality: compare it as text).
sub diff_count
{
	my ($node, $db, $st, $cols, $query) = @_;
	my ($ret, $stdout, $stderr) = $node->psql(
		$db, qq{
		SELECT count(*) FROM (
			(SELECT $cols FROM $st EXCEPT ALL SELECT $cols FROM ($query) q)
			UNION ALL
			(SELECT $cols FROM ($query) q EXCEPT ALL SELECT $cols FROM $st)) d});

	return $ret == 0 ? $stdout : "error: $stderr";
}

# refresh(node, db, stream table): "action|rows_inserted|rows_deleted", or
# the error
sub refresh
{
	my ($node, $db, $st) = @_;
	my ($ret, $stdout, $stderr) = $node->psql($db,
		"SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('$st')"
	);

	return $ret == 0 ? $stdout : "error: $stderr";
}

1;
