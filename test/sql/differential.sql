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

-- an UPDATE that leaves every captured column as it was writes nothing (doc
-- is not captured); one that changes a captured column's bytes writes a
-- pair per row, also when the values are equal (3.0 and 3.00 show
-- differently in "Total")
UPDATE "Order Lines" SET doc = '{"x": 2}';
UPDATE "Order Lines" SET amount = amount WHERE "Line Id" <= 3;
SELECT count(*) AS buffered FROM :buffer;
UPDATE "Order Lines" SET amount = amount * 1.00 WHERE "Line Id" = 2;
SELECT count(*) AS buffered FROM :buffer;
SELECT action FROM trickle.refresh_stream_table('"Per Customer"');
SELECT "Cust""omer", "N", "Total" FROM "Per Customer" ORDER BY 1;
SELECT "Cust""omer", count(*), sum(amount) FROM "Order Lines" GROUP BY 1 ORDER BY 1;

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
SELECT trickle.create_stream_table('all_customers',
  $$SELECT string_agg(DISTINCT "Cust""omer", ',') AS customers FROM "Order Lines"$$);
SELECT effective_mode, mode_reason FROM trickle.stream_tables
 WHERE name = 'all_customers'::regclass;
SELECT trickle.create_stream_table('json_lines', $$SELECT "Line Id", doc FROM "Order Lines"$$,
  refresh_mode => 'differential');
SELECT property, value FROM trickle.explain_stream_table('all_customers')
 WHERE property = 'differential';

-- a source no differential stream table reads loses its triggers and buffer
SELECT trickle.drop_stream_table('"Per Customer"');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = '"Order Lines"'::regclass;
SELECT trickle.drop_stream_table('lines');
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = '"Order Lines"'::regclass;
SELECT count(*) AS buffers FROM pg_class WHERE relname = 'changes_' || '"Order Lines"'::regclass::oid;

RESET search_path;
DROP SCHEMA "Diff Schema" CASCADE;

-- Partitioned sources: one buffer, numbered like the root; four internal
-- statement-level triggers on the root, on every intermediate partitioned
-- table and on every leaf, whose payload maps the table's columns onto the
-- root's (flag p).  A leaf with a dropped column and another column order.
CREATE SCHEMA parts;
SET search_path = parts, public;
CREATE TABLE events (id int, kind text, amount int, note text) PARTITION BY LIST (kind);
CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a');
CREATE TABLE events_bc PARTITION OF events FOR VALUES IN ('b', 'c') PARTITION BY RANGE (id);
CREATE TABLE events_bc_low PARTITION OF events_bc FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE events_bc_high (junk int, amount int, note text, kind text, id int);
ALTER TABLE events_bc_high DROP COLUMN junk;
ALTER TABLE events_bc ATTACH PARTITION events_bc_high FOR VALUES FROM (100) TO (MAXVALUE);
INSERT INTO events VALUES (1, 'a', 10), (2, 'b', 20), (200, 'c', 30);
SELECT trickle.create_stream_table('per_kind',
  $$SELECT kind, count(*) AS n, sum(amount) AS total FROM events GROUP BY kind$$,
  refresh_mode => 'differential');
CREATE VIEW capture AS
  SELECT t.relid::regclass AS "table", count(g.oid) AS triggers,
         bool_and(g.tgisinternal) AS internal, bool_and(g.tgtype & 1 = 0) AS statement_level,
         min(regexp_replace(replace(encode(g.tgargs, 'escape'), '\000', ''), '^t1:\d+:', 't1:<root>:')) AS payload
    FROM pg_partition_tree('parts.events') t
    LEFT JOIN pg_trigger g ON g.tgrelid = t.relid AND g.tgname LIKE 'trickle\_capture\_%'
   GROUP BY t.relid ORDER BY 1;
SELECT * FROM capture;
SELECT count(*) AS row_triggers FROM pg_trigger g JOIN pg_partition_tree('events') t ON t.relid = g.tgrelid
 WHERE g.tgtype & 1 = 1;
