# test/spin/spin.mk
#	Model-check the claim protocol of the dispatch ring and the claim words
#	(test/spin/ring.pml) with spin.
#
# Included by the top-level Makefile after PGXS; also usable alone from the
# top of the tree:  make -f test/spin/spin.mk spin
#
#	make spin			every configuration must verify: a full state-space
#						search with "errors: 0" (run by make test)
#	make spin-broken	every deliberately broken variant must be caught
#						(a check of the model itself; not run by make test)
#
# test/spin/run.sh does the work; pan and its logs go to test/spin/bin/.
#
# This fragment defines no default goal: it saves and restores .DEFAULT_GOAL,
# so including it first does not hijack the including Makefile.

_trickle_spin_saved_goal := $(.DEFAULT_GOAL)

srcdir ?= .

.PHONY: spin spin-broken spin-clean

spin:
	@bash $(srcdir)/test/spin/run.sh

spin-broken:
	@bash $(srcdir)/test/spin/run.sh --broken

spin-clean:
	rm -rf $(srcdir)/test/spin/bin

.DEFAULT_GOAL := $(_trickle_spin_saved_goal)
