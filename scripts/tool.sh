#!/usr/bin/env bash
# Build the dynamos command (tools/dynamos) with the crate versions of its
# Cargo.toml (fetched by scripts/deps.sh), and its man page from the same
# command-line definitions.
#
#   scripts/tool.sh     -> tools/dynamos/target/release/dynamos
#                          tools/dynamos/dynamos.1
set -euo pipefail
. "$(dirname "$0")/lib.sh"

crate=$DYNAMOS_TOP/tools/dynamos
log=$DYNAMOS_LOGS/dynamos-cmd.log
if ! cargo build --release --offline --manifest-path "$crate/Cargo.toml" >"$log" 2>&1; then
	cat "$log" >&2
	die "building tools/dynamos failed; full log: $log"
fi
"$crate/target/release/dynamos" man >"$crate/dynamos.1.new"
if cmp -s "$crate/dynamos.1.new" "$crate/dynamos.1"; then
	rm -f "$crate/dynamos.1.new"
else
	mv "$crate/dynamos.1.new" "$crate/dynamos.1"
fi
say "dynamos command built: $crate/target/release/dynamos"
