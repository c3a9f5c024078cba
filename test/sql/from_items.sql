-- FROM items other than tables: views (created, replaced, dropped), WITH
-- queries, subqueries, functions and VALUES; what is captured, what explain
-- shows, and what replacing or dropping a view does to a stream table.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA fi;
SET search_path = fi, public;
CREATE TABLE orders (id int PRIMARY KEY, cust int, amount int, status text, note text);
CREATE TABLE customers (id int PRIMARY KEY, name text, region text);
CREATE TABLE archive (id int PRIMARY KEY, cust int, amount int, status text);
INSERT INTO customers SELECT i, 'c' || i, (ARRAY['north', 'south'])[1 + i % 2]
  FROM generate_series(1, 5) i;
INSERT INTO orders SELECT i, 1 + i % 5, i * 10, (ARRAY['open', 'paid'])[1 + i % 2], 'n'
  FROM generate_series(1, 20) i;
INSERT INTO archive SELECT i, 1 + i % 5, i, 'old' FROM generate_series(101, 110) i;
CREATE VIEW open_orders AS SELECT id, cust, amount FROM orders WHERE status = 'open';
CREATE VIEW big_open AS SELECT o.id, o.cust, o.amount FROM open_orders o WHERE o.amount > 50;

-- a stream table over nested views, joined to a table: differential; the
-- views' tables are captured (only the columns read), the views are
-- recorded as sources without columns and carry no triggers
SELECT trickle.create_stream_table('fi.big_open_lines',
  $$SELECT b.id, c.name, b.amount FROM big_open b JOIN customers c ON c.id = b.cust$$,
  refresh_mode => 'differential');
SELECT source, columns FROM trickle.sources
 WHERE relid = 'big_open_lines'::regclass ORDER BY source::text;
SELECT tgrelid::regclass AS captured, count(*) AS triggers FROM pg_trigger
 WHERE tgname LIKE 'trickle_capture%' GROUP BY 1 ORDER BY tgrelid::regclass::text;
SELECT value FROM trickle.explain_stream_table('big_open_lines') WHERE property = 'operator_tree';

-- changes through the view's table are applied differentially
INSERT INTO orders VALUES (21, 2, 500, 'open', 'n');
UPDATE orders SET status = 'open' WHERE id = 8;
DELETE FROM orders WHERE id = 9;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('big_open_lines');
SELECT count(*) AS differing FROM (
  (SELECT id, name, amount FROM big_open_lines
   EXCEPT ALL SELECT b.id, c.name, b.amount FROM big_open b JOIN customers c ON c.id = b.cust)
  UNION ALL
  (SELECT b.id, c.name, b.amount FROM big_open b JOIN customers c ON c.id = b.cust
   EXCEPT ALL SELECT id, name, amount FROM big_open_lines)) d;

-- CREATE OR REPLACE VIEW of the inner view, now reading another table: the
-- stream table's sources and capture follow the new definition, and the
-- next refresh recomputes it (REINITIALIZE); later ones are differential
CREATE OR REPLACE VIEW open_orders AS
  SELECT id, cust, amount FROM archive WHERE status = 'old';
SELECT source, columns FROM trickle.sources
 WHERE relid = 'big_open_lines'::regclass ORDER BY source::text;
SELECT tgrelid::regclass AS captured, count(*) AS triggers FROM pg_trigger
 WHERE tgname LIKE 'trickle_capture%' GROUP BY 1 ORDER BY tgrelid::regclass::text;
SELECT action FROM trickle.refresh_stream_table('big_open_lines');
UPDATE archive SET amount = amount * 10 WHERE id IN (101, 102);
UPDATE orders SET amount = amount + 1;
SELECT action FROM trickle.refresh_stream_table('big_open_lines');
SELECT id, name, amount FROM big_open_lines ORDER BY id;
SELECT count(*) AS differing FROM (
  (SELECT id, name, amount FROM big_open_lines
   EXCEPT ALL SELECT b.id, c.name, b.amount FROM big_open b JOIN customers c ON c.id = b.cust)
  UNION ALL
  (SELECT b.id, c.name, b.amount FROM big_open b JOIN customers c ON c.id = b.cust
   EXCEPT ALL SELECT id, name, amount FROM big_open_lines)) d;

