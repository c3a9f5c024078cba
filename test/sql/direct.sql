-- The direct apply (src/refresh/direct.c): one-table count/sum/avg stream
-- tables refreshed by trickle's own C code instead of the MERGE.  Every
-- step refreshes the direct stream tables and, with trickle.direct_apply
-- off, a twin of each; both must equal the query, and the twins must hold
-- the same stored rows value for value (identities, hidden columns and
-- numeric scales included) and report the same row counts.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA direct;
SET search_path = direct, public;
CREATE TABLE t (id int PRIMARY KEY, "Key" text, k2 numeric, s smallint, i int,
                b bigint, n numeric, note json);
INSERT INTO t
  SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE 'k' || (i % 7) END,
         CASE WHEN i % 2 = 0 THEN 1.0 ELSE 1.00 END * (i % 3),
         (i % 100)::smallint, i * 3, i::bigint * 1000000000000,
         CASE WHEN i % 11 = 0 THEN NULL ELSE (i / 7.0)::numeric(10, 3) END, '{}'
    FROM generate_series(1, 200) i;

CREATE FUNCTION differing(st text, cols text, query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT (SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL (%s)) a)'
                 ' + (SELECT count(*) FROM ((%s) EXCEPT ALL SELECT %s FROM %s) b)',
                 cols, st, query, query, cols, st) INTO n;
  RETURN n;
END $$;
CREATE FUNCTION apply(st text) RETURNS text LANGUAGE sql AS $$
  SELECT value FROM trickle.explain_stream_table(st) WHERE property = 'apply'
$$;

CREATE TABLE cases (st text PRIMARY KEY, cols text, query text);
INSERT INTO cases VALUES
  ('grouped', '"Key", k2, c, cn, ss, si, sb, sn, ai, ab, an',
   $$SELECT "Key", k2, count(*) AS c, count(n) AS cn, sum(s) AS ss, sum(i) AS si,
            sum(b) AS sb, sum(n) AS sn, avg(i) AS ai, avg(b) AS ab, avg(n) AS an
       FROM t GROUP BY "Key", k2$$),
  ('hidden_key', 'c, sn', $$SELECT count(*) AS c, sum(n) AS sn FROM t GROUP BY k2$$),
  ('filtered', '"Key", c, si, an',
   $$SELECT "Key", count(*) AS c, sum(i) AS si, avg(n) AS an FROM t
      WHERE i > 300 AND "Key" IS NOT NULL GROUP BY "Key"$$),
  ('extremes', '"Key", mi, mx, mk, mn',
   $$SELECT "Key", min(i) AS mi, max(b) AS mx, min("Key") AS mk, max(n) AS mn
       FROM t GROUP BY "Key"$$),
  ('exprs', 'lk, k2x, c, s2, ab, ba, bo',
   $$SELECT lower("Key") AS lk, k2 * 2 AS k2x, count(*) AS c, sum(i * 2) AS s2,
            avg(b / 1000) AS ab, bool_and(i % 2 = 0) AS ba, bool_or(n > 20) AS bo
       FROM t GROUP BY lower("Key"), k2 * 2$$),
  ('total', 'c, sn, ai, as_', $$SELECT count(*) AS c, sum(n) AS sn, avg(i) AS ai, avg(s) AS as_ FROM t$$);

SELECT trickle.create_stream_table(st, query, refresh_mode => 'differential'),
       trickle.create_stream_table(st || '_merge', query, refresh_mode => 'differential')
  FROM cases ORDER BY st;
SELECT st, apply(st) FROM cases ORDER BY st;

-- refreshes every case and its twin; one row per case
CREATE FUNCTION step() RETURNS TABLE (st text, action text, counts text, twin text,
                                      differing bigint, unlike_twin bigint)
