-- Bad input gets a clear error and leaves nothing behind.
\set VERBOSITY default
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE TABLE src (id int PRIMARY KEY, grp int, val numeric, note text);
INSERT INTO src SELECT g, g % 3, g, 'n' || g FROM generate_series(1, 10) g;
CREATE TEMP TABLE tmp_src (a int);

-- a snapshot of everything trickle could leave behind
CREATE VIEW trace AS
SELECT (SELECT count(*) FROM trickle.catalog) AS catalog_rows,
       (SELECT count(*) FROM trickle.sources) AS source_rows,
       (SELECT count(*) FROM trickle.refresh_history) AS history_rows,
       (SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam
         WHERE a.amname = 'trickle') AS trickle_relations,
       (SELECT count(*) FROM pg_class WHERE relname LIKE 'bad%') AS bad_relations;
SELECT * FROM trace;

-- not a single SELECT
SELECT trickle.create_stream_table('bad1', 'SELECT 1 AS a; SELECT 2 AS b');
SELECT trickle.create_stream_table('bad1', 'DELETE FROM src');
SELECT trickle.create_stream_table('bad1', 'SELECT * INTO bad_into FROM src');
SELECT trickle.create_stream_table('bad1', '');
SELECT trickle.create_stream_table('bad1', 'SELEC 1');
-- unknown relation and column: the position points into the query
SELECT trickle.create_stream_table('bad1', 'SELECT * FROM no_such_table');
SELECT trickle.create_stream_table('bad1', 'SELECT nope FROM src');
-- volatile functions, TABLESAMPLE and row locks: 'differential' refuses
-- them, naming them and pointing at them in the query (multi-byte text and
-- keywords inside strings and comments do not move the caret)
SELECT trickle.create_stream_table('bad1', 'SELECT id, random() AS r FROM src',
  refresh_mode => 'differential');
CREATE SEQUENCE s;
SELECT trickle.create_stream_table('bad1', $$SELECT nextval('s') AS n$$,
  refresh_mode => 'differential');
DROP SEQUENCE s;
SELECT trickle.create_stream_table('bad1', 'SELECT id, ''é'' AS e
  FROM src WHERE val > 10 * random()', refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src /* for update */
  WHERE note <> ''for share'' FOR NO KEY UPDATE', refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src FOR KEY SHARE',
  refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad1',
  'SELECT s.id FROM src s JOIN src t TABLESAMPLE bernoulli (50) ON t.id = s.id',
  refresh_mode => 'differential');
-- in a view's body too, named with the view
CREATE VIEW vol_view AS SELECT id FROM src WHERE val > 5 * random();
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM vol_view',
  refresh_mode => 'differential');
DROP VIEW vol_view;
-- temporary sources, system columns, writable CTEs
SELECT trickle.create_stream_table('bad1', 'SELECT a FROM tmp_src');
SELECT trickle.create_stream_table('bad1', 'SELECT ctid, id FROM src');
SELECT trickle.create_stream_table('bad1',
  'WITH d AS (DELETE FROM src RETURNING id) SELECT id FROM d');
-- output columns a table cannot have
SELECT trickle.create_stream_table('bad1', 'SELECT id, grp AS id FROM src');
SELECT trickle.create_stream_table('bad1', 'SELECT id AS __trickle_x FROM src');
SELECT trickle.create_stream_table('bad1', 'SELECT ROW(id, grp) AS r FROM src');
SELECT trickle.create_stream_table('bad1', 'SELECT FROM src');
-- parameters are not allowed
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src WHERE id = $1');

-- bad schedules
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', schedule => '5x');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', schedule => '');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', schedule => '50ms');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', schedule => '61 * * * *');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', schedule => '* * *');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', schedule => NULL);

-- bad refresh modes; differential and immediate are not available yet
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', refresh_mode => 'fast');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src ORDER BY id LIMIT 3 OFFSET 1', refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad1', 'SELECT id, rank() OVER (ORDER BY id) AS r FROM src', refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad1', 'SELECT s.id FROM src s LEFT JOIN src t ON t.id = s.id AND t.id IN (SELECT id FROM src)', refresh_mode => 'differential');
SELECT trickle.create_stream_table('bad1', 'SELECT id FROM src', refresh_mode => 'IMMEDIATE');

-- bad names
SELECT trickle.create_stream_table('src', 'SELECT id FROM src');
SELECT trickle.create_stream_table('no_schema.bad1', 'SELECT id FROM src');
-- the temporary schema's number depends on the backend: hide the DETAIL
\set VERBOSITY terse
SELECT trickle.create_stream_table('pg_temp.bad1', 'SELECT id FROM src');
\set VERBOSITY default
SELECT trickle.create_stream_table(NULL, 'SELECT id FROM src');
SELECT trickle.create_stream_table('bad1', NULL);

-- an error while populating (division by zero) rolls everything back
SELECT trickle.create_stream_table('bad1', 'SELECT id / (id - 5) AS x FROM src');

-- nothing was left behind by any of the above
SELECT * FROM trace;

-- 'auto' refreshes such queries FULL and says what and where; 'full' runs
-- them as written
SELECT trickle.create_stream_table('vol1', 'SELECT id, random() AS r FROM src');
SELECT trickle.create_stream_table('vol2', 'SELECT id FROM src FOR UPDATE');
SELECT trickle.create_stream_table('vol3',
  'SELECT id FROM src TABLESAMPLE system (100) REPEATABLE (7)');
SELECT trickle.create_stream_table('vol4', 'SELECT id FROM src FOR SHARE',
  refresh_mode => 'full');
SELECT name, effective_mode, mode_reason FROM trickle.stream_tables
 WHERE name::text LIKE 'vol%' ORDER BY name::text;
SELECT count(*), count(DISTINCT r) FROM vol1;
SELECT action FROM trickle.refresh_stream_table('vol2');
SELECT trickle.drop_stream_table('vol1');
SELECT trickle.drop_stream_table('vol2');
SELECT trickle.drop_stream_table('vol3');
SELECT trickle.drop_stream_table('vol4');

-- case-insensitive modes and cron schedules are fine
SELECT trickle.create_stream_table('good1', 'SELECT id FROM src',
  schedule => '*/5 * * * *', refresh_mode => 'FULL');
SELECT trickle.create_stream_table('good2', 'SELECT id FROM src', schedule => '@hourly');
SELECT trickle.create_stream_table('good3', 'SELECT id FROM src', schedule => '1h30m');
SELECT name, schedule, refresh_mode FROM trickle.stream_tables ORDER BY name::text;

-- functions on things that are not stream tables
SELECT * FROM trickle.refresh_stream_table('src');
SELECT * FROM trickle.refresh_stream_table('no_such');
SELECT trickle.drop_stream_table('src');
SELECT trickle.drop_stream_table('no_such');

-- sources and the columns a stream table reads are protected like a view's
SELECT trickle.create_stream_table('notes', 'SELECT id, note FROM src');
ALTER TABLE src DROP COLUMN note;
ALTER TABLE src ALTER COLUMN note TYPE varchar(10);
ALTER TABLE src RENAME COLUMN val TO value;
ALTER TABLE src DROP COLUMN value;
ALTER TABLE src ALTER COLUMN grp TYPE bigint;
SELECT action FROM trickle.refresh_stream_table('notes');
DROP TABLE src;
ALTER TABLE src DROP COLUMN note CASCADE;
SELECT to_regclass('notes');

SELECT trickle.drop_stream_table('good1');
SELECT trickle.drop_stream_table('good2');
SELECT trickle.drop_stream_table('good3');
DROP VIEW trace;
DROP TABLE src;
