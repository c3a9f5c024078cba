
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

# ---------------------------------------------------------------------------
# Helpers for the oracle test (t/010_oracle.pl).  diff_rows and refresh_row
# take an optional "setup" SQL string that runs first in the same session
# (for instance "SET search_path = ..."), so that unqualified names in the
# query and the stream table name resolve as they did when the stream table
# was created.
# ---------------------------------------------------------------------------

push @EXPORT, qw(diff_rows refresh_row describe_diff);

# diff_rows(node, db, stream table, column list, query, setup => sql,
# limit => n): compares the stream table with its query run fresh, EXCEPT
# ALL both ways on the given column list (as diff_count does), and returns a
# hash reference:
#   count          rows that differ, both directions together
#   extra_count    rows in the stream table and not in the query's result
#   missing_count  rows in the query's result and not in the stream table
#   rows           number of rows of the stream table
#   extra, missing array references of at most "limit" (default 20) rows of
#                  each direction, each as the text of a record
#   error          set (to psql's stderr) when the comparison failed
sub diff_rows
{
	my ($node, $db, $st, $cols, $query, %opt) = @_;
	my $limit = $opt{limit} // 20;
	my $setup = $opt{setup} // '';

	# The aliases are unlikely to be column names of the compared rows: a
	# column named like the alias would win over the whole-row reference.
	my ($ret, $stdout, $stderr) = $node->psql(
		$db, qq{$setup
		WITH oracle_st AS MATERIALIZED (SELECT $cols FROM $st),
			 oracle_q AS MATERIALIZED (SELECT $cols FROM ($query) q),
			 oracle_extra AS (SELECT * FROM oracle_st
							  EXCEPT ALL SELECT * FROM oracle_q),
			 oracle_missing AS (SELECT * FROM oracle_q
								EXCEPT ALL SELECT * FROM oracle_st)
		SELECT 'count', (SELECT count(*) FROM oracle_extra) || ' '
					 || (SELECT count(*) FROM oracle_missing) || ' '
					 || (SELECT count(*) FROM oracle_st)
		UNION ALL
		(SELECT 'extra', oracle_e::text FROM oracle_extra oracle_e LIMIT $limit)
		UNION ALL
		(SELECT 'missing', oracle_m::text FROM oracle_missing oracle_m LIMIT $limit)});

	return { error => $stderr || "psql exited with $ret" } if $ret != 0;

	my %d = (extra => [], missing => []);
	foreach my $line (split /\n/, $stdout)
	{
		my ($tag, $row) = split /\|/, $line, 2;
		if ($tag eq 'count')
		{
			@d{qw(extra_count missing_count rows)} = split / /, $row;
		}
		else
		{
			push @{ $d{$tag} }, $row;
		}
	}
	return { error => "unexpected output: $stdout" }
	  unless defined $d{rows};
	$d{count} = $d{extra_count} + $d{missing_count};
	return \%d;
}

# refresh_row(node, db, stream table, setup => sql): refreshes the stream
# table and returns a hash reference with action, inserted, deleted (the
# columns of trickle.refresh_stream_table), or with error set.  "full" => 1
# forces a FULL refresh.
sub refresh_row
{
	my ($node, $db, $st, %opt) = @_;
	my $setup = $opt{setup} // '';
	my $full = $opt{full} ? 'true' : 'false';
	(my $lit = $st) =~ s/'/''/g;

	my ($ret, $stdout, $stderr) = $node->psql($db,
		"$setup\nSELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('$lit', \"full\" => $full)"
	);
	return { error => $stderr || "psql exited with $ret" } if $ret != 0;

	my ($action, $inserted, $deleted) = split /\|/, $stdout;
	return { error => "unexpected output: $stdout" } unless defined $deleted;
	return { action => $action, inserted => $inserted, deleted => $deleted };
}

# describe_diff(result of diff_rows): the differing rows as text, for a
# test's diagnostics
sub describe_diff
{
	my ($d) = @_;
	return "comparison failed: $d->{error}" if $d->{error};

	my $text = sprintf(
		"%d row(s) in the stream table and not in the query, %d row(s) in the query and not in the stream table",
		$d->{extra_count}, $d->{missing_count});
	$text .= "\n  only in stream table: $_" foreach @{ $d->{extra} };
	$text .= "\n  only in query result: $_" foreach @{ $d->{missing} };
	return $text;
}

1;
