-- trickle 0.3.0 -> 0.4.0: more SQL maintained differentially (keyed
-- recompute of groups, partitions and rows; views, WITH queries and
-- subqueries in FROM; stream tables reading stream tables) and the benchmark
-- report.  All of it is in the library: no SQL object changes, so this script
-- only moves the version.  Stream tables created under 0.3.0 keep the mode
-- they were created with (a query 0.3.0 refreshed FULL under 'auto' stays
-- FULL until it is created again).
\echo Use "ALTER EXTENSION trickle UPDATE TO '0.4.0'" to load this file. \quit
