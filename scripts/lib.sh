# Shared helpers for the scripts in scripts/. Source it; do not run it.
# shellcheck shell=bash

DYNAMOS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/versions.env
. "$DYNAMOS_TOP/scripts/versions.env"

# Everything downloaded or built lives here, outside the repository.
DYNAMOS_CACHE=${DYNAMOS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dynamos}
DYNAMOS_LOGS=${DYNAMOS_LOGS:-$DYNAMOS_CACHE/logs}
mkdir -p "$DYNAMOS_CACHE" "$DYNAMOS_LOGS"

export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-$LLVM_VERSION/lib}
export PATH="$DYNAMOS_CACHE/tools/bin:$DYNAMOS_CACHE/venv/bin:$HOME/.cargo/bin:$PATH"

say() { printf '%s\n' "dynamos: $*" >&2; }
die() { say "error: $*"; exit 1; }

# stage NAME LOG CMD...: run CMD with its output in LOG, print one progress
# line with the elapsed time, and on failure the tail of the log and its path.
stage() {
	local name=$1 log=$2 start rc
	shift 2
	start=$(date +%s)
	say "$name ..."
	"$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 25 "$log" >&2
		say "$name FAILED after $(($(date +%s) - start)) s (exit $rc); full log: $log"
		return "$rc"
	fi
	say "$name done in $(($(date +%s) - start)) s (log: $log)"
}

# tree_kdir: the kernel this tree's modules were last built against (the
# guest kernel to boot with them), else the last one built on this machine;
# KDIR overrides. Two trees built for different kernels (DEBUG=1 and not)
# then each boot their own.
tree_kdir() {
	if [ -n "${KDIR:-}" ]; then printf '%s\n' "$KDIR"
	elif [ -s "$DYNAMOS_TOP/.kdir" ]; then cat "$DYNAMOS_TOP/.kdir"
	else cat "$DYNAMOS_CACHE/last-kdir" 2>/dev/null || true
	fi
}

# kbuild_cc KDIR: the make variable that builds modules with the compiler
# that built the kernel at KDIR: LLVM=-N for clang (the debug kernel),
# nothing for GCC. Use it unquoted: make -C "$kdir" M=... $(kbuild_cc "$kdir")
kbuild_cc() {
	if grep -qx 'CONFIG_CC_IS_CLANG=y' "$1/.config"; then printf 'LLVM=-%s\n' "$LLVM_VERSION"; fi
}

# What a clean guest kernel log never holds (scripts/vm.sh checks every run
# against it): oopses, BUGs, WARNs, panics, lockdep, KASAN, UBSAN, kmemleak
# and hung-task reports, and stack dumps of any kind.
PROBLEM_RE='Oops|BUG:|WARNING:|Kernel panic|KASAN|UBSAN|kmemleak: [0-9]+ new suspected|Call Trace:|INFO: task .* blocked|INFO: possible|DEBUG_LOCKS_WARN_ON|lockdep is turned off|general protection fault'

# Run as root, or through sudo when not root.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The Debian mirror this machine already uses, read from its own apt
# configuration (deb822 .sources or one-line .list). Never hard-coded.
debian_mirror() {
	local uri
	uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' |
		grep -v -e security -e '^#' | grep '/debian/*$' | head -n 1)
	if [ -z "$uri" ]; then
		uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' |
			grep -v security | grep '/debian/*$' | head -n 1)
	fi
	[ -n "$uri" ] || return 1
	printf '%s\n' "${uri%/}"
}

# A private apt configuration: its own sources list (bookworm-backports and
# trixie-backports from the machine's mirror) and its own package lists, so
# the machine's apt state is never changed.
APT_PRIV=$DYNAMOS_CACHE/apt
apt_private_init() {
	local mirror
	mirror=$(debian_mirror) || die "cannot find a Debian mirror in /etc/apt; pass KSRC= or KDIR= instead"
	mkdir -p "$APT_PRIV/lists/partial" "$APT_PRIV/archives/partial"
	cat >"$APT_PRIV/sources.list" <<EOT
deb $mirror bookworm main
deb $mirror bookworm-backports main
deb $mirror $KERNEL_SUITE main
EOT
}
# Options that point apt-get/apt-cache at the private configuration.
APT_OPTS=(-o Dir::Etc::sourcelist="$APT_PRIV/sources.list" -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists="$APT_PRIV/lists" -o Dir::Cache::Archives="$APT_PRIV/archives"
	-o APT::Get::List-Cleanup=0)
