#!/usr/bin/env bash
# Host-side compile tests of the patch-author API: a patch whose edition
# matches the declared signature (and its bindings:: prototype) builds; one
# whose edition does not, or whose declared signature contradicts the
# bindings:: prototype, is refused by the compiler.
#
# Prints one KTAP line per case; exit code 1 if any case went wrong.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$(tree_kdir)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

# case NAME EXPECT(build|fail) PATTERN BODY
case_() {
	local name=$1 expect=$2 pattern=$3 body=$4 dir=$work/$1 out
	mkdir -p "$dir"
	echo "obj-m += $name.o" >"$dir/Kbuild"
	cat >"$dir/$name.rs" <<EOT
// SPDX-License-Identifier: GPL-2.0
//! Compile test.
use kernel::{bindings, ffi::c_uint};
#[path = "$DYNAMOS_TOP/src/dynamos_patch.rs"]
mod dynamos_patch;
$body
EOT
	# A patch built on its own links to the core through its Module.symvers.
	out=$(make -C "$kdir" M="$dir" $(kbuild_cc "$kdir") KBUILD_EXTRA_SYMBOLS="$DYNAMOS_TOP/Module.symvers" 2>&1)
	local rc=$?
	# Then what the build does to a patch that reaches non-exported
	# symbols (ksyms!): their names and positions are checked.
	if [ $rc -eq 0 ]; then
		out+=$'\n'$("$DYNAMOS_TOP/scripts/ksyms.sh" "$kdir" "$dir/$name.ko" 2>&1)
		rc=$?
	fi
	if [ "$expect" = build ] && [ $rc -eq 0 ]; then
		echo "ok - host: compile test $name builds"
	elif [ "$expect" = fail ] && [ $rc -ne 0 ] && grep -q "$pattern" <<<"$out"; then
		echo "ok - host: compile test $name is refused ($pattern)"
	else
		echo "not ok - host: compile test $name (expected to $expect)"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/# /'
		fails=$((fails + 1))
	fi
}

common='dynamos_patch::patch! {
    type: T, name: "NAME", authors: ["t"], description: "t", license: "GPL",
    flags: dynamos_patch::PATCH_NO_AUTO_ENABLE,
    functions: [ FUNCS ],
}'
patch() { local p=${common/NAME/$1}; printf '%s\n' "${p/FUNCS/$2}"; }

case_ sig_ok build "" "extern \"C\" fn e(_m: c_uint) {}
$(patch sig_ok 'msleep: fn(msecs: c_uint) -> () => e, check = bindings::msleep;')"

case_ sig_edition fail "mismatched types" "extern \"C\" fn e(_m: u64) {}
$(patch sig_edition 'msleep: fn(msecs: c_uint) -> () => e;')"

case_ sig_prototype fail "mismatched types" "extern \"C\" fn e(_m: u64) {}
$(patch sig_prototype 'msleep: fn(msecs: u64) -> () => e, check = bindings::msleep;')"

# Non-exported symbols: a good one converts; an unknown name, a name that
# is not unique and a position past the last are refused at build time,
# with the candidates; a call with the wrong type does not compile.
ksyms() { printf 'dynamos_patch::ksyms! { %s }\n' "$1"; }
lookup='kallsyms_lookup_name: fn(name: *const kernel::ffi::c_char) -> kernel::ffi::c_ulong, check = bindings::kallsyms_lookup_name;'
use_lookup='extern "C" fn e(_m: c_uint) { let _ = unsafe { kallsyms_lookup_name::call(core::ptr::null()) }; }'

case_ ksym_ok build "" "$(ksyms "$lookup")
$use_lookup
$(patch ksym_ok 'msleep: fn(msecs: c_uint) -> () => e;')"

case_ ksym_unknown fail "no symbol dynamos_no_such_symbol in vmlinux" "$(ksyms 'dynamos_no_such_symbol: fn() -> ();')
extern \"C\" fn e(_m: c_uint) { unsafe { dynamos_no_such_symbol::call() } }
$(patch ksym_unknown 'msleep: fn(msecs: c_uint) -> () => e;')"

case_ ksym_ambiguous fail "2 symbols named c_next in vmlinux: give a position" "$(ksyms 'c_next: fn() -> ();')
extern \"C\" fn e(_m: c_uint) { unsafe { c_next::call() } }
$(patch ksym_ambiguous 'msleep: fn(msecs: c_uint) -> () => e;')"

case_ ksym_position fail "no symbol kallsyms_lookup_name at position 2 in vmlinux" "$(ksyms "${lookup/kallsyms_lookup_name:/kallsyms_lookup_name @ 2:}")
$use_lookup
$(patch ksym_position 'msleep: fn(msecs: c_uint) -> () => e;')"

case_ ksym_type fail "mismatched types" "$(ksyms "$lookup")
extern \"C\" fn e(_m: c_uint) { let _ = unsafe { kallsyms_lookup_name::call(0u64) }; }
$(patch ksym_type 'msleep: fn(msecs: c_uint) -> () => e;')"

[ "$fails" -eq 0 ]
