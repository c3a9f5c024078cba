-- Keyed recompute (src/ivm/recompute.c): how explain_stream_table renders
-- it, that refreshes are differential and right, and what stays FULL.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA rc;
SET search_path = rc, public;
CREATE TABLE t (id int PRIMARY KEY, g int, h text, v int);
INSERT INTO t SELECT i, i % 4, 'h' || (i % 3), i FROM generate_series(1, 20) i;
CREATE TABLE u (id int PRIMARY KEY, g int, v int);
INSERT INTO u SELECT i, i % 5, i % 7 FROM generate_series(1, 12) i;

-- the operator tree and hidden columns of a stream table
CREATE FUNCTION shape(st text) RETURNS TABLE (property text, value text) LANGUAGE sql AS $$
  SELECT property, value FROM trickle.explain_stream_table(st)
   WHERE property IN ('effective_mode', 'operator_tree', 'hidden_column')
$$;
-- rows that differ between a stream table (on columns cols) and its query
CREATE FUNCTION differing(st text, cols text, q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((SELECT %s FROM %s EXCEPT ALL SELECT * FROM (%s) b)
                  UNION ALL (SELECT * FROM (%s) c EXCEPT ALL SELECT %s FROM %s)) x',
                 cols, st, q, q, cols, st)
    INTO n;
  RETURN n;
END $$;

-- aggregates the algebraic path does not maintain, HAVING, expressions
SELECT trickle.create_stream_table('agg_having',
  $$SELECT g, string_agg(h, ',' ORDER BY id) AS hs, count(DISTINCT h) AS dh,
           sum(v) FILTER (WHERE v > 5) * 2 AS s2
      FROM t GROUP BY g HAVING count(*) > 4$$, refresh_mode => 'differential');
SELECT * FROM shape('agg_having');

-- a grouping key that is not an output column is kept hidden
SELECT trickle.create_stream_table('agg_hidden',
  $$SELECT array_agg(v ORDER BY v) AS vs FROM t GROUP BY g, h$$, refresh_mode => 'differential');
SELECT * FROM shape('agg_hidden');

-- window functions: the key is what every window partitions by
SELECT trickle.create_stream_table('win',
  $$SELECT id, rank() OVER (PARTITION BY g ORDER BY v DESC) AS r,
           sum(v) OVER (PARTITION BY g, h) AS s
      FROM t$$, refresh_mode => 'differential');
SELECT * FROM shape('win');

-- DISTINCT and DISTINCT ON
SELECT trickle.create_stream_table('dist', $$SELECT DISTINCT g, h FROM t$$,
  refresh_mode => 'differential');
SELECT * FROM shape('dist');
SELECT trickle.create_stream_table('dist_on',
  $$SELECT DISTINCT ON (g) g, id, v FROM t ORDER BY g, v DESC$$, refresh_mode => 'differential');
SELECT * FROM shape('dist_on');

-- grouping sets: one part per set, the set's number kept hidden
SELECT trickle.create_stream_table('rollup',
  $$SELECT g, h, sum(v) AS s, GROUPING(g, h) AS gr FROM t GROUP BY ROLLUP (g, h)$$,
  refresh_mode => 'differential');
SELECT * FROM shape('rollup');

-- set operations: UNION ALL is the union of the branches' deltas; the
-- others recompute rows
SELECT trickle.create_stream_table('uall',
  $$SELECT g, v FROM t WHERE v < 10 UNION ALL SELECT g, v FROM u$$, refresh_mode => 'differential');
SELECT * FROM shape('uall');
SELECT trickle.create_stream_table('setop',
  $$(SELECT g, v FROM t UNION SELECT g, v FROM u) EXCEPT ALL SELECT g, v FROM u WHERE v > 3$$,
  refresh_mode => 'differential');
SELECT * FROM shape('setop');

-- ORDER BY ... LIMIT over a plain block or a keyed query
SELECT trickle.create_stream_table('top_rows',
  $$SELECT id, v FROM t WHERE h <> 'h0' ORDER BY v DESC, id LIMIT 4$$, refresh_mode => 'differential');
SELECT * FROM shape('top_rows');
SELECT trickle.create_stream_table('top_groups',
  $$SELECT g, sum(v) AS s FROM t GROUP BY g ORDER BY s DESC NULLS LAST, g LIMIT 2$$,
  refresh_mode => 'differential');
SELECT * FROM shape('top_groups');