LANGUAGE plpgsql AS $$
DECLARE c record; r record; m record; u bigint;
BEGIN
  FOR c IN SELECT * FROM cases ORDER BY cases.st LOOP
    PERFORM set_config('trickle.direct_apply', 'on', true);
    SELECT * INTO r FROM trickle.refresh_stream_table(c.st);
    PERFORM set_config('trickle.direct_apply', 'off', true);
    SELECT * INTO m FROM trickle.refresh_stream_table(c.st || '_merge');
    PERFORM set_config('trickle.direct_apply', 'on', true);
    EXECUTE format('SELECT (SELECT count(*) FROM (SELECT x::text FROM %I x EXCEPT ALL SELECT y::text FROM %I y) a)'
                   ' + (SELECT count(*) FROM (SELECT y::text FROM %I y EXCEPT ALL SELECT x::text FROM %I x) b)',
                   c.st, c.st || '_merge', c.st || '_merge', c.st) INTO u;
    st := c.st;
    action := r.action;
    counts := r.rows_inserted || '/' || r.rows_deleted;
    twin := m.action || ' ' || m.rows_inserted || '/' || m.rows_deleted;
    differing := differing(c.st, c.cols, c.query);
    unlike_twin := u;
    RETURN NEXT;
  END LOOP;
END $$;

-- values change, some to NULL; one statement changes a row twice
UPDATE t SET n = NULL WHERE id % 13 = 0;
UPDATE t SET i = i + 1, s = s - 1, b = -b WHERE id % 4 = 0;
WITH u AS (UPDATE t SET n = n + 0.00001 WHERE id < 20 RETURNING id)
  UPDATE t SET n = n * 2 WHERE id IN (SELECT id FROM u) AND id > 10;
SELECT * FROM step();

-- a group loses its last row, another appears, a key moves to NULL;
-- 1.0 and 1.00 are one group
DELETE FROM t WHERE "Key" = 'k1' AND k2 = 1;
INSERT INTO t VALUES (1001, 'new', 7.00, 1, 1, 1, 1.5, '{}'), (1002, 'new', 7.0, 2, 2, 2, NULL, '[]');
UPDATE t SET "Key" = NULL WHERE id IN (3, 4);
SELECT * FROM step();

-- the group comes back; scales grow and shrink (sum keeps the widest,
-- as the MERGE does; equal values compare equal)
INSERT INTO t VALUES (1003, 'k1', 1, 5, 5, 5, 0.123456, '{}');
UPDATE t SET n = 0.1 WHERE id = 1001;
SELECT * FROM step();

-- inserted and deleted between two refreshes: nothing to write for it
BEGIN;
INSERT INTO t VALUES (1004, 'gone', 9, 1, 1, 1, 1, '{}');
DELETE FROM t WHERE id = 1004;
COMMIT;
SELECT * FROM step();

-- an index of the user's on a stream table: updates that are not HOT
CREATE INDEX ON grouped (si);
CREATE INDEX ON grouped_merge (si);
UPDATE t SET i = i + 100 WHERE id % 3 = 0;
SELECT * FROM step();
-- the index has the new rows: read through it, every row is found
SET enable_seqscan = off;
SELECT count(*) AS by_index FROM grouped WHERE si > -9223372036854775808;
RESET enable_seqscan;
SELECT count(*) AS by_scan FROM grouped WHERE si IS NOT NULL;

-- NaN and infinities in numeric sums: a sum that met one stays NaN or
-- infinite whatever is added later, so the groups concerned are recomputed
-- (by the MERGE) until the values are gone again
UPDATE t SET n = (CASE id % 3 WHEN 0 THEN 'NaN' WHEN 1 THEN 'Infinity' ELSE '-Infinity' END)::numeric
  WHERE id IN (SELECT id FROM t WHERE n IS NOT NULL AND i > 300 ORDER BY id LIMIT 5);
SELECT * FROM step();
SELECT "Key", k2, sn, an FROM grouped WHERE sn IN ('NaN', 'Infinity', '-Infinity') ORDER BY 1, 2;
UPDATE t SET n = 1.5 WHERE n IN ('NaN', 'Infinity', '-Infinity');
SELECT * FROM step();

-- many new groups under a small work_mem: the direct apply gives up
-- before writing anything (its groups would outgrow a hash aggregate's
-- memory) and the MERGE refreshes, with the same results
SET work_mem = '64kB';
SET hash_mem_multiplier = 1;
INSERT INTO t SELECT 2000 + i, 'many' || i, i % 5, 1, i, i, i, '{}' FROM generate_series(1, 3000) i;
SELECT * FROM step();
RESET work_mem;
RESET hash_mem_multiplier;

