/*-------------------------------------------------------------------------
 *
 * schedule.h
 *	  Stream table schedules: interval strings ("5m", "1h30m") and 5-field
 *	  cron expressions, parsed into a TrickleSchedule value.
 *
 * This is a pure core: it includes no PostgreSQL header and allocates no
 * memory, so unit tests and fuzzers link it alone.  The backend glue turns a
 * false return into an ereport() using the message left in errbuf.
 *
 * src/sched/schedule.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef TRICKLE_SCHEDULE_H
#define TRICKLE_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Smallest interval the caller should accept.  The parser itself accepts any
 * positive interval; enforcing this floor is the caller's policy.
 */
#define TRICKLE_SCHEDULE_MIN_INTERVAL_MS	100

/* A buffer of this size always holds trickle_schedule_format()'s output. */
#define TRICKLE_SCHEDULE_FORMAT_LEN		512

/*
 * A good size for trickle_schedule_parse()'s errbuf: it holds every message
 * about a schedule of reasonable length (a message quotes the input).
 */
#define TRICKLE_SCHEDULE_ERROR_LEN		256

/*
 * How far ahead trickle_cron_next() looks: through December of the start's
 * year plus this many years (and never past year 9999).
 */
#define TRICKLE_CRON_SEARCH_YEARS		5

typedef enum TrickleScheduleKind
{
	TRICKLE_SCHEDULE_INTERVAL,
	TRICKLE_SCHEDULE_CRON
} TrickleScheduleKind;

/*
 * A parsed schedule.  For TRICKLE_SCHEDULE_INTERVAL only interval_ms is
 * meaningful (and the cron fields are zero); for TRICKLE_SCHEDULE_CRON
 * interval_ms is zero and bit i of each mask is set when value i matches:
 *
 *	minutes			bits 0-59
 *	hours			bits 0-23
 *	days_of_month	bits 1-31
 *	months			bits 1-12
 *	days_of_week	bits 0-6, 0 = Sunday (a 7 in the text is folded into 0)
 *
 * dom_star/dow_star record whether the day-of-month/day-of-week field text
 * began with '*'.  When both are false a day matches if either field matches;
 * otherwise both must match (Vixie cron).  Compare values with
 * trickle_schedule_equal(), never memcmp() (padding).
 */
typedef struct TrickleSchedule
{
	TrickleScheduleKind kind;
	int64_t		interval_ms;
	uint64_t	minutes;
	uint32_t	hours;
	uint32_t	days_of_month;
	uint16_t	months;
	uint8_t		days_of_week;
	bool		dom_star;
	bool		dow_star;
} TrickleSchedule;

/*
 * A wall-clock minute with no time zone: year in full (2026), month 1-12,
 * mday 1-31, hour 0-23, minute 0-59.
 */
typedef struct TrickleCivilTime
{
	int			year;
	int			month;
	int			mday;
	int			hour;
	int			minute;
} TrickleCivilTime;

extern bool trickle_schedule_parse(const char *text, TrickleSchedule *out,
								   char *errbuf, size_t errlen);
extern bool trickle_schedule_equal(const TrickleSchedule *a,
								   const TrickleSchedule *b);
extern void trickle_schedule_format(const TrickleSchedule *s, char *buf,
									size_t buflen);
extern bool trickle_cron_matches(const TrickleSchedule *s,
								 const TrickleCivilTime *t);
extern bool trickle_cron_next(const TrickleSchedule *s,
							  const TrickleCivilTime *after,
							  TrickleCivilTime *next);
extern int	trickle_civil_day_of_week(int year, int month, int mday);
extern int	trickle_civil_days_in_month(int year, int month);

#endif							/* TRICKLE_SCHEDULE_H */
