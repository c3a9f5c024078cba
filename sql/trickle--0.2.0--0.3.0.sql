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