SELECT 'trickle_changes.changes_' || 'events'::regclass::oid AS events_buffer \gset
SELECT attname FROM pg_attribute WHERE attrelid = :'events_buffer'::regclass AND attnum > 0 ORDER BY attnum;
CREATE VIEW per_kind_diff AS
  SELECT count(*) AS differing FROM (
    (SELECT kind, n, total FROM per_kind
     EXCEPT ALL SELECT kind, count(*), sum(amount) FROM events GROUP BY kind)
    UNION ALL
    (SELECT kind, count(*), sum(amount) FROM events GROUP BY kind
     EXCEPT ALL SELECT kind, n, total FROM per_kind)) d;

-- writes through the root (a row moving to another partition is an update),
-- through the intermediate table and into leaves directly: captured once each
UPDATE events SET kind = 'b' WHERE id = 1;
UPDATE events_bc SET id = 150, amount = amount + 1 WHERE id = 2;
INSERT INTO events_bc_high (id, kind, amount) VALUES (300, 'c', 5);
INSERT INTO events_a VALUES (3, 'a', 7);
DELETE FROM events_bc_low WHERE id = 1;
SELECT __w, count(*) FROM :events_buffer GROUP BY __w ORDER BY __w;
SELECT action FROM trickle.refresh_stream_table('per_kind');
SELECT * FROM per_kind_diff;

-- a partition created later gets the triggers, and its rows are captured
CREATE TABLE events_d PARTITION OF events FOR VALUES IN ('d');
INSERT INTO events_d VALUES (4, 'd', 1);
SELECT action FROM trickle.refresh_stream_table('per_kind');
SELECT "table", triggers FROM capture WHERE "table" = 'events_d'::regclass;

-- ATTACH of a table with rows: recompute
CREATE TABLE events_e (id int, kind text, amount int, note text);
INSERT INTO events_e VALUES (5, 'e', 50);
ALTER TABLE events ATTACH PARTITION events_e FOR VALUES IN ('e');
SELECT action FROM trickle.refresh_stream_table('per_kind');
SELECT * FROM per_kind_diff;

-- DETACH: recompute, and the detached table loses its triggers
ALTER TABLE events DETACH PARTITION events_e;
SELECT action FROM trickle.refresh_stream_table('per_kind');
SELECT * FROM per_kind_diff;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'events_e'::regclass;
-- attaching or detaching an empty table, or creating a partition, moves no
-- rows: nothing to refresh
DELETE FROM events_e;
ALTER TABLE events ATTACH PARTITION events_e FOR VALUES IN ('e');
ALTER TABLE events DETACH PARTITION events_e;
CREATE TABLE events_f PARTITION OF events FOR VALUES IN ('f');
SELECT action FROM trickle.refresh_stream_table('per_kind');

-- TRUNCATE of one leaf, MERGE into the root, DROP of a leaf with rows:
-- recompute
TRUNCATE events_bc_low;
SELECT action FROM trickle.refresh_stream_table('per_kind');
MERGE INTO events e USING (VALUES (150, 'a')) s(id, kind) ON e.id = s.id
  WHEN MATCHED THEN UPDATE SET kind = s.kind;
SELECT action FROM trickle.refresh_stream_table('per_kind');
SELECT * FROM per_kind_diff;
DROP TABLE events_d;
SELECT action FROM trickle.refresh_stream_table('per_kind');
SELECT * FROM per_kind_diff;

