#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Turns the non-exported symbol references of patch modules (the patch
# API's ksyms!) into livepatch relocations, with tools/ksymconv.
#
#   scripts/ksyms.sh [--map MAP] KDIR [MODULE.ko...]
#
# Without modules, every .ko of the tree that has such references. Each
# is checked against KDIR/System.map, or MAP (vmlinux symbols), and the
# tree's own modules (module symbols). Needs CONFIG_LIVEPATCH in KDIR: without it the
# loader would skip the relocations and leave calls to address 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

map=
if [ "${1:-}" = --map ]; then
	map=${2:?usage: scripts/ksyms.sh [--map MAP] KDIR [MODULE.ko...]}
	shift 2
fi
kdir=${1:?usage: scripts/ksyms.sh [--map MAP] KDIR [MODULE.ko...]}
shift
map=${map:-$kdir/System.map}

# The converter: built on first use (gcc and libelf-dev, from deps.sh).
tool=$DYNAMOS_CACHE/tools/bin/ksymconv
src=$DYNAMOS_TOP/tools/ksymconv/ksymconv.c
if [ ! -x "$tool" ] || [ "$src" -nt "$tool" ]; then
	mkdir -p "$(dirname "$tool")"
	cc -O2 -Wall -Wextra -Werror -o "$tool" "$src" -lelf ||
		die "building tools/ksymconv failed (needs libelf-dev)"
fi

if [ $# -gt 0 ]; then
	kos=("$@")
else
	mapfile -t kos < <(find "$DYNAMOS_TOP" -name '*.ko' -not -path '*/.results/*' | sort)
fi
todo=()
for ko in "${kos[@]}"; do
	# An undefined .klp.sym.* symbol: a reference not converted yet.
	if readelf -sW "$ko" 2>/dev/null | awk '$7 == "UND" && $8 ~ /^\.klp\.sym\./ { f = 1 } END { exit !f }'; then
		todo+=("$ko")
	fi
done
[ ${#todo[@]} -eq 0 ] && exit 0

grep -q '^CONFIG_LIVEPATCH=y' "$kdir/.config" ||
	die "${todo[*]} reach non-exported symbols (ksyms!): the kernel in $kdir needs CONFIG_LIVEPATCH=y, without which the module loader skips livepatch relocations and the calls would go to address 0"
[ -f "$map" ] || die "no System.map: $map"

# Every module of the tree may be a target.
args=(-m "$map")
while IFS= read -r ko; do
	name=$(basename "$ko" .ko)
	args+=(-M "${name//-/_}=$ko")
done < <(find "$DYNAMOS_TOP" -name '*.ko' -not -path '*/.results/*')
for ko in "${todo[@]}"; do
	# The module as linked, for debugging (and test-ksyms.sh, which shows
	# that an unconverted one cannot load).
	cp -f "$ko" "$ko.unconverted"
	"$tool" "${args[@]}" "$ko" >&2
done
