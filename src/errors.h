/*-------------------------------------------------------------------------
 *
 * errors.h
 *	  Every SQLSTATE trickle raises, in one place.
 *
 * trickle prefers standard SQLSTATEs so that clients can react to them as
 * they do for core errors; each name below says what the code means for
 * trickle.  Every user-facing ereport uses one of these macros, with an
 * errdetail naming the object and an errhint saying what to do.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_ERRORS_H
#define TRICKLE_ERRORS_H

#include "utils/elog.h"

/* the library was not loaded through shared_preload_libraries (55000) */
#define TRICKLE_ERRCODE_NOT_PRELOADED		ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE

/* a write, COPY, TRUNCATE or DDL aimed at a stream table's contents (42809) */
#define TRICKLE_ERRCODE_READ_ONLY			ERRCODE_WRONG_OBJECT_TYPE

/* a relation named as a stream table is not one (42809) */
#define TRICKLE_ERRCODE_NOT_STREAM_TABLE	ERRCODE_WRONG_OBJECT_TYPE

/* no relation of that name (42P01) */
#define TRICKLE_ERRCODE_UNDEFINED_TABLE		ERRCODE_UNDEFINED_TABLE

/* a relation of that name exists already (42P07) */
#define TRICKLE_ERRCODE_DUPLICATE_TABLE		ERRCODE_DUPLICATE_TABLE

/* a query construct trickle does not maintain, or a mode not available (0A000) */
#define TRICKLE_ERRCODE_UNSUPPORTED			ERRCODE_FEATURE_NOT_SUPPORTED

/* a defining query that cannot define a table (42P17) */
#define TRICKLE_ERRCODE_INVALID_DEFINITION	ERRCODE_INVALID_OBJECT_DEFINITION

/* a bad schedule, refresh mode or other argument value (22023) */
#define TRICKLE_ERRCODE_INVALID_PARAMETER	ERRCODE_INVALID_PARAMETER_VALUE

/* a required argument was NULL (22004) */
#define TRICKLE_ERRCODE_NULL_ARGUMENT		ERRCODE_NULL_VALUE_NOT_ALLOWED

/* the defining query is not a single SELECT (42601) */
#define TRICKLE_ERRCODE_SYNTAX				ERRCODE_SYNTAX_ERROR

#endif							/* TRICKLE_ERRORS_H */
