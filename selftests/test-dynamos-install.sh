#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dynamos install into a root directory: the module tree, depmod's
# dependency on dynamos.ko, the modules-load.d boot entry; modprobe -d
# loads the patch with dynamos.ko first; uninstall removes them.

. "$(dirname "$0")/functions.sh"
PATCH=dynamos_test_add
ROOT=/tmp/dynamos-cmd-root.$$

cleanup_extra() { rm -rf "$ROOT"; }

start_test "dynamos install makes modprobe load a patch after dynamos.ko"
need_dyn
load_mod "$TARGET_KO"

# install into a root directory; modprobe loads dynamos.ko first.
rel=$(uname -r)
expect 0 "installed $ROOT/lib/modules/$rel/extra/dynamos/$PATCH.ko" install --root "$ROOT" "$CORE_KO" "$(test_ko add)"
assert_eq "$(grep -v '^#' "$ROOT/etc/modules-load.d/dynamos-$PATCH.conf")" "$PATCH" "the boot entry"
assert_absent "$ROOT/etc/modules-load.d/dynamos-$CORE.conf"
grep -q "^extra/dynamos/$PATCH.ko: extra/dynamos/$CORE.ko" "$ROOT/lib/modules/$rel/modules.dep" ||
	die "modules.dep: $(cat "$ROOT/lib/modules/$rel/modules.dep")"
expect 0 "" list --installed --root "$ROOT"
row "^ *$PATCH +yes "
row "^ *$CORE +\(dependency\) "
log_cmd "modprobe -d $ROOT $PATCH"
modprobe -d "$ROOT" "$PATCH" || die "modprobe -d $ROOT $PATCH failed"
is_loaded "$CORE" || die "modprobe did not load $CORE"
expect 0 "" list
row "^ *$PATCH +registered +-$"
unload_mod "$PATCH"
unload_mod "$CORE"
expect 0 "removed $ROOT/etc/modules-load.d/dynamos-$PATCH.conf" uninstall --root "$ROOT" "$PATCH" "$CORE"
assert_absent "$ROOT/lib/modules/$rel/extra/dynamos/$PATCH.ko"
expect 0 "No dynamos module is installed." list --installed --root "$ROOT"
expect 1 "no installed module named 'nosuch'" uninstall --root "$ROOT" nosuch

unload_mod "$TARGET"
log "ok: installed, loaded by modprobe, uninstalled"
