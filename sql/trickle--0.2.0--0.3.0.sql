-- trickle 0.2.0 -> 0.3.0: the scheduler (launcher, schedulers, refresh
-- workers, dispatch ring) and partitioned sources.
\echo Use "ALTER EXTENSION trickle UPDATE TO '0.3.0'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Partitioned sources
-- ---------------------------------------------------------------------

-- ---------------------------------------------------------------------
-- Scheduler
-- ---------------------------------------------------------------------
