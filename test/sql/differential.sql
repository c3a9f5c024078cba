-- Differential refresh: capture objects, modes, explain, TRUNCATE, cleanup.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

CREATE SCHEMA "Diff Schema";
SET search_path = "Diff Schema", public;
CREATE TABLE "Order Lines" ("Line Id" int PRIMARY KEY, "Cust""omer" text,
	amount numeric, doc json, note text);
INSERT INTO "Order Lines" SELECT i, 'c' || (i % 3), i * 1.5, '{"x": 1}', 'n'
  FROM generate_series(1, 12) i;
ALTER TABLE "Order Lines" DROP COLUMN note;

-- quoted, mixed-case names everywhere; the json column is not read
SELECT trickle.create_stream_table('"Diff Schema"."Per Customer"',
  $$SELECT "Cust""omer", count(*) AS "N", sum(amount) AS "Total"
      FROM "Order Lines" GROUP BY "Cust""omer"$$, refresh_mode => 'differential');
SELECT effective_mode, mode_reason FROM trickle.stream_tables
 WHERE name = '"Diff Schema"."Per Customer"'::regclass;

-- capture: four internal statement-level triggers, no row trigger, a buffer
-- holding only the columns read
SELECT count(*) AS triggers, bool_and(tgisinternal) AS internal,
       bool_and(tgtype & 1 = 0) AS statement_level
  FROM pg_trigger WHERE tgrelid = '"Order Lines"'::regclass;
SELECT attname FROM pg_attribute
 WHERE attrelid = ('trickle_changes.changes_' || '"Order Lines"'::regclass::oid)::regclass
   AND attnum > 0 ORDER BY attnum;

INSERT INTO "Order Lines" VALUES (100, 'c9', 10, NULL);
UPDATE "Order Lines" SET amount = amount + 1 WHERE "Line Id" <= 3;
DELETE FROM "Order Lines" WHERE "Line Id" = 4;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('"Per Customer"');
SELECT action FROM trickle.refresh_stream_table('"Per Customer"');
SELECT "Cust""omer", "N", "Total" FROM "Per Customer" ORDER BY 1;
SELECT count(*) AS differing FROM (
  (SELECT "Cust""omer", "N", "Total" FROM "Per Customer"
   EXCEPT ALL SELECT "Cust""omer", count(*), sum(amount) FROM "Order Lines" GROUP BY 1)
  UNION ALL
  (SELECT "Cust""omer", count(*), sum(amount) FROM "Order Lines" GROUP BY 1
   EXCEPT ALL SELECT "Cust""omer", "N", "Total" FROM "Per Customer")) d;

-- consumed changes are deleted from the buffer
SELECT 'trickle_changes.changes_' || '"Order Lines"'::regclass::oid AS buffer \gset
SELECT count(*) AS buffered FROM :buffer;

-- TRUNCATE: the next refresh recomputes
TRUNCATE "Order Lines";
INSERT INTO "Order Lines" VALUES (1, 'a', 1, NULL), (2, 'a', 2, NULL);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('"Per Customer"');
SELECT "Cust""omer", "N", "Total" FROM "Per Customer" ORDER BY 1;

-- a second stream table on the same source shares the buffer and adds its columns
SELECT trickle.create_stream_table('lines', $$SELECT "Line Id", amount FROM "Order Lines" WHERE amount > 1$$);
SELECT effective_mode FROM trickle.stream_tables WHERE name = 'lines'::regclass;
INSERT INTO "Order Lines" VALUES (3, 'b', 5, NULL), (4, 'b', 5, NULL);
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('lines');
SELECT "Line Id", amount FROM lines ORDER BY 1;

-- explain: the operator tree and the SQL
SELECT property, CASE WHEN property IN ('delta_sql', 'full_sql', 'frontier', 'change_buffer', 'definition')
                      THEN value IS NOT NULL ELSE NULL END AS present,
       CASE WHEN property IN ('operator_tree', 'effective_mode', 'refresh_mode', 'hidden_column')
            THEN value END AS value
  FROM trickle.explain_stream_table('"Per Customer"');

-- auto falls back to FULL with the reason; differential refuses
SELECT trickle.create_stream_table('distinct_customers',
  $$SELECT DISTINCT "Cust""omer" FROM "Order Lines"$$);
SELECT effective_mode, mode_reason FROM trickle.stream_tables
 WHERE name = 'distinct_customers'::regclass;
SELECT trickle.create_stream_table('json_lines', $$SELECT "Line Id", doc FROM "Order Lines"$$,
  refresh_mode => 'differential');
SELECT property, value FROM trickle.explain_stream_table('distinct_customers')
 WHERE property = 'differential';

-- a source no differential stream table reads loses its triggers and buffer
SELECT trickle.drop_stream_table('"Per Customer"');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = '"Order Lines"'::regclass;
SELECT trickle.drop_stream_table('lines');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = '"Order Lines"'::regclass;
SELECT count(*) AS buffers FROM pg_class WHERE relname = 'changes_' || '"Order Lines"'::regclass::oid;

RESET search_path;
DROP SCHEMA "Diff Schema" CASCADE;
