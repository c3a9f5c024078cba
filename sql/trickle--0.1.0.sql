/*
 * trickle 0.1.0: stream tables kept fresh by the extension.
 *
 * Everything lives in schema "trickle".  The catalog tables are extension
 * configuration tables, so pg_dump carries their rows; a restored catalog row
 * carries the frontier of another cluster or database and is reinitialised on
 * its next refresh.
 */

\echo Use "CREATE EXTENSION trickle" to load this file. \quit

-- Fails with a hint unless the library was loaded by shared_preload_libraries.
CREATE FUNCTION trickle._assert_preloaded() RETURNS void
	LANGUAGE C STRICT AS 'MODULE_PATHNAME', 'trickle_assert_preloaded';
SELECT trickle._assert_preloaded();
DROP FUNCTION trickle._assert_preloaded();

/*
 * The relation surface: stream tables use this access method, which is heap
 * under another name.  It is a cheap pre-filter for the guard; the catalog
 * below decides what is a stream table.
 */
CREATE ACCESS METHOD trickle TYPE TABLE HANDLER heap_tableam_handler;
COMMENT ON ACCESS METHOD trickle IS 'storage of trickle stream tables (heap)';

CREATE TABLE trickle.catalog (
	relid regclass PRIMARY KEY,
	query text NOT NULL,			-- as the user wrote it
	definition text NOT NULL,		-- deparsed, every object schema-qualified
	schedule text NOT NULL,
	refresh_mode text NOT NULL
		CHECK (refresh_mode IN ('auto', 'full', 'differential')),
	effective_mode text NOT NULL
		CHECK (effective_mode IN ('FULL', 'DIFFERENTIAL')),
	mode_reason text,
	status text NOT NULL DEFAULT 'ACTIVE'
		CHECK (status IN ('ACTIVE', 'SUSPENDED', 'ERROR')),
	is_populated boolean NOT NULL DEFAULT false,
	last_refresh_at timestamptz,
	consecutive_errors integer NOT NULL DEFAULT 0,
	-- where the contents come from: pg_dump writes relid by name and these
	-- as numbers, so a restored row no longer matches and is reinitialised
	frontier_sysid bigint NOT NULL,
	frontier_relid oid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE trickle.catalog IS 'one row per stream table (internal; use the view trickle.stream_tables)';

CREATE TABLE trickle.sources (
	relid regclass NOT NULL REFERENCES trickle.catalog ON DELETE CASCADE,
	source regclass NOT NULL,
	PRIMARY KEY (relid, source)
);
CREATE INDEX ON trickle.sources (source);
COMMENT ON TABLE trickle.sources IS 'relations each stream table reads';

CREATE TABLE trickle.refresh_history (
	refresh_id bigserial PRIMARY KEY,
	stream_table regclass NOT NULL,
	started_at timestamptz NOT NULL,
	finished_at timestamptz,
	action text NOT NULL
		CHECK (action IN ('NO_DATA', 'FULL', 'DIFFERENTIAL', 'REINITIALIZE')),
	status text NOT NULL
		CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED')),
	rows_inserted bigint,
	rows_deleted bigint,
	initiated_by text NOT NULL
		CHECK (initiated_by IN ('MANUAL', 'SCHEDULER', 'CREATE')),
	error_message text
);
CREATE INDEX ON trickle.refresh_history (stream_table, started_at);

SELECT pg_catalog.pg_extension_config_dump('trickle.catalog', '');
SELECT pg_catalog.pg_extension_config_dump('trickle.sources', '');

CREATE VIEW trickle.stream_tables AS
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
	   c.created_at
  FROM trickle.catalog c
  JOIN pg_catalog.pg_class r ON r.oid = c.relid;

/*
 * The API functions resolve names and analyse queries under the caller's
 * search_path, as CREATE TABLE does, so they carry no SET search_path; every
 * statement they generate is schema-qualified and runs under a fixed path.
 */
CREATE FUNCTION trickle.create_stream_table(
	name text,
	query text,
	schedule text DEFAULT '1m',
	refresh_mode text DEFAULT 'auto',
	initialize boolean DEFAULT true)
RETURNS regclass
LANGUAGE C
AS 'MODULE_PATHNAME', 'create_stream_table';

CREATE FUNCTION trickle.drop_stream_table(name text, cascade boolean DEFAULT false)
RETURNS void
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'drop_stream_table';

CREATE FUNCTION trickle.refresh_stream_table(name text, "full" boolean DEFAULT false)
RETURNS TABLE(action text, rows_inserted bigint, rows_deleted bigint,
			  duration_ms double precision)
LANGUAGE C STRICT
AS 'MODULE_PATHNAME', 'refresh_stream_table';

-- Identity of a row's values, used for __trickle_row_id (see src/refresh/rowid.c).
CREATE FUNCTION trickle._row_hash(record) RETURNS bigint
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'trickle_row_hash';

-- Identity of the n-th row with a given _row_hash (see src/refresh/rowid.c).
CREATE FUNCTION trickle._row_id(bigint, bigint) RETURNS bigint
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'trickle_row_id';

-- Removes catalog rows of dropped stream tables, however they were dropped.
CREATE FUNCTION trickle._on_sql_drop() RETURNS event_trigger
LANGUAGE C
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'trickle_on_sql_drop';
CREATE EVENT TRIGGER trickle_sql_drop ON sql_drop
	EXECUTE FUNCTION trickle._on_sql_drop();

REVOKE ALL ON trickle.catalog, trickle.sources, trickle.refresh_history FROM PUBLIC;
GRANT SELECT ON trickle.catalog, trickle.sources, trickle.refresh_history,
	trickle.stream_tables TO PUBLIC;
GRANT USAGE ON SCHEMA trickle TO PUBLIC;