-- every row deleted: the grouped tables empty, the global one keeps its row
-- (count 0, sums NULL)
DELETE FROM t;
SELECT * FROM step();
SELECT c, sn, ai, as_ FROM total;
SELECT count(*) FROM grouped;

-- and filled again
INSERT INTO t SELECT i, 'k' || (i % 3), i % 2, 1, i, i, i, '{}' FROM generate_series(1, 30) i;
SELECT * FROM step();

-- a stream table read by another one has capture triggers: it goes through
-- the MERGE, and stays right
SELECT trickle.create_stream_table('over_grouped',
  $$SELECT "Key", sum(c) AS c FROM grouped GROUP BY "Key"$$, refresh_mode => 'differential');
SELECT apply('grouped');
UPDATE t SET "Key" = 'k9' WHERE id < 5;
SELECT * FROM step() WHERE st = 'grouped';
SELECT action FROM trickle.refresh_stream_table('over_grouped');
SELECT differing('over_grouped', '"Key", c', $$SELECT "Key", sum(c) AS c FROM grouped GROUP BY "Key"$$);
SELECT trickle.drop_stream_table('over_grouped');
SELECT apply('grouped');

SET trickle.direct_apply = off;
SELECT apply('grouped');
RESET trickle.direct_apply;

-- min and max while changes only insert: direct; a removal sends the
-- refresh to the MERGE (the removed row may have held the extreme)
INSERT INTO t VALUES (3001, 'k1', 0, 1, -5, 99999999999, 1000, '{}');
SELECT * FROM step() WHERE st = 'extremes';
DELETE FROM t WHERE id = 3001;
SET client_min_messages = debug1;
SELECT action FROM trickle.refresh_stream_table('extremes');
SET client_min_messages = warning;
SELECT differing('extremes', '"Key", mi, mx, mk, mn',
  (SELECT query FROM cases WHERE st = 'extremes'));

-- avg of integers is computed in integer arithmetic at numeric_div's scale
-- (int_avg): the same text as avg() for small, large, negative and zero
-- sums, whole and repeating quotients
CREATE TABLE av (id int PRIMARY KEY, g int, v int, s smallint);
INSERT INTO av
  SELECT i, i % 97, CASE i % 5 WHEN 0 THEN 0 WHEN 1 THEN -(i * 7919 % 1000)
                               WHEN 2 THEN 2147483647 - i WHEN 3 THEN -2147483647 + i * 3
                               ELSE i * 104729 % 100000 END,
         (i * 31 % 30000)::smallint
    FROM generate_series(1, 3000) i;
INSERT INTO av SELECT 5000 + i, 1000, 2147483647, 1 FROM generate_series(1, 40) i;
SELECT trickle.create_stream_table('avgs', 'SELECT g, avg(v) AS a, avg(s) AS b FROM av GROUP BY g',
                                   refresh_mode => 'differential');
UPDATE av SET v = v - 1, s = s + 1 WHERE id % 3 <> 0;
SELECT apply('avgs') LIKE 'direct:%' AS direct, action FROM trickle.refresh_stream_table('avgs');
SELECT count(*) AS differing_text FROM (
  (SELECT g, a::text, b::text FROM avgs EXCEPT ALL SELECT g, avg(v)::text, avg(s)::text FROM av GROUP BY g)
  UNION ALL
  (SELECT g, avg(v)::text, avg(s)::text FROM av GROUP BY g EXCEPT ALL SELECT g, a::text, b::text FROM avgs)) d;
SELECT a FROM avgs WHERE g IN (0, 1000) ORDER BY g;

-- queries that are not the direct apply's: a subquery, a join, DISTINCT
SELECT trickle.create_stream_table('sub', $$SELECT "Key", count(*) AS c FROM t
                                   WHERE id IN (SELECT id FROM t WHERE i > 3) GROUP BY "Key"$$,
                                   refresh_mode => 'differential');
SELECT trickle.create_stream_table('joined', $$SELECT t."Key", count(*) AS c FROM t JOIN cases ON cases.st = t."Key"
                                   GROUP BY t."Key"$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('distinct_count', $$SELECT "Key", count(DISTINCT i) AS m FROM t GROUP BY "Key"$$,
                                   refresh_mode => 'differential');
SELECT apply('sub'), apply('joined'), apply('distinct_count');

DROP SCHEMA direct CASCADE;
