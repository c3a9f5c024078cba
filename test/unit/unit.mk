# test/unit/unit.mk
#	Build and run the cmocka unit tests of trickle's pure cores.
#
# Included by the top-level Makefile after PGXS; also usable alone from the
# top of the tree:  make -f test/unit/unit.mk unit
#
# Each test/unit/test_*.c is linked with every file in UNIT_PURE_SRCS (pure C
# that includes no PostgreSQL header).  Append new pure cores to
# UNIT_PURE_SRCS before this file is included, or here.
#
# This fragment defines no default goal: it saves and restores .DEFAULT_GOAL,
# so including it first does not hijack the including Makefile.

_trickle_unit_saved_goal := $(.DEFAULT_GOAL)

srcdir ?= .
UNIT_CC ?= gcc
UNIT_CFLAGS ?= -std=c99 -O1 -g -Wall -Wextra -Werror -Wdeclaration-after-statement
UNIT_LIBS ?= -lcmocka -lurcu-common -lpthread

UNIT_PURE_SRCS += \
	$(srcdir)/src/sched/schedule.c \
	$(srcdir)/src/gucenum.c \
	$(srcdir)/src/cdc/payload.c \
	$(srcdir)/src/shmem/ring.c

UNIT_PURE_HDRS = $(wildcard $(srcdir)/src/*.h $(srcdir)/src/*/*.h)
UNIT_TEST_SRCS = $(sort $(wildcard $(srcdir)/test/unit/test_*.c))
UNIT_BINDIR = test/unit/bin
UNIT_TEST_BINS = $(patsubst $(srcdir)/test/unit/%.c,$(UNIT_BINDIR)/%,$(UNIT_TEST_SRCS))

.PHONY: unit unit-build unit-clean

# unit: build every test, run each, fail if any failed (all are run)
unit: unit-build
	@failed=""; \
	for t in $(UNIT_TEST_BINS); do \
		echo "== $$t"; \
		"$$t" || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "unit tests FAILED:$$failed"; exit 1; fi; \
	echo "all unit test programs passed"

unit-build: $(UNIT_TEST_BINS)

$(UNIT_BINDIR)/%: $(srcdir)/test/unit/%.c $(UNIT_PURE_SRCS) $(UNIT_PURE_HDRS)
	@mkdir -p $(UNIT_BINDIR)
	$(UNIT_CC) $(UNIT_CFLAGS) -I$(srcdir)/src -o $@ $< $(UNIT_PURE_SRCS) $(UNIT_LIBS)

unit-clean:
	rm -rf $(UNIT_BINDIR)

.DEFAULT_GOAL := $(_trickle_unit_saved_goal)
