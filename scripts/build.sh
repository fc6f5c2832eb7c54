#!/usr/bin/env bash
# Build the guest kernel (cached) and dynamos' modules against it.
#
#   scripts/build.sh kernel           deps + kernel; prints KDIR
#   scripts/build.sh modules [ARGS]   deps + kernel + `make M=` with ARGS
set -euo pipefail
. "$(dirname "$0")/lib.sh"

what=${1:-modules}
shift || true

"$DYNAMOS_TOP/scripts/deps.sh"
kdir=$("$DYNAMOS_TOP/scripts/kernel.sh" | tail -n 1)
printf '%s\n' "$kdir" >"$DYNAMOS_CACHE/last-kdir"
printf '%s\n' "$kdir" >"$DYNAMOS_TOP/.kdir"
[ "$what" = kernel ] && { printf '%s\n' "$kdir"; exit 0; }

log=$DYNAMOS_LOGS/modules.log
# clippy-driver compiles as rustc does and lints on the way: every build is
# a clippy run, and its warnings fail the build like the compiler's.
if ! make -C "$kdir" M="$DYNAMOS_TOP" $(kbuild_cc "$kdir") -j"$(nproc)" CLIPPY=1 "$@" >"$log" 2>&1; then
	cat "$log" >&2
	die "module build failed; full log: $log"
fi
# Compiler and clippy warnings are errors for dynamos: rustc's, and the C
# compiler's ("file.c:LINE:COL: warning:").
if grep -E '^(warning|error)(\[|:)|^[^ :]+\.[ch]:[0-9]+:[0-9]+: (warning|error):' "$log" >/dev/null; then
	cat "$log" >&2
	die "module build has warnings; full log: $log"
fi
# Patch modules that reach non-exported symbols (the patch API's ksyms!):
# their references become livepatch relocations, which the module loader
# applies at insmod (tools/ksymconv). Every name and position is checked
# against the guest kernel's System.map and the tree's modules first.
# One selftest patch is converted against a System.map of another build of
# the kernel, one that has a second show_map_vma(), which it names: the
# loader must refuse it at insmod (test-ksyms-stale.sh).
stale=$DYNAMOS_TOP/selftests/test_modules/dynamos_test_stale
if [ -f "$stale.ko" ]; then
	{ cat "$kdir/System.map"; awk '$3 == "show_map_vma" { print "ffffffffffff0000", $2, $3 }' "$kdir/System.map"; } >"$stale.map"
	"$DYNAMOS_TOP/scripts/ksyms.sh" --map "$stale.map" "$kdir" "$stale.ko" ||
		die "converting $stale.ko failed"
fi
"$DYNAMOS_TOP/scripts/ksyms.sh" "$kdir" || die "converting non-exported symbol references failed"

# The user-space programs of the selftests and the benchmark.
for prog in getpid_loop bench_user stress_tool; do
	cc -O2 -Wall -Werror -o "$DYNAMOS_TOP/selftests/$prog" "$DYNAMOS_TOP/selftests/$prog.c" ||
		die "building selftests/$prog failed"
done
# The dynamos command (tools/dynamos), which the guest runs from the tree.
"$DYNAMOS_TOP/scripts/tool.sh" || die "building the dynamos command failed"
say "modules built against $kdir"