-- a replacement the engine cannot maintain is refused (the view stays as
-- it was); core refuses dropping or retyping a view column anyway
CREATE OR REPLACE VIEW open_orders AS
  SELECT id, cust, amount FROM archive WHERE status = 'old' ORDER BY id LIMIT 5;
SELECT pg_get_viewdef('open_orders'::regclass) LIKE '%LIMIT%' AS replaced;
CREATE OR REPLACE VIEW open_orders AS SELECT id, cust FROM archive;

-- a FULL stream table over a view needs nothing: it reads the view
SELECT trickle.create_stream_table('fi.open_full', 'SELECT id, amount FROM open_orders',
  refresh_mode => 'full');
CREATE OR REPLACE VIEW open_orders AS
  SELECT id, cust, amount FROM archive WHERE status = 'old' AND amount > 500;
SELECT action FROM trickle.refresh_stream_table('open_full');
SELECT action FROM trickle.refresh_stream_table('big_open_lines');
SELECT count(*) AS rows, (SELECT count(*) FROM open_orders) AS expected FROM open_full;

-- under refresh_mode 'auto', a replacement the engine cannot maintain
-- turns the stream table FULL, with the reason
CREATE VIEW cust_view AS SELECT id, name FROM customers;
SELECT trickle.create_stream_table('fi.cust_auto', 'SELECT id, name FROM cust_view');
SELECT effective_mode FROM trickle.stream_tables WHERE name = 'cust_auto'::regclass;
CREATE OR REPLACE VIEW cust_view AS SELECT id, name FROM customers ORDER BY id LIMIT 100;
SELECT effective_mode, mode_reason FROM trickle.stream_tables WHERE name = 'cust_auto'::regclass;
SELECT source, columns FROM trickle.sources WHERE relid = 'cust_auto'::regclass;
UPDATE customers SET name = 'renamed' WHERE id = 1;
SELECT action FROM trickle.refresh_stream_table('cust_auto');
SELECT name FROM cust_auto WHERE id = 1;

