-- WITH RECURSIVE (src/ivm/recursive.c): maintained by semi-naive evaluation
-- while the sources only gain rows; a refresh whose changes delete or update
-- runs FULL and says why; the forms that stay FULL.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA rec;
SET search_path = rec, public;
CREATE TABLE edges (src int, dst int);
INSERT INTO edges VALUES (1, 2), (2, 3), (3, 1), (5, 6);
CREATE TABLE emp (id int PRIMARY KEY, mgr int, name text);
INSERT INTO emp VALUES (1, NULL, 'ada'), (2, 1, 'bob'), (3, 1, 'cy'), (4, 2, 'dee');

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
CREATE FUNCTION last_refresh(st regclass) RETURNS TABLE (action text, reason text)
LANGUAGE sql AS $$
  SELECT action, reason FROM trickle.refresh_history
   WHERE stream_table = st ORDER BY refresh_id DESC LIMIT 1
$$;

-- transitive closure of a graph with a cycle (UNION: sets)
CREATE VIEW closure_q AS
  WITH RECURSIVE tc(a, b) AS (
    SELECT src, dst FROM edges
    UNION
    SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
  SELECT a, b FROM tc;
SELECT trickle.create_stream_table('closure',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges
      UNION
      SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
    SELECT a, b FROM tc$$, refresh_mode => 'differential');
SELECT value FROM trickle.explain_stream_table('closure') WHERE property = 'operator_tree';
SELECT count(*) AS rows, differing('closure', 'a, b', 'SELECT * FROM closure_q') FROM closure;

-- insertions: a differential refresh adds exactly the new pairs
INSERT INTO edges VALUES (3, 5), (6, 7), (NULL, 1);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('closure');
SELECT count(*) AS rows, differing('closure', 'a, b', 'SELECT * FROM closure_q') FROM closure;
-- an edge closing a cycle already known adds nothing
INSERT INTO edges VALUES (7, 1);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('closure');
SELECT count(*) AS rows, differing('closure', 'a, b', 'SELECT * FROM closure_q') FROM closure;
SELECT * FROM last_refresh('closure');

-- a delete: this refresh runs FULL, and the history says why
DELETE FROM edges WHERE src = 3 AND dst = 5;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('closure');
SELECT * FROM last_refresh('closure');
SELECT count(*) AS rows, differing('closure', 'a, b', 'SELECT * FROM closure_q') FROM closure;
-- an update too; insertions afterwards are differential again
UPDATE edges SET dst = 4 WHERE src = 2;
SELECT action FROM trickle.refresh_stream_table('closure');
INSERT INTO edges VALUES (4, 3);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('closure');
SELECT count(*) AS rows, differing('closure', 'a, b', 'SELECT * FROM closure_q') FROM closure;

-- a hierarchy (UNION ALL: bags), columns renamed
CREATE VIEW chain_q AS
  WITH RECURSIVE t(id, depth, path) AS (
    SELECT id, 1, name FROM emp WHERE mgr IS NULL
    UNION ALL
    SELECT e.id, t.depth + 1, t.path || '/' || e.name FROM emp e, t WHERE e.mgr = t.id)
  SELECT id AS who, depth, path FROM t;
SELECT trickle.create_stream_table('chain',
  $$WITH RECURSIVE t(id, depth, path) AS (
      SELECT id, 1, name FROM emp WHERE mgr IS NULL
      UNION ALL
      SELECT e.id, t.depth + 1, t.path || '/' || e.name FROM emp e, t WHERE e.mgr = t.id)
    SELECT id AS who, depth, path FROM t$$, refresh_mode => 'differential');
SELECT value FROM trickle.explain_stream_table('chain') WHERE property = 'operator_tree';
INSERT INTO emp VALUES (5, 4, 'eve'), (6, 5, 'fay'), (7, NULL, 'gus'), (8, 7, 'hal');
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('chain');
SELECT who, depth, path FROM chain ORDER BY path;
SELECT differing('chain', 'who, depth, path', 'SELECT * FROM chain_q');

-- a base without FROM; the step joins the WITH query with a table
CREATE TABLE steps (n int);
INSERT INTO steps VALUES (1), (2);
SELECT trickle.create_stream_table('counter',
  $$WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT r.n + 1 FROM r JOIN steps s ON s.n = r.n)
    SELECT n FROM r$$, refresh_mode => 'differential');
INSERT INTO steps VALUES (3), (5), (3);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('counter');
SELECT n FROM counter ORDER BY n;

-- what stays FULL: differential refuses with the reason, auto records it
SELECT trickle.create_stream_table('bad',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges UNION SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
    SELECT a, count(*) AS n FROM tc GROUP BY a$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges
      UNION SELECT tc.a, e.dst FROM tc LEFT JOIN edges e ON e.src = tc.b)
    SELECT a, b FROM tc$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges
      UNION SELECT DISTINCT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
    SELECT a, b FROM tc$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges
      UNION SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b
       WHERE e.dst NOT IN (SELECT id FROM emp))
    SELECT a, b FROM tc$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges
      UNION SELECT tc.a, e.b FROM tc JOIN closure_q e ON e.a = tc.b)
    SELECT a, b FROM tc$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('auto_rec',
  $$WITH RECURSIVE tc(a, b) AS (
      SELECT src, dst FROM edges UNION SELECT tc.a, e.dst FROM tc JOIN edges e ON e.src = tc.b)
    SELECT b, a FROM tc$$);
SELECT effective_mode, mode_reason FROM trickle.stream_tables WHERE name = 'auto_rec'::regclass;

RESET search_path;
DROP SCHEMA rec CASCADE;
