#!/usr/bin/env bash
# `make install` / `make uninstall`: dynamos.ko into the module tree of the
# kernel it was built against (extra/dynamos/, then depmod, by the dynamos
# command's own install), the dynamos command and its man page.
#
#   scripts/install.sh [--uninstall]
#
# DESTDIR (default /) is the root of the system installed into, PREFIX
# (default /usr/local) where the command goes under it. dynamos.ko gets no
# boot entry of its own: modprobe loads it first for any patch installed
# with `dynamos install`, which does get one.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

root=${DESTDIR:-/}
prefix=${PREFIX:-/usr/local}
dyn=$DYNAMOS_TOP/tools/dynamos/target/release/dynamos
kdir=$(tree_kdir)
[ -x "$dyn" ] && [ -f "$DYNAMOS_TOP/dynamos.ko" ] && [ -n "$kdir" ] ||
	die "nothing built to install: run make first"
release=$(cat "$kdir/include/config/kernel.release")
bin=${root%/}$prefix/sbin/dynamos
man=${root%/}$prefix/share/man/man1/dynamos.1

if [ "${1:-}" = --uninstall ]; then
	"$dyn" uninstall --root "$root" --kernel "$release" dynamos
	rm -f "$bin" "$man"
	say "removed $bin and $man"
	exit 0
fi
"$dyn" install --root "$root" --kernel "$release" "$DYNAMOS_TOP/dynamos.ko"
install -D -m 0755 "$dyn" "$bin"
install -D -m 0644 "$DYNAMOS_TOP/tools/dynamos/dynamos.1" "$man"
say "installed $bin and $man; dynamos.ko for kernel $release"