-- reading a table behind a view directly needs SELECT on it: refused by
-- 'differential', FULL under 'auto'
CREATE ROLE fi_reader;
GRANT USAGE, CREATE ON SCHEMA fi TO fi_reader;
GRANT SELECT ON open_orders TO fi_reader;
SET ROLE fi_reader;
SELECT trickle.create_stream_table('fi.reader_st', 'SELECT id, amount FROM open_orders',
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('fi.reader_st', 'SELECT id, amount FROM open_orders');
RESET ROLE;
SELECT effective_mode, mode_reason FROM trickle.stream_tables WHERE name = 'reader_st'::regclass;
SELECT trickle.drop_stream_table('reader_st');

-- DROP VIEW needs CASCADE, which drops the stream tables reading it (also
-- through another view); their capture goes with them
DROP VIEW open_orders;
DROP VIEW open_orders CASCADE;
SELECT to_regclass('big_open_lines') AS st, to_regclass('open_full') AS full_st;
SELECT count(*) AS source_rows FROM trickle.sources;
SELECT count(*) AS capture_triggers FROM pg_trigger WHERE tgname LIKE 'trickle_capture%';

-- WITH queries, subqueries, functions and VALUES in explain
SELECT trickle.create_stream_table('fi.shapes',
  $$WITH paid AS (SELECT id, cust, amount FROM orders WHERE status = 'paid')
    SELECT p.id, s.region, v.label, g.i
      FROM paid p
      JOIN (SELECT id, region FROM customers WHERE region IS NOT NULL) s ON s.id = p.cust
      JOIN (VALUES ('north', 'N'), ('south', 'S')) v(region, label) ON v.region = s.region,
      LATERAL generate_series(1, p.cust % 3) g(i)$$,
  refresh_mode => 'differential');
SELECT value FROM trickle.explain_stream_table('shapes') WHERE property = 'operator_tree';
SELECT source, columns FROM trickle.sources WHERE relid = 'shapes'::regclass ORDER BY source::text;
UPDATE orders SET cust = 3 WHERE id BETWEEN 2 AND 6;
UPDATE customers SET region = NULL WHERE id = 4;
SELECT action FROM trickle.refresh_stream_table('shapes');
SELECT count(*) AS differing FROM (
  (SELECT id, region, label, i FROM shapes
   EXCEPT ALL
   SELECT p.id, c.region, v.label, g.i FROM orders p JOIN customers c ON c.id = p.cust
     JOIN (VALUES ('north', 'N'), ('south', 'S')) v(region, label) ON v.region = c.region,
     generate_series(1, p.cust % 3) g(i) WHERE p.status = 'paid')
  UNION ALL
  (SELECT p.id, c.region, v.label, g.i FROM orders p JOIN customers c ON c.id = p.cust
     JOIN (VALUES ('north', 'N'), ('south', 'S')) v(region, label) ON v.region = c.region,
     generate_series(1, p.cust % 3) g(i) WHERE p.status = 'paid'
   EXCEPT ALL SELECT id, region, label, i FROM shapes)) d;

-- subqueries and views in FROM that group, aggregate or are DISTINCT: the
-- keys their changes touch are recomputed, before and after
CREATE VIEW cust_totals AS
  SELECT cust, sum(amount) AS total, count(*) AS n FROM orders GROUP BY cust;
SELECT trickle.create_stream_table('fi.derived',
  $$SELECT c.name, t.total, t.n FROM customers c JOIN cust_totals t ON t.cust = c.id
    WHERE t.n > 1$$, refresh_mode => 'differential');
SELECT trickle.create_stream_table('fi.derived_distinct',
  $$SELECT d.status, count(*) AS custs
    FROM (SELECT DISTINCT cust, status FROM orders) d GROUP BY d.status$$,
  refresh_mode => 'differential');
SELECT value FROM trickle.explain_stream_table('derived') WHERE property = 'operator_tree';
SELECT value FROM trickle.explain_stream_table('derived_distinct') WHERE property = 'operator_tree';
SELECT source, columns FROM trickle.sources WHERE relid = 'derived'::regclass ORDER BY source::text;
-- rows moving between groups, a group's last rows deleted, a NULL key
UPDATE orders SET cust = 2 WHERE id IN (1, 6);
DELETE FROM orders WHERE cust = 3;
INSERT INTO orders VALUES (91, 3, 5, 'open', 'n'), (92, NULL, 7, 'paid', 'n');
UPDATE customers SET name = 'c4b' WHERE id = 4;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('derived');
SELECT action FROM trickle.refresh_stream_table('derived_distinct');
SELECT name, total, n FROM derived ORDER BY name;
SELECT status, custs FROM derived_distinct ORDER BY status;
SELECT count(*) AS differing FROM (
  (SELECT name, total, n FROM derived
   EXCEPT ALL SELECT c.name, t.total, t.n FROM customers c JOIN cust_totals t ON t.cust = c.id
     WHERE t.n > 1)
  UNION ALL
  (SELECT c.name, t.total, t.n FROM customers c JOIN cust_totals t ON t.cust = c.id
     WHERE t.n > 1
   EXCEPT ALL SELECT name, total, n FROM derived)) d;
-- replacing the view by another grouped query keeps it differential
CREATE OR REPLACE VIEW cust_totals AS
  SELECT cust, sum(amount) AS total, count(*) AS n FROM orders WHERE status = 'paid' GROUP BY cust;
SELECT effective_mode FROM trickle.stream_tables WHERE name = 'derived'::regclass;
SELECT action FROM trickle.refresh_stream_table('derived');
SELECT name, total, n FROM derived ORDER BY name;

-- what stays FULL, with the reason
SELECT trickle.create_stream_table('fi.window_sub',
  'SELECT s.cust, s.r FROM (SELECT cust, rank() OVER (ORDER BY amount) AS r FROM orders) s',
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('fi.limit_sub',
  'SELECT s.cust, s.n FROM (SELECT cust, count(*) AS n FROM orders GROUP BY cust ORDER BY 2 LIMIT 3) s',
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('fi.recursive',
  $$WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r, orders o WHERE o.id = n AND n < 5)
    SELECT n FROM r$$,
  refresh_mode => 'differential');

DROP SCHEMA fi CASCADE;
DROP ROLE fi_reader;
