-- Renaming what a stream table reads keeps it working, as for a view.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE SCHEMA rn;
CREATE TABLE rn.items (id int, price numeric, kind text);
INSERT INTO rn.items VALUES (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'a');
CREATE VIEW rn.cheap AS SELECT id, kind FROM rn.items WHERE price < 25;
SELECT trickle.create_stream_table('rn.by_kind',
  'SELECT kind, sum(price) AS total FROM rn.items GROUP BY kind');
SELECT trickle.create_stream_table('rn.cheap_count',
  'SELECT count(*) AS n FROM rn.cheap');
SELECT trickle.create_stream_table('public.kinds_total',
  'SELECT sum(total) AS total FROM rn.by_kind');

ALTER TABLE rn.items RENAME COLUMN price TO amount;
ALTER TABLE rn.items RENAME TO goods;
ALTER VIEW rn.cheap RENAME TO bargains;
ALTER TABLE rn.by_kind RENAME TO totals_by_kind;
ALTER SCHEMA rn RENAME TO shop;
CREATE SCHEMA archive;
ALTER TABLE shop.goods SET SCHEMA archive;

SELECT relid, definition FROM trickle.catalog ORDER BY relid::text;

INSERT INTO archive.goods VALUES (4, 5, 'c');
SELECT action FROM trickle.refresh_stream_table('shop.totals_by_kind');
SELECT action FROM trickle.refresh_stream_table('shop.cheap_count');
SELECT action FROM trickle.refresh_stream_table('public.kinds_total');
SELECT kind, total FROM shop.totals_by_kind ORDER BY kind;
SELECT n FROM shop.cheap_count;
SELECT total FROM public.kinds_total;

DROP SCHEMA archive CASCADE;
DROP SCHEMA shop CASCADE;
SELECT count(*) FROM trickle.catalog;
