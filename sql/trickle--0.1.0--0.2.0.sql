/*
 * trickle 0.1.0 -> 0.2.0: change capture and differential refresh.
 *
 * A fresh CREATE EXTENSION trickle installs 0.1.0 and runs this script
 * (PostgreSQL follows the update path when no install script exists for the
 * default version), so a new install and an updated one are the same.
 */

\echo Use "ALTER EXTENSION trickle UPDATE TO '0.2.0'" to load this file. \quit

/*
 * Change buffers, one per captured source: trickle_changes.changes_<oid>
 * (src/cdc/buffer.c).  Created at run time, owned by the extension's owner,
 * readable and writable by no one else.
 */
CREATE SCHEMA trickle_changes;
REVOKE ALL ON SCHEMA trickle_changes FROM PUBLIC;
COMMENT ON SCHEMA trickle_changes IS 'change buffers of trickle (internal)';

/*
 * The frontier of a DIFFERENTIAL stream table: the snapshot its last refresh
 * read at, and, when that refresh ran in a transaction that had already
 * written, that transaction's xid and how many changes it had captured.
 */
ALTER TABLE trickle.catalog
	ADD COLUMN frontier pg_snapshot,
	ADD COLUMN frontier_xid xid8,
	ADD COLUMN frontier_ord bigint;

-- attribute numbers of the source columns the stream table reads
ALTER TABLE trickle.sources ADD COLUMN columns smallint[] NOT NULL DEFAULT '{}';

-- The capture trigger of every source (src/cdc/capture.c).
CREATE FUNCTION trickle._capture() RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'trickle_capture';

-- Identity of the n-th row of a hash class (src/refresh/rowid.c).
CREATE FUNCTION trickle._row_id_class(bigint, bigint) RETURNS bigint
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'trickle_row_id_class';

-- Counts the actions of a differential MERGE (src/refresh/codegen.c).
CREATE FUNCTION trickle._tally(integer) RETURNS boolean
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'trickle_tally';

CREATE FUNCTION trickle.explain_stream_table(name text)
RETURNS TABLE(property text, value text)
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'explain_stream_table';
