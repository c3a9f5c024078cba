-- Rights: creating needs SELECT on sources; refreshes run as the owner,
-- under a fixed search_path; only the owner refreshes.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
CREATE ROLE sec_alice;
CREATE ROLE sec_bob;
CREATE SCHEMA sec AUTHORIZATION sec_alice;
GRANT USAGE ON SCHEMA sec TO sec_bob;
GRANT CREATE ON SCHEMA public TO sec_alice, sec_bob;

CREATE TABLE sec.secret (id int, v int);
INSERT INTO sec.secret VALUES (1, 10), (2, 20);
ALTER TABLE sec.secret OWNER TO sec_alice;

-- bob may not read sec.secret, so he may not make a stream table of it
SET ROLE sec_bob;
SELECT trickle.create_stream_table('public.bob_st', 'SELECT id, v FROM sec.secret');
SELECT trickle.create_stream_table('public.bob_st', 'SELECT id, v FROM sec.secret',
                                   initialize => false);
RESET ROLE;
SELECT count(*) FROM trickle.catalog;
SELECT to_regclass('public.bob_st');

-- nor may he create one in a schema he cannot create in
SET ROLE sec_bob;
SELECT trickle.create_stream_table('sec.bob_st', 'SELECT 1 AS one');
RESET ROLE;

-- alice can; she owns the stream table
SET ROLE sec_alice;
SELECT trickle.create_stream_table('sec.alice_st', 'SELECT id, v FROM sec.secret');
SELECT owner FROM trickle.stream_tables;
RESET ROLE;

-- bob cannot refresh or drop it, nor write to it
SET ROLE sec_bob;
SELECT action FROM trickle.refresh_stream_table('sec.alice_st');
SELECT trickle.drop_stream_table('sec.alice_st');
RESET ROLE;

-- alice can refresh; so can a superuser, and the refresh still runs with
-- alice's rights: once she loses SELECT on the source, it fails
UPDATE sec.secret SET v = v + 1;
SET ROLE sec_alice;
SELECT action, rows_inserted, rows_deleted FROM trickle.refresh_stream_table('sec.alice_st');
RESET ROLE;
CREATE TABLE sec.other (id int);
ALTER TABLE sec.secret OWNER TO CURRENT_USER;
SELECT action FROM trickle.refresh_stream_table('sec.alice_st');
GRANT SELECT ON sec.secret TO sec_alice;
SELECT action FROM trickle.refresh_stream_table('sec.alice_st');

-- row-level security of a source is not bypassed: the refresh refuses
-- rather than silently reading a filtered source
ALTER TABLE sec.secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_one ON sec.secret FOR SELECT USING (id = 1);
SELECT action FROM trickle.refresh_stream_table('sec.alice_st');
ALTER TABLE sec.secret DISABLE ROW LEVEL SECURITY;

-- a fixed search_path: a look-alike table earlier in the caller's path is
-- not read by the refresh
CREATE SCHEMA decoy;
CREATE TABLE decoy.secret (id int, v int);
INSERT INTO decoy.secret VALUES (99, 99);
SET search_path = decoy, sec, public;
SELECT trickle.create_stream_table('public.plain_st', 'SELECT id, v FROM sec.secret');
SELECT trickle.create_stream_table('public.path_st', 'SELECT id FROM secret');
SELECT definition FROM trickle.catalog WHERE relid = 'public.path_st'::regclass;
SET search_path = sec, decoy, public;
SELECT action FROM trickle.refresh_stream_table('public.path_st');
SELECT id FROM public.path_st;
-- a look-alike function does not capture the stored query either
CREATE FUNCTION decoy.abs(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 42';
SET search_path = public, sec;
SELECT trickle.create_stream_table('abs_st', 'SELECT abs(v - 100) AS a FROM secret');
SET search_path = decoy, public, sec;
SELECT action FROM trickle.refresh_stream_table('public.abs_st');
SELECT a FROM public.abs_st ORDER BY a;
RESET search_path;

-- the catalog is readable by everyone but writable by no one
SET ROLE sec_bob;
SELECT count(*) > 0 AS can_read FROM trickle.stream_tables;
DELETE FROM trickle.catalog;
UPDATE trickle.catalog SET schedule = '1s';
RESET ROLE;

DROP SCHEMA decoy CASCADE;
DROP SCHEMA sec CASCADE;
SELECT count(*) AS left_over FROM trickle.catalog;
REVOKE CREATE ON SCHEMA public FROM sec_alice, sec_bob;
DROP ROLE sec_alice;
DROP ROLE sec_bob;
SELECT count(*) FROM trickle.catalog;
