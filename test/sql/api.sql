-- The SQL API: create, query, refresh, drop.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric);
INSERT INTO orders SELECT g, g % 5, g * 1.5 FROM generate_series(1, 100) g;

-- the default name goes to the first schema of search_path, like CREATE TABLE
SELECT trickle.create_stream_table('order_totals',
  $$SELECT customer_id, count(*) AS n, sum(amount) AS total
      FROM orders GROUP BY customer_id$$, schedule => '5s');

-- a real relation with the trickle access method and the identity column
SELECT c.relname, a.amname, c.relkind
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.oid = 'order_totals'::regclass;
SELECT attname, format_type(atttypid, atttypmod)
  FROM pg_attribute WHERE attrelid = 'order_totals'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT indexrelid::regclass, indisprimary FROM pg_index WHERE indrelid = 'order_totals'::regclass;
SELECT relreplident FROM pg_class WHERE oid = 'order_totals'::regclass;

SELECT customer_id, n, total FROM order_totals ORDER BY customer_id;

SELECT name, schedule, refresh_mode, effective_mode, status, is_populated,
       last_refresh_at IS NOT NULL AS refreshed, staleness >= '0'::interval AS staleness_ok,
       consecutive_errors
  FROM trickle.stream_tables;

-- the stored definition is schema-qualified
SELECT definition FROM trickle.catalog WHERE relid = 'order_totals'::regclass;
SELECT source FROM trickle.sources WHERE relid = 'order_totals'::regclass;

-- changes show after a refresh; only changed rows are rewritten
UPDATE orders SET amount = amount + 1 WHERE customer_id = 1;
DELETE FROM orders WHERE customer_id = 2;
INSERT INTO orders VALUES (1000, 7, 3);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('order_totals');
SELECT customer_id, n, total FROM order_totals ORDER BY customer_id;
-- nothing changed: nothing rewritten
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('order_totals', true);

-- the stream table equals its query
(SELECT customer_id, n, total FROM order_totals
 EXCEPT ALL SELECT customer_id, count(*), sum(amount) FROM orders GROUP BY customer_id)
UNION ALL
(SELECT customer_id, count(*), sum(amount) FROM orders GROUP BY customer_id
 EXCEPT ALL SELECT customer_id, n, total FROM order_totals);

SELECT action, status, rows_inserted, rows_deleted, initiated_by, finished_at >= started_at AS ok
  FROM trickle.refresh_history WHERE stream_table = 'order_totals'::regclass
 ORDER BY refresh_id;

-- a user's trigger on the history fires (the refresh then records itself
-- with SQL instead of writing the rows directly)
CREATE TABLE refresh_log (stream_table regclass, action text, status text);
CREATE FUNCTION log_refresh() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN INSERT INTO refresh_log VALUES (NEW.stream_table, NEW.action, NEW.status); RETURN NEW; END$$;
CREATE TRIGGER log_refresh AFTER INSERT ON trickle.refresh_history
  FOR EACH ROW EXECUTE FUNCTION log_refresh();
UPDATE orders SET amount = amount + 1 WHERE customer_id = 3;
SELECT action FROM trickle.refresh_stream_table('order_totals');
SELECT action FROM trickle.refresh_stream_table('order_totals', true);
SELECT stream_table, action, status FROM refresh_log;
DROP TRIGGER log_refresh ON trickle.refresh_history;
DROP FUNCTION log_refresh();
DROP TABLE refresh_log;

-- duplicate rows (bag semantics) survive a refresh that changes their count
CREATE TABLE bag (v int);
INSERT INTO bag VALUES (1), (1), (2), (NULL), (NULL);
SELECT trickle.create_stream_table('bag_copy', 'SELECT v FROM bag', refresh_mode => 'full');
SELECT v, count(*) FROM bag_copy GROUP BY v ORDER BY v;
DELETE FROM bag WHERE v = 2;
INSERT INTO bag VALUES (1), (NULL), (3);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('bag_copy');
SELECT v, count(*) FROM bag_copy GROUP BY v ORDER BY v;
SELECT count(DISTINCT __trickle_row_id) = count(*) AS ids_unique FROM bag_copy;

-- FULL rewrites values equal under = but different in form (1.0 -> 1.00)
CREATE TABLE nums (k int, x numeric);
INSERT INTO nums VALUES (1, 1.0);
SELECT trickle.create_stream_table('nums_st', 'SELECT k, x FROM nums', refresh_mode => 'full');
UPDATE nums SET x = 1.00;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('nums_st');
SELECT k, x::text FROM nums_st;