-- what cannot be captured: a partition named directly, ONLY, a foreign
-- table joining the tree, a captured table becoming a partition
SELECT trickle.create_stream_table('leaf_only', $$SELECT id FROM events_a$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('leaf_auto', $$SELECT id FROM events_a$$);
SELECT effective_mode, mode_reason FROM trickle.stream_tables WHERE name = 'leaf_auto'::regclass;
SELECT trickle.create_stream_table('root_only', $$SELECT id FROM ONLY events$$,
  refresh_mode => 'differential');
CREATE TABLE plain (id int, kind text, amount int, note text);
SELECT trickle.create_stream_table('plain_st', $$SELECT id, amount FROM plain$$,
  refresh_mode => 'differential');
ALTER TABLE events ATTACH PARTITION plain FOR VALUES IN ('p');
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_server FOREIGN DATA WRAPPER dummy_fdw;
CREATE FOREIGN TABLE events_x PARTITION OF events FOR VALUES IN ('x') SERVER dummy_server;

-- inheritance: children are captured like partitions; INHERIT and NO
-- INHERIT move rows (recompute); a child that also inherits from a table
-- outside the tree is refused
CREATE TABLE base (id int, amount int);
CREATE TABLE outsider (id int, amount int);
INSERT INTO base VALUES (1, 1);
SELECT trickle.create_stream_table('base_st', $$SELECT id, amount FROM base$$,
  refresh_mode => 'differential');
CREATE TABLE child (extra text, amount int, id int);
INSERT INTO child VALUES ('x', 2, 2);
ALTER TABLE child INHERIT base;
SELECT action FROM trickle.refresh_stream_table('base_st');
UPDATE base SET amount = amount * 10;
INSERT INTO child VALUES ('y', 3, 3);
SELECT action FROM trickle.refresh_stream_table('base_st');
SELECT id, amount FROM base_st ORDER BY id;
ALTER TABLE child INHERIT outsider;
ALTER TABLE child NO INHERIT base;
SELECT action FROM trickle.refresh_stream_table('base_st');
SELECT id, amount FROM base_st ORDER BY id;

-- logical replication targets: the apply worker fires only row triggers, so
-- differential is refused on them, and a captured table cannot become one
CREATE TABLE feed (id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE feed_a PARTITION OF feed FOR VALUES IN ('a');
CREATE TABLE feed_plain (id int);
SET client_min_messages = error;
CREATE PUBLICATION trickle_pub FOR TABLE feed_a, feed_plain;
SELECT format('dbname=%s user=%s host=%s port=%s', current_database(), current_user,
              current_setting('unix_socket_directories'), current_setting('port')) AS conninfo \gset
CREATE SUBSCRIPTION trickle_sub CONNECTION :'conninfo' PUBLICATION trickle_pub
  WITH (create_slot = false, enabled = false, slot_name = NONE);
SET client_min_messages = warning;
SELECT srrelid::regclass FROM pg_subscription_rel ORDER BY 1;
SELECT trickle.create_stream_table('replicated', $$SELECT id FROM feed_plain$$,
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('replicated_tree', $$SELECT kind, count(*) AS n FROM feed GROUP BY kind$$,
  refresh_mode => 'differential');
DROP SUBSCRIPTION trickle_sub;
ALTER PUBLICATION trickle_pub ADD TABLE plain;
SET client_min_messages = error;
CREATE SUBSCRIPTION trickle_sub CONNECTION :'conninfo' PUBLICATION trickle_pub
  WITH (create_slot = false, enabled = false, slot_name = NONE);
SET client_min_messages = warning;
DROP PUBLICATION trickle_pub;

-- the last differential consumer gone: every member loses its triggers
DROP VIEW per_kind_diff;
SELECT trickle.drop_stream_table('per_kind');
SELECT "table", triggers FROM capture;
SELECT count(*) AS buffers FROM pg_class WHERE relname = 'changes_' || 'events'::regclass::oid;
RESET search_path;
DROP SCHEMA parts CASCADE;
DROP SERVER dummy_server;
DROP FOREIGN DATA WRAPPER dummy_fdw;

-- MIN/MAX of a group whose extreme was inserted and then updated or deleted
-- before the refresh: the extreme is re-derived, not taken from the insert
CREATE TABLE mm_src (id int, g int, v int);
SELECT trickle.create_stream_table('mm_st',
	'SELECT g, min(v) AS mn, max(v) AS mx FROM mm_src GROUP BY g', refresh_mode => 'differential');
BEGIN;
INSERT INTO mm_src VALUES (2, 5, 32);
UPDATE mm_src SET v = 48 WHERE id = 2;
COMMIT;
SELECT action FROM trickle.refresh_stream_table('mm_st');
SELECT g, mn, mx FROM mm_st;
BEGIN;
INSERT INTO mm_src VALUES (3, 5, 10), (4, 5, 60), (5, 6, 1);
DELETE FROM mm_src WHERE id IN (3, 4, 5);
COMMIT;
SELECT action FROM trickle.refresh_stream_table('mm_st');
SELECT g, mn, mx FROM mm_st ORDER BY g;
SELECT trickle.drop_stream_table('mm_st');
DROP TABLE mm_src;

-- a large buffer whose every row is consumed is emptied by TRUNCATE (a new
-- relfilenode) once it reaches trickle.buffer_truncate_threshold; below
-- that (from 8 pages on) it keeps its consumed rows
CREATE TABLE bulk (id int PRIMARY KEY, v int);
INSERT INTO bulk SELECT i, 0 FROM generate_series(1, 20000) i;
SELECT trickle.create_stream_table('bulk_sum',
  'SELECT count(*) AS n, sum(v) AS s FROM bulk', refresh_mode => 'differential');
SELECT 'trickle_changes.changes_' || 'bulk'::regclass::oid AS bulk_buffer \gset
SELECT pg_relation_filenode(:'bulk_buffer') AS node \gset
SHOW trickle.buffer_truncate_threshold;
UPDATE bulk SET v = v + 1;
SELECT pg_relation_size(:'bulk_buffer') BETWEEN 64 * 8192 AND 512 * 8192 AS kept_size;
SELECT action FROM trickle.refresh_stream_table('bulk_sum');
SELECT count(*) AS buffered, pg_relation_filenode(:'bulk_buffer') <> :node AS truncated
  FROM :bulk_buffer;
SELECT n, s FROM bulk_sum;
SET trickle.buffer_truncate_threshold = '1MB';
UPDATE bulk SET v = v + 1 WHERE id <= 10;
SELECT action FROM trickle.refresh_stream_table('bulk_sum');
SELECT count(*) AS buffered, pg_relation_filenode(:'bulk_buffer') <> :node AS truncated
  FROM :bulk_buffer;
SELECT n, s FROM bulk_sum;
-- from here on, every buffer of at least 64 pages is truncated when it can
-- be; inside a transaction block, and while a second consumer has not read
-- it, it is cleaned by DELETE (the same relfilenode)
SET trickle.buffer_truncate_threshold = 64;
SELECT pg_relation_filenode(:'bulk_buffer') AS node \gset
UPDATE bulk SET v = v + 1;
SELECT action FROM trickle.refresh_stream_table('bulk_sum');
SELECT count(*) AS buffered, pg_relation_filenode(:'bulk_buffer') <> :node AS truncated
  FROM :bulk_buffer;
SELECT n, s FROM bulk_sum;
SELECT pg_relation_filenode(:'bulk_buffer') AS node \gset
UPDATE bulk SET v = v + 1;
BEGIN;
SELECT action FROM trickle.refresh_stream_table('bulk_sum');
COMMIT;
SELECT count(*) AS buffered, pg_relation_filenode(:'bulk_buffer') <> :node AS truncated
  FROM :bulk_buffer;
SELECT trickle.create_stream_table('bulk_max',
  'SELECT max(v) AS m FROM bulk', refresh_mode => 'differential');
SELECT pg_relation_filenode(:'bulk_buffer') AS node \gset
UPDATE bulk SET v = v + 1;
SELECT action FROM trickle.refresh_stream_table('bulk_sum');
SELECT count(*) AS buffered, pg_relation_filenode(:'bulk_buffer') <> :node AS truncated
  FROM :bulk_buffer;
SELECT action FROM trickle.refresh_stream_table('bulk_max');
SELECT count(*) AS buffered, pg_relation_filenode(:'bulk_buffer') <> :node AS truncated
  FROM :bulk_buffer;
SELECT n, s FROM bulk_sum;
SELECT m FROM bulk_max;
SELECT trickle.drop_stream_table('bulk_sum');
SELECT trickle.drop_stream_table('bulk_max');
DROP TABLE bulk;
RESET trickle.buffer_truncate_threshold;
