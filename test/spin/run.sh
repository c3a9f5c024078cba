#!/usr/bin/env bash
# test/spin/run.sh: model-check the claim protocol (test/spin/ring.pml).
#
#	bash test/spin/run.sh			every configuration must verify (make spin)
#	bash test/spin/run.sh --broken	every broken variant must be caught
#									(make spin-broken)
#
# Each run builds pan in test/spin/bin/NAME/ (spin -a, gcc -DSAFETY), runs
# a full state-space search and prints one line "NAME: ... errors: N".  A
# normal run fails unless pan says "errors: 0" after a complete search; a
# broken run fails unless pan reports at least one error.  pan's full output
# stays in test/spin/bin/NAME/pan.log.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
SPIN=${SPIN:-spin}
SPIN_CC=${SPIN_CC:-gcc}
# -DCOLLAPSE halves the memory for a little time; MEMLIM is in MB
SPIN_CFLAGS=${SPIN_CFLAGS:--O2 -DSAFETY -DCOLLAPSE -DMEMLIM=2048 -w}
PAN_FLAGS=${PAN_FLAGS:--m200000}
bindir=$top/test/spin/bin

# NAME MODEL DEFINES: the configurations checked by make spin
runs=(
	"ring ring.pml -DNPROD=2 -DJOBS=2 -DNCONS=2 -DNSLOTS=2 -DNST=2 -DMAXDEAD=1"
	"ring-1slot ring.pml -DNPROD=2 -DJOBS=2 -DNCONS=3 -DNSLOTS=1 -DNST=2 -DMAXDEAD=1"
)
broken=(
	"broken-claim ring.pml -DBROKEN"
	"broken-word ring.pml -DBROKEN_WORD -DMAXDEAD=0"
	"broken-push ring.pml -DBROKEN_PUSH"
)

expect=pass
if [ "${1:-}" = "--broken" ]; then
	expect=fail
	runs=("${broken[@]}")
fi

command -v "$SPIN" >/dev/null || { echo "spin not found (Debian package spin)"; exit 1; }

failed=0
for run in "${runs[@]}"; do
	read -r name model defines <<<"$run"
	dir=$bindir/$name
	rm -rf "$dir"
	mkdir -p "$dir"
	# a copy beside pan, so that a trail can be replayed there
	cp "$top/test/spin/$model" "$dir/"
	if ! (cd "$dir" && $SPIN $defines -a "$model" >spin.log 2>&1 &&
		$SPIN_CC $SPIN_CFLAGS -o pan pan.c >cc.log 2>&1); then
		echo "$name: FAILED to build ($model $defines)"
		cat "$dir/spin.log" "$dir/cc.log" 2>/dev/null | tail -20
		failed=$((failed + 1))
		continue
	fi
	start=$(date +%s%N)
	(cd "$dir" && ./pan $PAN_FLAGS >pan.log 2>&1)
	ms=$((($(date +%s%N) - start) / 1000000))
	secs=$(printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10)))
	errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' "$dir/pan.log" | tail -1)
	states=$(sed -nE 's/^ *([0-9.e+]+) states, stored.*/\1/p' "$dir/pan.log" | tail -1)
	incomplete=$(grep -cE 'Search not completed|max search depth too small|out of memory|aborted' "$dir/pan.log")
	summary="$name ($defines): ${states:-?} states, ${secs} s, errors: ${errors:-?}"

	if [ "$expect" = pass ]; then
		if [ "${errors:-x}" = 0 ] && [ "$incomplete" -eq 0 ]; then
			echo "$summary"
		else
			echo "$summary FAILED"
			grep -E 'assertion violated|invalid end state|error|Search not completed|too small|memory' "$dir/pan.log" | head -10
			if [ -f "$dir/$model.trail" ]; then
				echo "replay: (cd $dir && $SPIN $defines -t -p $model)"
			fi
			failed=$((failed + 1))
		fi
	else
		if [ -n "${errors:-}" ] && [ "$errors" -gt 0 ]; then
			echo "$summary (caught: $(grep -m1 -E 'assertion violated|invalid end state' "$dir/pan.log"))"
			echo "  replay: (cd test/spin/bin/$name && $SPIN $defines -t -p $model)"
		else
			echo "$summary FAILED: the broken variant was not caught"
			failed=$((failed + 1))
		fi
	fi
done

[ "$failed" -eq 0 ]
