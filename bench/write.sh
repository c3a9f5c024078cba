#!/usr/bin/env bash
# bench/write.sh: what keeping a summary of pgbench_accounts costs the
# writers.  pgbench's built-in tpcb-like script, WRITE_CLIENTS clients, at
# each scale of WRITE_SCALES; TPS with nothing on the tables, and with each
# way of maintaining
#
#   agg:  SELECT bid, count(*), sum(abalance) FROM pgbench_accounts GROUP BY bid
#   join: the same through a join with pgbench_branches
#
# trickle with the scheduler paused (capture only: what every writing
# transaction pays) and refreshing on a 1s schedule (capture plus the
# refreshes competing for the same 2 cores); hand-written statement triggers
# with transition tables maintaining a plain table (in the transaction); and
# pg_ivm's IMMVs when pg_ivm is installed (in the transaction).  Each run
# creates its variant, VACUUMs and CHECKPOINTs, runs pgbench, then checks the
# maintained table against its query and drops it; the variants take turns
# within each round so that drift hits them alike.  Ratios are TPS medians
# against the baseline of the same scale.
#
# Standalone: bash bench/write.sh (BENCH_QUICK=1 for the quick sizes).
# Overrides: WRITE_SCALES, WRITE_SECONDS, WRITE_RUNS, WRITE_CLIENTS.
set -euo pipefail
family=write
source "$(dirname "$0")/lib.sh"

if [ "$BENCH_QUICK" = 1 ]; then
	WRITE_SCALES=${WRITE_SCALES:-1} WRITE_SECONDS=${WRITE_SECONDS:-1} WRITE_RUNS=${WRITE_RUNS:-3}
else
	WRITE_SCALES=${WRITE_SCALES:-10 50} WRITE_SECONDS=${WRITE_SECONDS:-8} WRITE_RUNS=${WRITE_RUNS:-5}
fi
WRITE_CLIENTS=${WRITE_CLIENTS:-2}
WRITE_CHECK_TIMEOUT=${WRITE_CHECK_TIMEOUT:-$([ "$BENCH_QUICK" = 1 ] && echo 2 || echo 5)}

# pg_ivm must be preloaded; only when this PostgreSQL has it.
ivm=0
bench_check_installed
if [ -f "$sharedir/extension/pg_ivm.control" ]; then
	ivm=1
	bench_server "shared_preload_libraries = 'trickle,pg_ivm'"
else
	bench_server
fi

q_agg="SELECT bid, count(*) AS accounts, sum(abalance) AS balance FROM pgbench_accounts GROUP BY bid"
q_join="SELECT b.bid, count(*) AS accounts, sum(a.abalance) AS balance FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid GROUP BY b.bid"
cols="bid, accounts, balance"

