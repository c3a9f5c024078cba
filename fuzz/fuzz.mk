# fuzz/fuzz.mk
#	Build and run the libFuzzer targets of trickle's pure cores.
#
# Included by the top-level Makefile after PGXS; also usable alone from the
# top of the tree:
#
#	make -f fuzz/fuzz.mk fuzz-build
#	make -f fuzz/fuzz.mk fuzz FUZZ_SECONDS=5
#	make -f fuzz/fuzz.mk fuzz FUZZ_SECONDS=0 FUZZ_FLAGS=-runs=10000000
#
# Each fuzz/fuzz_NAME.c is linked with every file in FUZZ_PURE_SRCS.  A run
# reads the seeds in fuzz/corpus/fuzz_NAME/ (never written to), keeps what it
# learns in fuzz/bin/corpus/fuzz_NAME/, uses fuzz/fuzz_NAME.dict when present,
# and leaves crash-*, leak-*, timeout-* and oom-* files in
# fuzz/artifacts/fuzz_NAME/.  The log of each run is fuzz/bin/fuzz_NAME.log.
#
# This fragment defines no default goal: it saves and restores .DEFAULT_GOAL,
# so including it first does not hijack the including Makefile.

_trickle_fuzz_saved_goal := $(.DEFAULT_GOAL)

srcdir ?= .
FUZZ_CC ?= clang-14
FUZZ_CFLAGS ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 30
FUZZ_RSS_LIMIT_MB ?= 2048
FUZZ_FLAGS ?=

FUZZ_PURE_SRCS += \
	$(srcdir)/src/sched/schedule.c \
	$(srcdir)/src/gucenum.c \
	$(srcdir)/src/cdc/payload.c

FUZZ_PURE_HDRS = $(wildcard $(srcdir)/src/*.h $(srcdir)/src/*/*.h)
FUZZ_TARGET_SRCS = $(sort $(wildcard $(srcdir)/fuzz/fuzz_*.c))
FUZZ_BINDIR = fuzz/bin
FUZZ_ARTIFACTDIR = fuzz/artifacts
FUZZ_BINS = $(patsubst $(srcdir)/fuzz/%.c,$(FUZZ_BINDIR)/%,$(FUZZ_TARGET_SRCS))

.PHONY: fuzz fuzz-build fuzz-clean

# fuzz: run each target in turn; report its run count; fail if any crashed
fuzz: fuzz-build
	@failed=""; \
	for t in $(FUZZ_BINS); do \
		name=$$(basename $$t); \
		work=$(FUZZ_BINDIR)/corpus/$$name; \
		artifacts=$(FUZZ_ARTIFACTDIR)/$$name; \
		log=$(FUZZ_BINDIR)/$$name.log; \
		seeds=""; \
		if [ -d $(srcdir)/fuzz/corpus/$$name ]; then seeds=$(srcdir)/fuzz/corpus/$$name; fi; \
		dict=""; \
		if [ -f $(srcdir)/fuzz/$$name.dict ]; then dict=-dict=$(srcdir)/fuzz/$$name.dict; fi; \
		mkdir -p $$work $$artifacts; \
		echo "== $$name: -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) (log in $$log)"; \
		if $$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=$(FUZZ_RSS_LIMIT_MB) \
			-artifact_prefix=$$artifacts/ $$dict $(FUZZ_FLAGS) $$work $$seeds \
			>$$log 2>&1; then \
			echo "$$name: $$(grep -E '^Done [0-9]+ runs' $$log)"; \
		else \
			tail -n 40 $$log; \
			echo "$$name: FAILED; inputs in $$artifacts/"; \
			failed="$$failed $$name"; \
		fi; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz targets FAILED:$$failed"; exit 1; fi

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BINDIR)/%: $(srcdir)/fuzz/%.c $(FUZZ_PURE_SRCS) $(FUZZ_PURE_HDRS)
	@mkdir -p $(FUZZ_BINDIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(srcdir)/src -o $@ $< $(FUZZ_PURE_SRCS)

fuzz-clean:
	rm -rf $(FUZZ_BINDIR) $(FUZZ_ARTIFACTDIR)

.DEFAULT_GOAL := $(_trickle_fuzz_saved_goal)
