#!/usr/bin/env bash
# `make check`: build everything, run every selftest in one VM boot, print
# their KTAP and end with the line "N passed, N failed, N skipped".
#
# Besides the guest's tests, the run counts one host-side test: the guest
# kernel log holds no Oops, BUG, WARNING, lockdep or KASAN report. A guest
# that crashes or times out fails every test that did not report.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
"$DYNAMOS_TOP/scripts/build.sh" modules || exit 1

# Host-side tests first: the pure Rust code (cargo test) and formatting.
host_pass=0 host_fail=0 host_lines=()
# cargo_tests DIR WHAT LOG: `cargo test` in DIR, counted test by test.
cargo_tests() {
	local dir=$1 what=$2 log=$3 n
	if (cd "$dir" && cargo test --offline) >"$log" 2>&1; then
		n=$(sed -n 's/^test result: ok\. \([0-9]*\) passed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
		host_pass=$((host_pass + n))
		host_lines+=("ok - host: cargo test of $what ($n tests)")
	else
		n=$(sed -n 's/^test result: FAILED\. [0-9]* passed; \([0-9]*\) failed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
		host_fail=$((host_fail + (n > 0 ? n : 1)))
		host_lines+=("not ok - host: cargo test of $what (log: $log)")
	fi
}
cargo_tests "$DYNAMOS_TOP/selftests/host" src/logic/ "$DYNAMOS_LOGS/cargo-test.log"
# The dynamos command's parsers and tables (tools/dynamos, fixture trees).
cargo_tests "$DYNAMOS_TOP/tools/dynamos" tools/dynamos "$DYNAMOS_LOGS/cargo-test-cmd.log"
# make install into a scratch root: the module where modprobe finds it
# (depmod's modules.dep), the command and its man page; uninstall removes
# them.
dest=$(mktemp -d)
rel=$(cat "$(tree_kdir)/include/config/kernel.release")
if DESTDIR=$dest "$DYNAMOS_TOP/scripts/install.sh" >"$DYNAMOS_LOGS/install.log" 2>&1 &&
	grep -q '^extra/dynamos/dynamos.ko:' "$dest/lib/modules/$rel/modules.dep" &&
	[ -x "$dest/usr/local/sbin/dynamos" ] && [ -s "$dest/usr/local/share/man/man1/dynamos.1" ] &&
	DESTDIR=$dest "$DYNAMOS_TOP/scripts/install.sh" --uninstall >>"$DYNAMOS_LOGS/install.log" 2>&1 &&
	! grep -q dynamos "$dest/lib/modules/$rel/modules.dep" && [ ! -e "$dest/usr/local/sbin/dynamos" ]; then
	host_pass=$((host_pass + 1))
	host_lines+=("ok - host: make install and uninstall (DESTDIR, kernel $rel)")
else
	host_fail=$((host_fail + 1))
	host_lines+=("not ok - host: make install and uninstall (log: $DYNAMOS_LOGS/install.log)")
fi
rm -rf "$dest"
# The layers of src/: no import upwards, no circle, unsafe only in raw/.
if python3 "$DYNAMOS_TOP/scripts/layers.py" >"$DYNAMOS_LOGS/layers.log" 2>&1; then
	host_pass=$((host_pass + 1))
	host_lines+=("ok - host: layers of src/ ($(tail -n 1 "$DYNAMOS_LOGS/layers.log" | sed 's/^layers: //'))")
else
	host_fail=$((host_fail + 1))
	host_lines+=("not ok - host: layers of src/ (log: $DYNAMOS_LOGS/layers.log)")
	while IFS= read -r line; do host_lines+=("# $line"); done <"$DYNAMOS_LOGS/layers.log"
fi
while IFS= read -r line; do
	host_lines+=("$line")
	case "$line" in
	"ok "*) host_pass=$((host_pass + 1)) ;;
	"not ok "*) host_fail=$((host_fail + 1)) ;;
	esac
done < <("$DYNAMOS_TOP/scripts/compile-tests.sh" 2>&1)
if "$DYNAMOS_TOP/scripts/fmt.sh" --check >"$DYNAMOS_LOGS/rustfmt.log" 2>&1; then
	host_pass=$((host_pass + 1))
	host_lines+=("ok - host: rustfmt --check")
else
	host_fail=$((host_fail + 1))
	host_lines+=("not ok - host: rustfmt --check (run make fmt; log: $DYNAMOS_LOGS/rustfmt.log)")
fi

RESULTS=${DYNAMOS_RESULTS:-$DYNAMOS_TOP/.results}
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
export DYNAMOS_RESULTS=$RESULTS

# The whole guest run's limit: KASAN makes every test several times slower.
case "${DEBUG:-}" in
1 | kasan | gcc) timeout=${CHECK_TIMEOUT:-3600} ;;
*) timeout=${CHECK_TIMEOUT:-1200} ;;
esac
say "booting the VM for the selftests (console log: $RESULTS/console.log)"
"$DYNAMOS_TOP/scripts/vm.sh" --filter --timeout "$timeout" -- \
	"DYNAMOS_RESULTS=$RESULTS $DYNAMOS_TOP/selftests/run_tests.sh"
vm_rc=$?

ktap=$RESULTS/ktap.txt
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$ktap" 2>/dev/null | head -n 1)
planned=${planned:-0}
pass=$(grep -E '^ok [0-9]+ ' "$ktap" 2>/dev/null | grep -vc '# SKIP' || true)
skip=$(grep -E '^ok [0-9]+ .*# SKIP' "$ktap" 2>/dev/null | wc -l)
fail=$(grep -cE '^not ok [0-9]+ ' "$ktap" 2>/dev/null || true)
reported=$((pass + skip + fail))
if [ "$planned" -eq 0 ] || [ "$reported" -lt "$planned" ]; then
	lost=$((planned > reported ? planned - reported : 1))
	say "the guest reported $reported of $planned tests (VM exit $vm_rc): counting $lost as failed"
	fail=$((fail + lost))
fi

printf '%s\n' "${host_lines[@]}"
pass=$((pass + host_pass))
fail=$((fail + host_fail))

# Host-side test: kernel log hygiene.
if [ -s "$RESULTS/log-problems.txt" ]; then
	echo "not ok - host: guest kernel log is free of Oops/BUG/WARNING/lockdep/KASAN reports"
	sed 's/^/# /' "$RESULTS/log-problems.txt" | head -n 20
	if [ -s "$RESULTS/first-report.txt" ]; then
		echo "# the first report, from the console log:"
		sed 's/^/#   /' "$RESULTS/first-report.txt"
	fi
	fail=$((fail + 1))
elif [ "$vm_rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
	echo "not ok - host: the VM exited with $vm_rc"
	fail=$((fail + 1))
else
	echo "ok - host: guest kernel log is free of Oops/BUG/WARNING/lockdep/KASAN reports"
	pass=$((pass + 1))
fi

# The headline of test-subsys-vs-livepatch.sh, measured in this boot.
[ -s "$RESULTS/headline.txt" ] && say "kthread update side by side: $(cat "$RESULTS/headline.txt")"
say "logs: $RESULTS/console.log (serial console), $RESULTS/dmesg.log, $RESULTS/ktap.txt; $(($(date +%s) - start)) s in all"
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
