-- trickle 0.3.0 -> 0.4.0: more SQL maintained differentially (keyed
-- recompute of groups, partitions and rows; views, WITH queries and
-- subqueries in FROM; stream tables reading stream tables; recursive WITH
-- queries) and the benchmark report.  Nearly all of it is in the library; the
-- one SQL change is refresh_history.reason, saying why a refresh of a
-- differential stream table recomputed (a recursive WITH query whose sources
-- lost or changed rows).  Stream tables created under 0.3.0 keep the mode
-- they were created with (a query 0.3.0 refreshed FULL under 'auto' stays
-- FULL until it is created again).
\echo Use "ALTER EXTENSION trickle UPDATE TO '0.4.0'" to load this file. \quit

ALTER TABLE trickle.refresh_history ADD COLUMN reason text;
COMMENT ON COLUMN trickle.refresh_history.reason IS
	'why a refresh of a differential stream table recomputed instead (action FULL), or NULL';