-- changes of every kind, then each refresh is differential and right
INSERT INTO t VALUES (100, NULL, 'h9', 7), (101, NULL, NULL, 8), (102, 9, 'h1', 1);
UPDATE t SET g = 2 WHERE id IN (4, 8);
UPDATE t SET v = v * 10 WHERE id % 5 = 0;
DELETE FROM t WHERE g = 3;
DELETE FROM u WHERE id = 2;
INSERT INTO u VALUES (50, 1, 1), (51, NULL, 2);
SELECT st, r.action, differing(st, cols, q) AS differing
  FROM (VALUES
    ('agg_having', 'g, hs, dh, s2',
     $$SELECT g, string_agg(h, ',' ORDER BY id) AS hs, count(DISTINCT h) AS dh,
         sum(v) FILTER (WHERE v > 5) * 2 AS s2 FROM t GROUP BY g HAVING count(*) > 4$$),
    ('agg_hidden', 'vs', $$SELECT array_agg(v ORDER BY v) AS vs FROM t GROUP BY g, h$$),
    ('win', 'id, r, s', $$SELECT id, rank() OVER (PARTITION BY g ORDER BY v DESC) AS r,
         sum(v) OVER (PARTITION BY g, h) AS s FROM t$$),
    ('dist', 'g, h', $$SELECT DISTINCT g, h FROM t$$),
    ('dist_on', 'g, id, v', $$SELECT DISTINCT ON (g) g, id, v FROM t ORDER BY g, v DESC$$),
    ('rollup', 'g, h, s, gr',
     $$SELECT g, h, sum(v) AS s, GROUPING(g, h) AS gr FROM t GROUP BY ROLLUP (g, h)$$),
    ('uall', 'g, v', $$SELECT g, v FROM t WHERE v < 10 UNION ALL SELECT g, v FROM u$$),
    ('setop', 'g, v',
     $$(SELECT g, v FROM t UNION SELECT g, v FROM u) EXCEPT ALL SELECT g, v FROM u WHERE v > 3$$),
    ('top_rows', 'id, v', $$SELECT id, v FROM t WHERE h <> 'h0' ORDER BY v DESC, id LIMIT 4$$),
    ('top_groups', 'g, s',
     $$SELECT g, sum(v) AS s FROM t GROUP BY g ORDER BY s DESC NULLS LAST, g LIMIT 2$$))
    AS s(st, cols, q)
  CROSS JOIN LATERAL trickle.refresh_stream_table(st) r
 ORDER BY st;

-- ordinals freed in a class are reused.  The row of partition g = 2 with
-- the lowest ordinal that does not hold the maximum leaves (no other row
-- changes): a hole; the next row of that partition takes it.
SELECT trickle.create_stream_table('win_max',
  $$SELECT id, max(v) OVER (PARTITION BY g) AS mx FROM t$$, refresh_mode => 'differential');
CREATE VIEW win_max_classes AS
  SELECT bool_and(mx = n) AS dense, sum(n) AS rows FROM (
    SELECT __trickle_row_id >> 24 AS class, max(__trickle_row_id & 16777215) AS mx, count(*) AS n
      FROM win_max GROUP BY 1) c;
SELECT * FROM win_max_classes;
DELETE FROM t WHERE id = (SELECT w.id FROM win_max w JOIN t USING (id)
                           WHERE t.g = 2 AND t.v < w.mx ORDER BY w.__trickle_row_id LIMIT 1);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('win_max');
SELECT * FROM win_max_classes;
INSERT INTO t VALUES (300, 2, 'h0', 0);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('win_max');
SELECT * FROM win_max_classes;
SELECT differing('win_max', 'id, mx', $$SELECT id, max(v) OVER (PARTITION BY g) AS mx FROM t$$);

-- what stays FULL: differential refuses with the reason, auto records it
SELECT trickle.create_stream_table('bad', $$SELECT string_agg(h, ',') AS hs FROM t$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad', $$SELECT id, rank() OVER (ORDER BY v) AS r FROM t$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$SELECT id, rank() OVER (PARTITION BY g ORDER BY v) AS r, rank() OVER (PARTITION BY h ORDER BY v) AS r2 FROM t$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad', $$SELECT DISTINCT count(*) AS n FROM t GROUP BY g$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad', $$SELECT count(*) AS n FROM t GROUP BY ()$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$SELECT g, count(*) > (SELECT count(*) FROM u) AS more FROM t GROUP BY g$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$SELECT g, count(*) AS n FROM t GROUP BY g UNION ALL SELECT g, v FROM u$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad', $$SELECT id, v FROM t ORDER BY v LIMIT 3 OFFSET 2$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad', $$SELECT id, v FROM t LIMIT 3$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad', $$SELECT id FROM t ORDER BY v LIMIT 3$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('auto_global', $$SELECT count(DISTINCT h) AS dh FROM t$$);
SELECT effective_mode, mode_reason FROM trickle.stream_tables WHERE name = 'auto_global'::regclass;
SELECT property, value FROM trickle.explain_stream_table('auto_global') WHERE property = 'differential';

RESET search_path;
DROP SCHEMA rc CASCADE;
