#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Loading a patch module while dynamos is not loaded fails with a clear error
# in dmesg and changes nothing.

. "$(dirname "$0")/functions.sh"

start_test "a patch module without the core is refused"
is_loaded "$CORE" && die "dynamos is already loaded"

log_cmd "insmod $HELLO (expected to fail)"
if insmod "$HELLO_KO" 2>/dev/null; then die "insmod $HELLO succeeded without dynamos"; fi
is_loaded "$HELLO" && die "$HELLO is loaded"
is_loaded "$CORE" && die "dynamos got loaded"
assert_absent "$SYSFS"
log "ok: refused, nothing loaded"

# The loader names the symbols in the order of the module's symbol table,
# which is the compiler's (GCC and clang differ): compared sorted.
expect="dynamos_selftest: % insmod $HELLO (expected to fail)
$HELLO: Unknown symbol dynamos_register_patch (err -2)
$HELLO: Unknown symbol dynamos_unregister_patch (err -2)"
result=$(test_dmesg | sort)
if [ "$result" != "$(printf '%s\n' "$expect" | sort)" ]; then
	log "FAIL: kernel messages differ from the expected ones (sorted):"
	diff -u <(printf '%s\n' "$expect" | sort) <(printf '%s\n' "$result") | sed 's/^/    /'
	exit "$KSFT_FAIL"
fi
log "ok: kernel messages as expected"
