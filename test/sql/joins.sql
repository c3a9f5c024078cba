-- Outer joins, subqueries in expressions and LATERAL subqueries: how
-- explain_stream_table renders them, refreshes that move rows between
-- matched and NULL-padded, and what differential refuses.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA joins;
SET search_path = joins, public;
CREATE TABLE dim (g int PRIMARY KEY, label text);
CREATE TABLE fact (id int PRIMARY KEY, g int, v int, n numeric);
CREATE INDEX ON fact (g);
INSERT INTO dim SELECT i, 'd' || i FROM generate_series(1, 5) i;
INSERT INTO fact SELECT i, i % 4, i * 10, i FROM generate_series(1, 12) i;

-- checks a stream table against its query (EXCEPT ALL both ways)
CREATE FUNCTION differing(st text, cols text, query text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  EXECUTE format('SELECT (SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL (%s)) a)'
                 ' + (SELECT count(*) FROM ((%s) EXCEPT ALL SELECT %s FROM %s) b)',
                 cols, st, query, query, cols, st) INTO n;
  RETURN n;
END $$;
CREATE FUNCTION tree(st text) RETURNS text LANGUAGE sql AS $$
  SELECT value FROM trickle.explain_stream_table(st) WHERE property = 'operator_tree'
$$;

-- LEFT JOIN + GROUP BY: count(f.id) does not count a padded row
SELECT trickle.create_stream_table('per_dim',
  $$SELECT d.g, d.label, count(*) AS rows, count(f.id) AS facts, sum(f.v) AS total
      FROM dim d LEFT JOIN fact f ON f.g = d.g GROUP BY d.g, d.label$$,
  refresh_mode => 'differential');
SELECT tree('per_dim');
SELECT g, label, rows, facts, total FROM per_dim ORDER BY g;

-- one fact moves to dimension 5 (padded until now) and away again, twice,
-- in one transaction, and dimension 4 loses its last fact
BEGIN;
UPDATE fact SET g = 5 WHERE id = 1;
UPDATE fact SET g = 1 WHERE id = 1;
UPDATE fact SET g = 5 WHERE id = 1;
UPDATE fact SET g = 2 WHERE id = 1;
UPDATE fact SET g = 5 WHERE id = 2;
COMMIT;
SELECT action FROM trickle.refresh_stream_table('per_dim');
SELECT g, label, rows, facts, total FROM per_dim ORDER BY g;
SELECT differing('per_dim', 'g, label, rows, facts, total',
  $$SELECT d.g, d.label, count(*), count(f.id), sum(f.v) FROM dim d LEFT JOIN fact f ON f.g = d.g GROUP BY d.g, d.label$$);

-- RIGHT and FULL joins, a compound and a non-equi condition, nested
SELECT trickle.create_stream_table('full_nonequi',
  $$SELECT d.g, f.id FROM dim d FULL JOIN fact f ON f.g = d.g AND f.v > d.g * 20$$,
  refresh_mode => 'differential');
SELECT tree('full_nonequi');
SELECT trickle.create_stream_table('nested',
  $$SELECT a.g, b.id, c.g AS cg FROM dim a LEFT JOIN (fact b RIGHT JOIN dim c ON c.g = b.g) ON b.v > a.g * 10$$,
  refresh_mode => 'differential');
SELECT tree('nested');
DELETE FROM dim WHERE g = 3;
INSERT INTO fact VALUES (20, 7, 70, 7), (21, NULL, 5, 1);
UPDATE fact SET v = 1 WHERE id = 5;
SELECT action FROM trickle.refresh_stream_table('full_nonequi');
SELECT action FROM trickle.refresh_stream_table('nested');
SELECT differing('full_nonequi', 'g, id',
  $$SELECT d.g, f.id FROM dim d FULL JOIN fact f ON f.g = d.g AND f.v > d.g * 20$$);
SELECT differing('nested', 'g, id, cg',
  $$SELECT a.g, b.id, c.g FROM dim a LEFT JOIN (fact b RIGHT JOIN dim c ON c.g = b.g) ON b.v > a.g * 10$$);

-- subqueries in expressions: counted (EXISTS, NOT EXISTS, IN, NOT IN) and
-- recomputed (a scalar subquery with an aggregate)
SELECT trickle.create_stream_table('filtered',
  $$SELECT d.g, d.label FROM dim d
     WHERE EXISTS (SELECT FROM fact f WHERE f.g = d.g AND f.v > 50)
       AND d.g NOT IN (SELECT f.v FROM fact f)
       AND NOT EXISTS (SELECT FROM fact f WHERE f.g = d.g AND f.v < 0)
        OR d.g IN (SELECT f.g + 1 FROM fact f WHERE f.id < 3)$$,
  refresh_mode => 'differential');
SELECT tree('filtered');
SELECT trickle.create_stream_table('with_scalar',
  $$SELECT d.g, (SELECT max(f.v) FROM fact f WHERE f.g = d.g) AS top FROM dim d$$,
  refresh_mode => 'differential');
SELECT tree('with_scalar');
SELECT trickle.create_stream_table('top2',
  $$SELECT d.g, x.id, x.v FROM dim d,
      LATERAL (SELECT f.id, f.v FROM fact f WHERE f.g = d.g ORDER BY f.v DESC, f.id LIMIT 2) x$$,
  refresh_mode => 'differential');
SELECT tree('top2');
-- a NULL enters the NOT IN set, then leaves it
INSERT INTO fact VALUES (30, 1, NULL, 0);
UPDATE fact SET v = v + 100 WHERE g = 2;
SELECT action FROM trickle.refresh_stream_table('filtered');
SELECT action FROM trickle.refresh_stream_table('with_scalar');
SELECT action FROM trickle.refresh_stream_table('top2');
SELECT count(*) AS rows_while_null FROM filtered;
DELETE FROM fact WHERE id = 30;
SELECT action FROM trickle.refresh_stream_table('filtered');
SELECT action FROM trickle.refresh_stream_table('with_scalar');
SELECT action FROM trickle.refresh_stream_table('top2');
SELECT differing('filtered', 'g, label',
  $$SELECT d.g, d.label FROM dim d
     WHERE EXISTS (SELECT FROM fact f WHERE f.g = d.g AND f.v > 50)
       AND d.g NOT IN (SELECT f.v FROM fact f)
       AND NOT EXISTS (SELECT FROM fact f WHERE f.g = d.g AND f.v < 0)
        OR d.g IN (SELECT f.g + 1 FROM fact f WHERE f.id < 3)$$);
SELECT differing('with_scalar', 'g, top',
  $$SELECT d.g, (SELECT max(f.v) FROM fact f WHERE f.g = d.g) FROM dim d$$);
SELECT differing('top2', 'g, id, v',
  $$SELECT d.g, x.id, x.v FROM dim d,
      LATERAL (SELECT f.id, f.v FROM fact f WHERE f.g = d.g ORDER BY f.v DESC, f.id LIMIT 2) x$$);

-- refused by differential, with the construct named; auto refreshes FULL
SELECT trickle.create_stream_table('refused',
  $$SELECT d.g FROM dim d LEFT JOIN fact f ON f.g = d.g AND EXISTS (SELECT FROM fact)$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('refused',
  $$SELECT d.g FROM dim d WHERE EXISTS (SELECT FROM fact f WHERE f.g IN (SELECT g FROM dim))$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('refused',
  $$SELECT d.g, (SELECT max(f.n) FROM fact f WHERE f.g = d.g) FROM dim d$$,
  refresh_mode => 'differential');
-- a LATERAL subquery reading no table is evaluated per row, like a function
SELECT trickle.create_stream_table('lateral_const',
  $$SELECT d.g, x.y FROM dim d LEFT JOIN LATERAL (SELECT d.g + 1 AS y WHERE d.g > 1) x ON true$$,
  refresh_mode => 'differential');
INSERT INTO dim VALUES (40, 'forty'), (41, 'forty-one'), (0, 'zero');
SELECT action FROM trickle.refresh_stream_table('lateral_const');
UPDATE dim SET g = 42 WHERE g = 40;
DELETE FROM dim WHERE g IN (0, 41);
SELECT action FROM trickle.refresh_stream_table('lateral_const');
SELECT differing('lateral_const', 'g, y',
  $$SELECT d.g, x.y FROM dim d LEFT JOIN LATERAL (SELECT d.g + 1 AS y WHERE d.g > 1) x ON true$$);
SELECT tree('lateral_const');
DELETE FROM dim WHERE g = 42;
SELECT trickle.create_stream_table('scalar_numeric',
  $$SELECT d.g, (SELECT max(f.n) FROM fact f WHERE f.g = d.g) AS top FROM dim d$$);
SELECT effective_mode, mode_reason FROM trickle.stream_tables
 WHERE name = 'scalar_numeric'::regclass;
-- a counted subquery may read any type: only matches are counted
SELECT trickle.create_stream_table('exists_numeric',
  $$SELECT d.g FROM dim d WHERE EXISTS (SELECT FROM fact f WHERE f.g = d.g AND f.n > 2.5)$$);
SELECT effective_mode FROM trickle.stream_tables WHERE name = 'exists_numeric'::regclass;

RESET search_path;
DROP SCHEMA joins CASCADE;
