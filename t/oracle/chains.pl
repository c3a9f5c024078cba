# Copyright (c) trickle contributors

# Stream tables reading stream tables.  Each shape's ddl creates the
# upstream stream tables (differential unless said otherwise) and the
# shape's query reads them; pre_refresh refreshes them before each check,
# upstreams first, every third cycle with "full" => true.  The stream table
# under test then reads the upstreams' change buffers, filled by the
# upstreams' own refreshes: DIFFERENTIAL MERGEs, FULL rewrites, and the
# REINITIALIZE that follows a TRUNCATE of one of their sources.

# An aggregate over an upstream join.  The join is on a non-unique code, so
# the upstream holds duplicate rows, and refilled tables still join after a
# TRUNCATE.
push @shapes, {
	name => 'chain_agg_over_join',
	ddl => q{
		CREATE TABLE customers (id int PRIMARY KEY, code int, region text);
		CREATE TABLE orders (id int PRIMARY KEY, cust int, amount numeric);
		SELECT trickle.create_stream_table('lines',
			'SELECT o.id AS oid, c.region, o.amount FROM orders o JOIN customers c ON c.code = o.cust',
			refresh_mode => 'differential');
	},
	tables => [
		{ name => 'customers', pk => 'id', rows => 12,
		  cols => [ col('code', g_int(1, 9, 0.05), 'key'), col('region', g_text(\@regions, 0.1), 'key') ] },
		{ name => 'orders', pk => 'id', rows => 60,
		  cols => [ col('cust', g_int(1, 10, 0.05), 'key'), col('amount', g_num(0, 100, 0.1)) ] } ],
	pre_refresh => [ 'lines' ],
	query => q{SELECT region, count(*) AS n, sum(amount) AS total, min(amount) AS mn
		FROM lines GROUP BY region},
	cols => 'region, n, total, mn',
	truncate => 1,
};

# A diamond: two upstreams of one table (an aggregate and a filter), joined.
push @shapes, {
	name => 'chain_diamond',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, g int, v int, s text);
		SELECT trickle.create_stream_table('by_g',
			'SELECT g, count(*) AS n, sum(v) AS sv FROM t GROUP BY g',
			refresh_mode => 'differential');
		SELECT trickle.create_stream_table('big',
			'SELECT id, g, v, s FROM t WHERE v > 5', refresh_mode => 'differential');
	},
	tables => [ {
		name => 't', pk => 'id', rows => 50,
		cols => [ col('g', g_int(0, 6, 0.1), 'key'), col('v', g_int(0, 12, 0.1)),
				  col('s', g_text(\@fruits, 0.1)) ] } ],
	pre_refresh => [ 'by_g', 'big' ],
	query => q{SELECT b.id, b.s, b.v, a.n, a.sv FROM big b JOIN by_g a ON a.g = b.g},
	cols => 'id, s, v, n, sv',
	truncate => 1,
};

# Three levels, the first a FULL stream table, and the stream table under
# test also joins a table the first level reads.
push @shapes, {
	name => 'chain_three_levels',
	ddl => q{
		CREATE TABLE t (id int PRIMARY KEY, k int, v int);
		CREATE TABLE dim (k int PRIMARY KEY, label text);
		SELECT trickle.create_stream_table('l1',
			'SELECT t.id, t.k, t.v, d.label FROM t JOIN dim d ON d.k = t.k',
			refresh_mode => 'full');
		SELECT trickle.create_stream_table('l2',
			'SELECT label, count(*) AS n, sum(v) AS s, max(v) AS mx FROM l1 GROUP BY label',
			refresh_mode => 'differential');
	},
	tables => [
		{ name => 't', pk => 'id', rows => 50,
		  cols => [ col('k', g_int(1, 10, 0.05), 'key'), col('v', g_int(0, 30, 0.1)) ] },
		{ name => 'dim', pk => 'k', rows => 8,
		  cols => [ col('label', g_text([ 'red', 'green', 'blue' ], 0.1), 'key') ] } ],
	pre_refresh => [ 'l1', 'l2' ],
	query => q{SELECT l2.label, l2.n, l2.s, l2.mx, d.k FROM l2 JOIN dim d ON d.label = l2.label},
	cols => 'label, n, s, mx, k',
	truncate => 1,
};

1;
