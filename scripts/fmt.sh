#!/usr/bin/env bash
# Format (or with --check, check) every Rust source of dynamos with the
# kernel's rustfmt settings. Exit code 1 when --check finds a difference.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kdir=$(tree_kdir)
ksrc=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$kdir/Makefile" 2>/dev/null | head -n 1)
args=(--edition 2021)
[ -f "$ksrc/.rustfmt.toml" ] && args+=(--config-path "$ksrc/.rustfmt.toml")
[ "${1:-}" = --check ] && args+=(--check)
cd "$DYNAMOS_TOP"
# Crate roots: rustfmt follows their modules (and #[path] includes).
rustfmt "${args[@]}" src/dynamos.rs patches/*/*.rs selftests/test_modules/*.rs
(cd selftests/host && cargo fmt ${1:+-- --check})