variants=(none trickle_agg_paused trickle_agg_1s trickle_join_paused trickle_join_1s trigger_agg)
ivm_note=
if [ "$ivm" = 1 ]; then
	q "CREATE EXTENSION pg_ivm"
	variants+=(ivm_agg ivm_join)
	ivm_note="pg_ivm $(q "SELECT extversion FROM pg_extension WHERE extname = 'pg_ivm'") (\`create_immv\`, maintained in the writing transaction)."
	# pg_ivm 1.10 moved its functions to schema pgivm
	create_immv=create_immv
	[ "$(q "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgivm'")" = 1 ] && create_immv=pgivm.create_immv
else
	ivm_note="pg_ivm is not installed on this machine (no \`$sharedir/extension/pg_ivm.control\`; Debian 12 does not package it): its rows are skipped."
fi
progress "variants: ${variants[*]}"

# The hand-written alternative: statement triggers with transition tables
# adding each statement's per-bid differences to a plain table, in the
# writing transaction (the way one would write it by hand; a group whose
# count reaches 0 is removed).
q "CREATE TABLE trigger_agg (bid int PRIMARY KEY, accounts bigint NOT NULL, balance numeric NOT NULL)"
q "CREATE FUNCTION trigger_agg_apply() RETURNS trigger LANGUAGE plpgsql AS \$f\$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO trigger_agg AS t SELECT bid, count(*), sum(abalance) FROM new_rows GROUP BY bid
		ON CONFLICT (bid) DO UPDATE SET accounts = t.accounts + excluded.accounts, balance = t.balance + excluded.balance;
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE trigger_agg t SET accounts = t.accounts - d.n, balance = t.balance - d.s
		FROM (SELECT bid, count(*) AS n, sum(abalance) AS s FROM old_rows GROUP BY bid) d WHERE t.bid = d.bid;
		DELETE FROM trigger_agg WHERE accounts = 0;
	ELSE
		INSERT INTO trigger_agg AS t
		SELECT bid, sum(w), sum(w * abalance) FROM (
			SELECT bid, 1 AS w, abalance FROM new_rows UNION ALL SELECT bid, -1, abalance FROM old_rows) d
		GROUP BY bid
		ON CONFLICT (bid) DO UPDATE SET accounts = t.accounts + excluded.accounts, balance = t.balance + excluded.balance;
		DELETE FROM trigger_agg WHERE accounts = 0;
	END IF;
	RETURN NULL;
END \$f\$"

scheduler() { # on|off
	q "ALTER SYSTEM SET trickle.enabled = $1" && q "SELECT pg_reload_conf()" >/dev/null
}

# setup VARIANT / teardown VARIANT: create and drop what maintains the
# summary; teardown first checks it against its query (a last refresh for
# trickle) and sets $check.
setup() {
	case $1 in
	none) ;;
	trickle_agg_paused) create_st st_agg "$q_agg" ;;
	trickle_agg_1s) create_st st_agg "$q_agg" auto 1s; scheduler on ;;
	trickle_join_paused) create_st st_join "$q_join" ;;
	trickle_join_1s) create_st st_join "$q_join" auto 1s; scheduler on ;;
	trigger_agg)
		q "TRUNCATE trigger_agg"
		q "INSERT INTO trigger_agg $q_agg"
		q "CREATE TRIGGER trigger_agg_ins AFTER INSERT ON pgbench_accounts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trigger_agg_apply()"
		q "CREATE TRIGGER trigger_agg_upd AFTER UPDATE ON pgbench_accounts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION trigger_agg_apply()"
		q "CREATE TRIGGER trigger_agg_del AFTER DELETE ON pgbench_accounts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION trigger_agg_apply()"
		;;
	ivm_agg) q "SELECT $create_immv('ivm_agg', \$q\$$q_agg\$q\$)" >/dev/null ;;
	ivm_join) q "SELECT $create_immv('ivm_join', \$q\$$q_join\$q\$)" >/dev/null ;;
	esac
}
teardown() {
	local rel= act
	check= hist= pend= chk=
	case $1 in
	trickle_*)
		rel=st_${1#trickle_} rel=${rel%_paused} rel=${rel%_1s}
		scheduler off
		# A scheduled refresh still running is cancelled (its history row
		# says so); what is left in the change buffers is counted, then
		# refreshed in the stream table's own mode within
		# WRITE_CHECK_TIMEOUT, or FULL when that does not finish.
		local i
		for i in $(seq 100); do
			[ "$(q "SELECT count(pg_cancel_backend(pid)) FROM trickle.workers WHERE kind = 'worker' AND relid = '$rel'::regclass")" = 0 ] && break
			sleep 0.1
		done
		hist=$(q "SELECT string_agg(action || CASE WHEN status <> 'COMPLETED' THEN '/' || status ELSE '' END, E'\n')
			FROM trickle.refresh_history WHERE stream_table = '$rel'::regclass AND initiated_by = 'SCHEDULER'")
		pend="$(q "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint), 0)
			FROM pg_tables WHERE schemaname = 'trickle_changes'")"
		if act=$(q "SET statement_timeout = '${WRITE_CHECK_TIMEOUT}s'; SELECT action FROM trickle.refresh_stream_table('$rel', wait => true)" 2>/dev/null); then
			chk=$act
		else
			q "SELECT * FROM trickle.refresh_stream_table('$rel', \"full\" => true, wait => true)" >/dev/null
			chk="not within ${WRITE_CHECK_TIMEOUT} s (then FULL)"
		fi
		;;
	trigger_agg) rel=trigger_agg ;;
	ivm_*) rel=$1 ;;
	esac
	[ -n "$rel" ] || return 0
	local query=$q_agg
	[[ $1 == *join* ]] && query=$q_join
	check=$(same_contents "$rel" "($query) AS q" "$cols")
	case $1 in
	trickle_*) drop_st "$rel" ;;
	trigger_agg) q "DROP TRIGGER trigger_agg_ins ON pgbench_accounts; DROP TRIGGER trigger_agg_upd ON pgbench_accounts; DROP TRIGGER trigger_agg_del ON pgbench_accounts" ;;
	ivm_*) q "DROP TABLE $rel" ;;
	esac
}

# one run of pgbench: prints "tps latency_ms"
pgb() {
	local out tps lat
	out=$(pgbench_u -n -M prepared -c "$WRITE_CLIENTS" -j "$WRITE_CLIENTS" -T "$WRITE_SECONDS" 2>&1) || { echo "$out" >&2; return 1; }
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
	[ -n "$tps" ] || { echo "$out" >&2; return 1; }
	echo "$tps ${lat:-0}"
}

