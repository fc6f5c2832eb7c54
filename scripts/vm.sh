#!/usr/bin/env bash
# Run a command in a fresh VM booted from the dynamos guest kernel.
#
#   scripts/vm.sh [options] [--] COMMAND...
#   scripts/vm.sh --interactive
#
# The guest sees the host's filesystem read-only (virtme-ng, 9p root), so the
# modules are loaded from their paths in the tree. The guest may write only
# to $RESULTS (DYNAMOS_RESULTS, default .results/ in the tree), visible at the
# same path on both sides.
#
# Options:
#   --timeout S      hard limit for the whole boot (default 600)
#   --log FILE       where the serial console goes (default $RESULTS/console.log)
#   --interactive    a shell instead of COMMAND
#   --filter         show only the command's output, not the kernel's
#   --cpus N         guest CPUs (default 2)
#   --qemu-opts S    extra QEMU options (the benchmark's -icount mode)
#
# Exit code: the command's exit code; 124 on timeout; non-zero when the
# kernel log holds an Oops, BUG, WARNING, lockdep or KASAN report, whatever
# the command returned.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

timeout_s=600 interactive=0 filter=0 log= cpus=2 qemu_opts=
RESULTS=${DYNAMOS_RESULTS:-$DYNAMOS_TOP/.results}
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	--filter) filter=1; shift ;;
	--cpus) cpus=$2; shift 2 ;;
	--qemu-opts) qemu_opts=$2; shift 2 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
log=${log:-$RESULTS/console.log}

kdir=$(tree_kdir)
[ -n "$kdir" ] && [ -f "$kdir/arch/x86/boot/bzImage" ] ||
	die "no built kernel: run 'make' first (or pass KDIR=)"

# KVM on this machine kind is present but broken (the guest dies with an
# emulation failure on xrstor). Use it only when a probe boot with it
# succeeded; the answer is cached per kernel. DYNAMOS_KVM=0/1 overrides.
kvm_works() {
	local probe
	probe=$DYNAMOS_CACHE/kvm-probe-$(printf "%s" "$kdir" | sha256sum | cut -c1-12)
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	if [ ! -f "$probe" ]; then
		if timeout -k 5 60 vng --run "$kdir/arch/x86/boot/bzImage" --skip-modules \
			--cpus 1 --memory 512M --exec "echo dynamos-kvm-ok" </dev/null 2>&1 |
			grep -q dynamos-kvm-ok; then
			echo yes >"$probe"
		else
			echo no >"$probe"
		fi
		say "KVM probe boot: $(cat "$probe") (cached in $probe)"
	fi
	[ "$(cat "$probe")" = yes ]
}
accel=(--disable-kvm)
case "${DYNAMOS_KVM:-auto}" in
1) accel=() ;;
0) ;;
*) kvm_works && accel=() ;;
esac

vng_args=(--run "$kdir/arch/x86/boot/bzImage" "${accel[@]}" --skip-modules
	--cpus "$cpus" --memory 2G --rwdir "$RESULTS" --cwd "$DYNAMOS_TOP" --verbose
	--append "oops=panic panic=-1")
[ -n "$qemu_opts" ] && vng_args+=("--qemu-opts=$qemu_opts")

if [ "$interactive" = 1 ]; then
	say "interactive VM: modules are in $DYNAMOS_TOP; exit the shell to power off"
	exec vng "${vng_args[@]}"
fi
[ $# -gt 0 ] || die "no command given"

# vng has no timeout of its own, and QEMU truncates a redirected stdout
# (virtme-ng issue #368): wrap it in timeout and pipe through tee.
cmd="$*"
rc=0
if [ "$filter" = 1 ]; then
	set +e
	timeout --foreground -k 10 "$timeout_s" vng "${vng_args[@]}" --exec "$cmd" </dev/null 2>&1 |
		tee "$log" | grep --line-buffered -v -E '^\[ *[0-9]+\.[0-9]+\]|^virtme-ng-init:|^\s*$'
	rc=${PIPESTATUS[0]}
	set -e
else
	set +e
	timeout --foreground -k 10 "$timeout_s" vng "${vng_args[@]}" --exec "$cmd" </dev/null 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	set -e
fi
[ "$rc" -eq 124 ] && say "VM timed out after $timeout_s s; console log: $log"

# Kernel log hygiene: scan the console and, when the guest saved it, dmesg.
bad=$(cat "$log" "$RESULTS/dmesg.log" 2>/dev/null |
	grep -E "$PROBLEM_RE" | sort -u || true)
rm -f "$RESULTS/log-problems.txt" "$RESULTS/first-report.txt"
if [ -n "$bad" ]; then
	printf '%s\n' "$bad" >"$RESULTS/log-problems.txt"
	# The first report whole (RIP, Code, registers, Call Trace, Modules
	# linked in), for a reader who has only this run's output, as in CI.
	first=$(grep -naE "$PROBLEM_RE" "$log" | head -n 1 | cut -d: -f1)
	[ -z "$first" ] || sed -n "$((first > 5 ? first - 5 : 1)),$((first + 70))p" "$log" |
		tr -d '\r' >"$RESULTS/first-report.txt"
	say "kernel log has problem reports (console log: $log):"
	printf '%s\n' "$bad" | head -n 20 >&2
	[ "$rc" -ne 0 ] || rc=3
fi
exit "$rc"
