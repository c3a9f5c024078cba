-- trickle 0.2.0 -> 0.3.0: the scheduler (launcher, schedulers, refresh
-- workers, dispatch ring) and partitioned sources.
\echo Use "ALTER EXTENSION trickle UPDATE TO '0.3.0'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Partitioned sources
-- ---------------------------------------------------------------------

/*
 * Partitions and inheritance children of captured sources carry capture
 * triggers too.  After a command that may change a tree (ATTACH, DETACH,
 * CREATE TABLE ... PARTITION OF or INHERITS, INHERIT, NO INHERIT), this
 * gives new members their triggers, takes them from former ones, makes the
 * consumers recompute when rows moved in or out, and refuses a change after
 * which a differential stream table could not be maintained, such as a
 * source becoming a partition or a logical replication target
 * (src/cdc/ddl.c).
 */
CREATE FUNCTION trickle._on_ddl_command_end() RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'trickle_on_ddl_command_end';
CREATE EVENT TRIGGER trickle_ddl_command_end ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'CREATE FOREIGN TABLE', 'ALTER TABLE',
				 'ALTER FOREIGN TABLE', 'CREATE SCHEMA', 'CREATE SUBSCRIPTION',
				 'ALTER SUBSCRIPTION')
	EXECUTE FUNCTION trickle._on_ddl_command_end();

-- ---------------------------------------------------------------------
-- Scheduler
-- ---------------------------------------------------------------------

/*
 * refresh_stream_table gains wait: a manual refresh that finds one running
 * returns NO_DATA with a NOTICE, or with wait => true waits for it.
 */
DROP FUNCTION trickle.refresh_stream_table(text, boolean);
CREATE FUNCTION trickle.refresh_stream_table(name text, "full" boolean DEFAULT false,
											 wait boolean DEFAULT false)
RETURNS TABLE(action text, rows_inserted bigint, rows_deleted bigint,
			  duration_ms double precision)
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'refresh_stream_table';

CREATE FUNCTION trickle.suspend_stream_table(name text) RETURNS void
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'suspend_stream_table';

CREATE FUNCTION trickle.resume_stream_table(name text) RETURNS void
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'resume_stream_table';

CREATE FUNCTION trickle._next_refresh_at(oid) RETURNS timestamptz
LANGUAGE C STRICT STABLE
AS 'MODULE_PATHNAME', 'trickle_next_refresh_at';

CREATE FUNCTION trickle._workers(OUT pid integer, OUT datid oid, OUT roleid oid,
								 OUT kind text, OUT state text, OUT relid oid,
								 OUT started_at timestamptz)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'trickle_workers';

CREATE FUNCTION trickle._dispatch_ring(OUT slot integer, OUT state text, OUT relid oid,
									   OUT datid oid, OUT enqueued_at timestamptz,
									   OUT claimed_by integer)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'trickle_dispatch_ring';

-- The launcher, the schedulers and the refresh workers of the whole cluster.
-- stream_table is shown for this database's workers; others show only oids.
CREATE VIEW trickle.workers AS
SELECT w.pid,
	   w.kind,
	   d.datname AS database,
	   pg_catalog.pg_get_userbyid(w.roleid) AS role,
	   w.state,
	   CASE WHEN w.datid = (SELECT oid FROM pg_catalog.pg_database
							WHERE datname = pg_catalog.current_database())
			THEN w.relid::regclass END AS stream_table,
	   w.relid,
	   w.started_at
  FROM trickle._workers() w
  LEFT JOIN pg_catalog.pg_database d ON d.oid = w.datid;

-- Jobs in the dispatch ring (slots that are not FREE).
CREATE VIEW trickle.dispatch_ring AS
SELECT r.slot,
	   r.state,
	   CASE WHEN r.datid = (SELECT oid FROM pg_catalog.pg_database
							WHERE datname = pg_catalog.current_database())
			THEN r.relid::regclass END AS stream_table,
	   r.relid,
	   d.datname AS database,
	   r.enqueued_at,
	   r.claimed_by
  FROM trickle._dispatch_ring() r
  LEFT JOIN pg_catalog.pg_database d ON d.oid = r.datid;

CREATE OR REPLACE VIEW trickle.stream_tables AS
SELECT c.relid AS name,
	   c.query,
	   c.schedule,
	   c.refresh_mode,
	   c.effective_mode,
	   c.mode_reason,
	   c.status,
	   c.is_populated,
	   c.last_refresh_at,
	   CASE WHEN c.is_populated THEN now() - c.last_refresh_at END AS staleness,
	   c.consecutive_errors,
	   pg_catalog.pg_get_userbyid(r.relowner) AS owner,
	   c.created_at,
	   trickle._next_refresh_at(c.relid) AS next_refresh_at
  FROM trickle.catalog c
  JOIN pg_catalog.pg_class r ON r.oid = c.relid;

GRANT SELECT ON trickle.workers, trickle.dispatch_ring TO PUBLIC;