sections=()
notes=()
for scale in $WRITE_SCALES; do
	progress "scale $scale: pgbench -i"
	q "DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history"
	pgbench_u -i -q -s "$scale" >/dev/null 2>&1
	settle
	progress "scale $scale: warm-up run (untimed)"
	pgb >/dev/null
	declare -A tps=() lat=() mode=() acts=() bad=() pends=() chks=()
	for round in $(seq "$WRITE_RUNS"); do
		for v in "${variants[@]}"; do
			progress "scale $scale, round $round/$WRITE_RUNS: $v"
			setup "$v"
			case $v in trickle_*) mode[$v]=$(effective_mode "st_$(sed -E 's/^trickle_//; s/_(paused|1s)$//' <<<"$v")") ;; esac
			q "TRUNCATE pgbench_history"
			settle
			read -r t l <<<"$(pgb)"
			tps[$v]+="$t"$'\n' lat[$v]+="$l"$'\n'
			teardown "$v"
			acts[$v]+="$hist"$'\n' pends[$v]+="$pend"$'\n' chks[$v]+="$chk"$'\n'
			[ -z "$check" ] || [ "$check" = 0 ] || bad[$v]+="round $round: $check rows differ; "
		done
	done
	base=$(printf '%s' "${tps[none]}" | median)
	rows=()
	for v in "${variants[@]}"; do
		case $v in
		none) what="nothing (baseline)" ;;
		trickle_agg_paused) what="trickle, aggregate; scheduler paused (capture only)" ;;
		trickle_agg_1s) what="trickle, aggregate; schedule \`1s\`, scheduler on" ;;
		trickle_join_paused) what="trickle, join + aggregate; scheduler paused (capture only)" ;;
		trickle_join_1s) what="trickle, join + aggregate; schedule \`1s\`, scheduler on" ;;
		trigger_agg) what="hand-written statement triggers, aggregate (in the transaction)" ;;
		ivm_agg) what="pg_ivm IMMV, aggregate (in the transaction)" ;;
		ivm_join) what="pg_ivm IMMV, join + aggregate (in the transaction)" ;;
		esac
		refreshes=– pendings=– checks=–
		if [[ $v == *_1s ]]; then
			refreshes="$(printf '%s' "${acts[$v]}" | actions count)"
			[ "$refreshes" != – ] || refreshes=none
		fi
		if [[ $v == trickle_* ]]; then
			pendings=$(printf '%s' "${pends[$v]}" | stats)
			checks=$(printf '%s' "${chks[$v]}" | actions count)
		fi
		rows+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' "$what" "${mode[$v]:-–}" \
			"$(printf '%s' "${tps[$v]}" | stats)" "$(ratio "$(printf '%s' "${tps[$v]}" | median)" "$base")" \
			"$(printf '%s' "${lat[$v]}" | stats)" "$refreshes" "$pendings" "$checks")")
		[ -z "${bad[$v]:-}" ] || notes+=("⚠ scale $scale, $v: the maintained table differs from its query: ${bad[$v]}")
	done
	accounts=$(q "SELECT count(*) FROM pgbench_accounts")
	sections+=("#### Scale $scale ($accounts accounts, $scale branches)

| maintained by | effective mode | TPS | ratio to baseline | latency ms | scheduled refreshes (all runs) | change-buffer rows left after a run | refresh after the run |
| --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${rows[@]}")")
	unset tps lat mode acts bad pends chks
done

echo "### Write overhead"
echo
echo "pgbench's built-in \`tpcb-like\` script, \`-M prepared\`, $WRITE_CLIENTS clients, ${WRITE_SECONDS} s per run, $WRITE_RUNS runs per variant (the variants take turns in each round; one untimed run first). TPS and average latency: median (min–max); ratio: TPS median against the baseline's of the same scale. Aggregate: \`$q_agg\`; join + aggregate: \`$q_join\`. Before each run: the variant created (trickle stream tables with \`refresh_mode => 'auto'\`), \`pgbench_history\` truncated, VACUUM ANALYZE, CHECKPOINT. After it: the maintained table compared with its query (EXCEPT ALL both ways; trickle's after one more refresh), then dropped. For trickle, first the scheduler is paused and a scheduled refresh still running is cancelled (it then shows as \`/FAILED\`); the rows left in the change buffers are counted; then one refresh in the stream table's own mode (its action in the last column) is given ${WRITE_CHECK_TIMEOUT} s, after which a FULL refresh replaces it."
echo
printf '%s\n\n' "${sections[@]}"
echo "* $ivm_note"
echo "* \"Scheduler paused\" is \`trickle.enabled = off\`: the capture triggers write the change buffers and nothing refreshes, which is what each writing transaction itself pays. With a \`1s\` schedule the scheduler's refreshes run on the same 2 cores as pgbench; that is the whole cost of keeping the stream table fresh."
echo '* Every tpcb-like transaction updates one account, one teller and one branch: the join + aggregate stream table also captures the branch row (its `bid`), but the update changes no column the query reads, so its −1/+1 pair cancels before the join (0.4.0; before, each such pair was joined with the branch'\''s ~100,000 accounts and a refresh could run for minutes).'
[ ${#notes[@]} -eq 0 ] && echo "* After every run every maintained table equalled its query."
[ ${#notes[@]} -eq 0 ] || printf '* %s\n' "${notes[@]}"
echo "* Server: $server_conf; \`fsync = off\`, so a commit costs no disk flush: the ratios show the CPU cost of maintenance, which a durable commit would dilute."
