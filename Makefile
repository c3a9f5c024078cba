# trickle: PGXS build.  `make test` runs every test; `make demo` starts a
# throw-away server with trickle loaded.  See README.md.

PG_CONFIG ?= /usr/lib/postgresql/15/bin/pg_config

EXTENSION = trickle
MODULE_big = trickle
DATA = $(wildcard sql/trickle--*.sql)

OBJS = \
	src/trickle.o \
	src/guc.o \
	src/gucenum.o \
	src/catalog.o \
	src/catalog_rows.o \
	src/api/api.o \
	src/api/query.o \
	src/api/rename.o \
	src/api/views.o \
	src/fdw/guard.o \
	src/fdw/relation.o \
	src/refresh/merge.o \
	src/refresh/orchestrator.o \
	src/refresh/codegen.o \
	src/refresh/direct.o \
	src/refresh/recompute_apply.o \
	src/refresh/phd1.o \
	src/refresh/rowid.o \
	src/cdc/buffer.o \
	src/cdc/capture.o \
	src/cdc/ddl.o \
	src/cdc/payload.o \
	src/cdc/tree.o \
	src/ivm/analyze.o \
	src/ivm/model.o \
	src/ivm/outer.o \
	src/ivm/sublink.o \
	src/ivm/derived.o \
	src/ivm/delta.o \
	src/ivm/recompute.o \
	src/ivm/recursive.o \
	src/ivm/normalize.o \
	src/sched/schedule.o \
	src/sched/bgw.o \
	src/sched/notify.o \
	src/sched/launcher.o \
	src/sched/scheduler.o \
	src/sched/worker.o \
	src/shmem/shmem.o \
	src/api/status.o \
	src/shmem/ring.o

PG_CPPFLAGS = -I$(srcdir)/src
# liburcu's wait-free queue (src/shmem/ring.c), from the shared library
SHLIB_LINK += -lurcu-common
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare -Wno-cast-function-type
ifeq ($(WERROR),1)
PG_CFLAGS += -Werror
endif

# pg_regress and isolation tests run against a temporary instance with
# trickle preloaded (the extension must be installed first).
REGRESS = $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --outputdir=test/out --temp-instance=test/tmp_regress \
	--temp-config=test/trickle.conf --load-extension=trickle
ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=test/out_isolation \
	--temp-instance=test/tmp_isolation --temp-config=test/trickle.conf --load-extension=trickle
TAP_TESTS = 1

EXTRA_CLEAN = test/out test/out_isolation test/tmp_regress test/tmp_isolation tmp_check \
	test/spin/bin

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

include test/unit/unit.mk
include test/spin/spin.mk
include fuzz/fuzz.mk

.PHONY: test demo demo-stop fuzz-long check-version-sync bench bench-quick

# Everything, with a closing "N passed, M failed" line.  Installs missing
# Debian packages and runs servers as an unprivileged user when run as root.
test:
	bash test/run.sh

demo:
	bash demo/demo.sh start

demo-stop:
	bash demo/demo.sh stop

check-version-sync:
	bash test/check_version_sync.sh

# Benchmarks (not tests): see bench/README.md and docs/BENCHMARKS.md.  They
# use the installed extension (make install first), start and stop their own
# servers, and write the report to bench/out/.  bench-quick (about 3 minutes)
# runs every family at small sizes; CI runs it.
bench:
	bash bench/run.sh

bench-quick:
	bash bench/run.sh quick
