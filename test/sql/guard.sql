-- Only trickle writes stream tables; reading, indexing and granting work.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE TABLE gsrc (k int, v int);
INSERT INTO gsrc VALUES (1, 10), (2, 20);
SELECT trickle.create_stream_table('gst', 'SELECT k, sum(v) AS s FROM gsrc GROUP BY k');

-- DML of every kind, however it is routed
INSERT INTO gst VALUES (3, 30, 3);
UPDATE gst SET s = 0;
DELETE FROM gst;
MERGE INTO gst t USING gsrc s ON t.k = s.k WHEN MATCHED THEN DELETE;
INSERT INTO gst VALUES (1, 1, 1) ON CONFLICT DO NOTHING;
WITH w AS (DELETE FROM gst RETURNING *) SELECT count(*) FROM w;
WITH w AS (INSERT INTO gsrc VALUES (9, 9) RETURNING *)
  INSERT INTO gst SELECT k, v, k FROM w;
SELECT count(*) FROM gsrc WHERE k = 9;
CREATE FUNCTION sneaky() RETURNS void LANGUAGE plpgsql AS
  $$BEGIN DELETE FROM gst; END$$;
SELECT sneaky();
DROP FUNCTION sneaky();
COPY gst FROM '/dev/null';
TRUNCATE gst;
TRUNCATE gsrc, gst;

-- DDL that changes the shape or the contents
ALTER TABLE gst ADD COLUMN extra int;
ALTER TABLE gst DROP COLUMN s;
ALTER TABLE gst ALTER COLUMN s TYPE text;
ALTER TABLE gst RENAME COLUMN s TO total;
ALTER TABLE gst ALTER COLUMN s SET DEFAULT 0;
ALTER TABLE gst ADD CONSTRAINT c CHECK (s > 0);
ALTER TABLE gst SET ACCESS METHOD heap;
ALTER TABLE gst FORCE ROW LEVEL SECURITY;
CREATE TABLE gparent (k int, s bigint, __trickle_row_id bigint);
ALTER TABLE gst INHERIT gparent;
CREATE TABLE gchild () INHERITS (gst);
CREATE TABLE gparted (k int, s bigint, __trickle_row_id bigint NOT NULL) PARTITION BY RANGE (k);
ALTER TABLE gparted ATTACH PARTITION gst FOR VALUES FROM (0) TO (100);
CREATE RULE r AS ON INSERT TO gst DO INSTEAD NOTHING;
CREATE FUNCTION gtrig() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t BEFORE INSERT ON gst FOR EACH ROW EXECUTE FUNCTION gtrig();

-- the trickle access method is reserved
CREATE TABLE own (a int) USING trickle;
CREATE TABLE own2 USING trickle AS SELECT 1 AS a;
SET default_table_access_method = trickle;
CREATE TABLE own3 (a int);
RESET default_table_access_method;
CREATE TABLE own4 (a int);
ALTER TABLE own4 SET ACCESS METHOD trickle;
DROP TABLE own4;

-- what is allowed: reading, indexes, statistics, comments, grants, owner,
-- AFTER triggers, row security for readers, renaming and moving the table
SELECT k, s FROM gst ORDER BY k;
SELECT k, s FROM gst WHERE k = 1 FOR UPDATE;
CREATE INDEX gst_s ON gst (s);
CREATE UNIQUE INDEX gst_k ON gst (k);
ANALYZE gst;
VACUUM gst;
CLUSTER gst USING gst_k;
ALTER TABLE gst ALTER COLUMN s SET STATISTICS 500;
ALTER TABLE gst SET (fillfactor = 90);
COMMENT ON COLUMN gst.s IS 'sum of v';
GRANT SELECT ON gst TO PUBLIC;
CREATE ROLE guard_reader;
ALTER TABLE gst OWNER TO guard_reader;
ALTER TABLE gst OWNER TO CURRENT_USER;
CREATE TRIGGER t_after AFTER INSERT ON gst FOR EACH ROW EXECUTE FUNCTION gtrig();
ALTER TABLE gst DISABLE TRIGGER t_after;
ALTER TABLE gst ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON gst FOR SELECT USING (k > 0);
ALTER TABLE gst RENAME TO gst_renamed;
CREATE SCHEMA gschema;
ALTER TABLE gst_renamed SET SCHEMA gschema;
SELECT name FROM trickle.stream_tables;

-- the refresh still works through all of that
UPDATE gsrc SET v = v + 1;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('gschema.gst_renamed');
SELECT k, s FROM gschema.gst_renamed ORDER BY k;

-- and the stream table is still protected
DELETE FROM gschema.gst_renamed;

SELECT trickle.drop_stream_table('gschema.gst_renamed');
DROP SCHEMA gschema;
DROP ROLE guard_reader;
DROP TABLE gsrc, gparent, gparted;
DROP FUNCTION gtrig();