-- types without equality or hashing (json, point) work
CREATE TABLE docs (id int, body json, p point);
INSERT INTO docs VALUES (1, '{"a": 1}', '(1,2)'), (2, '[1, 2]', NULL);
SELECT trickle.create_stream_table('docs_st', 'SELECT id, body, p FROM docs');
UPDATE docs SET body = '{"a":  1}' WHERE id = 1;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('docs_st');
SELECT id, body::text, p::text FROM docs_st ORDER BY id;

-- initialize => false: created empty and unpopulated, populated by a refresh
SELECT trickle.create_stream_table('later', 'SELECT count(*) AS n FROM orders', initialize => false);
SELECT is_populated FROM trickle.stream_tables WHERE name = 'later'::regclass;
SELECT count(*) FROM later;
SELECT action, rows_inserted FROM trickle.refresh_stream_table('later');
SELECT n, (SELECT is_populated FROM trickle.stream_tables WHERE name = 'later'::regclass) FROM later;

-- schema-qualified names, quoted identifiers, mixed case, collations
CREATE SCHEMA "My Schema";
CREATE TABLE "My Schema"."Src ""T""" ("Key" text COLLATE "C", "va lue" int);
INSERT INTO "My Schema"."Src ""T""" VALUES ('a', 1), ('B', 2), ('a', 3);
SELECT trickle.create_stream_table('"My Schema"."Sum ""T"""',
  $$SELECT "Key", sum("va lue") AS "Total Value" FROM "My Schema"."Src ""T""" GROUP BY "Key"$$);
SELECT "Key", "Total Value", __trickle_row_id IS NOT NULL AS has_id FROM "My Schema"."Sum ""T""" ORDER BY "Key";
SELECT attname, attcollation::regcollation FROM pg_attribute
 WHERE attrelid = '"My Schema"."Sum ""T"""'::regclass AND attname = 'Key';
UPDATE "My Schema"."Src ""T""" SET "va lue" = 10 WHERE "Key" = 'B';
SELECT action FROM trickle.refresh_stream_table('"My Schema"."Sum ""T"""');
SELECT "Key", "Total Value", __trickle_row_id IS NOT NULL AS has_id FROM "My Schema"."Sum ""T""" ORDER BY "Key";

-- stream tables can be indexed, commented, granted, read through views, joined
CREATE INDEX ON order_totals (total);
COMMENT ON TABLE order_totals IS 'totals per customer';
GRANT SELECT ON order_totals TO PUBLIC;
CREATE VIEW big_customers AS SELECT customer_id FROM order_totals WHERE total > 1000;
SELECT count(*) > 0 AS some FROM big_customers JOIN orders USING (customer_id);
SELECT action FROM trickle.refresh_stream_table('order_totals');
DROP VIEW big_customers;

-- a stream table over a stream table
SELECT trickle.create_stream_table('order_grand_total', 'SELECT sum(total) AS total FROM order_totals');
SELECT total = (SELECT sum(amount) FROM orders) AS right_total FROM order_grand_total;

-- a stream table over a view
CREATE VIEW recent_orders AS SELECT * FROM orders WHERE id > 50;
SELECT trickle.create_stream_table('recent_count', 'SELECT count(*) AS n FROM recent_orders');
SELECT n FROM recent_count;

-- drop: by function, by DROP TABLE, and dependents need CASCADE
SELECT trickle.drop_stream_table('order_totals');
SELECT trickle.drop_stream_table('order_totals', cascade => true);
SELECT to_regclass('order_totals'), to_regclass('order_grand_total');
DROP TABLE later;
DROP SCHEMA "My Schema" CASCADE;
SELECT name FROM trickle.stream_tables ORDER BY name::text;
SELECT count(*) AS orphan_sources FROM trickle.sources s
 WHERE NOT EXISTS (SELECT FROM trickle.catalog c WHERE c.relid = s.relid);
SELECT count(*) AS orphan_history FROM trickle.refresh_history h
 WHERE NOT EXISTS (SELECT FROM trickle.catalog c WHERE c.relid = h.stream_table);

-- dropping a source needs CASCADE, which takes the stream table with it
DROP TABLE bag;
DROP TABLE bag CASCADE;
SELECT to_regclass('bag_copy');

DROP TABLE orders CASCADE;
DROP TABLE nums CASCADE;
DROP TABLE docs CASCADE;

-- an output column named like the FULL statement's row alias
CREATE TABLE dd (id int PRIMARY KEY, d int);
INSERT INTO dd VALUES (1, 10), (2, 20);
SELECT trickle.create_stream_table('dd_st', 'SELECT id, d FROM dd', refresh_mode => 'full');
UPDATE dd SET d = 11 WHERE id = 1;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('dd_st');
SELECT id, d FROM dd_st ORDER BY id;
DROP TABLE dd CASCADE;
SELECT count(*) FROM trickle.catalog;
