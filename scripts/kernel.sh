#!/usr/bin/env bash
# Fetch, configure and build the Rust-enabled guest kernel, cached outside the
# repository. Prints the kernel build directory (KDIR) as its last line.
#
#   scripts/kernel.sh              Debian's linux-source (scripts/versions.env)
#   KSRC=/path scripts/kernel.sh   build this source tree instead
#   KDIR=/path scripts/kernel.sh   use this already built kernel as it is
#   DEBUG=1 (or DEBUG=kasan)       the debug kernel: add
#                                  scripts/config/kasan.config and build
#                                  with clang (LLVM=-$LLVM_VERSION): the
#                                  kernel allows KASAN beside Rust only
#                                  when clang builds it
#   DEBUG=gcc                      add scripts/config/debug.config: the
#                                  same checks without KASAN, built by GCC
#                                  as the plain kernel is
#
# The build directory is keyed by kernel version and by a hash of the config
# fragments, so a second run with the same inputs builds nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Rust reads kernel structures through bindgen's layouts; the kernel is
# built by GCC. Every struct's size, alignment and field offsets must agree,
# or a patch reads the wrong field (scripts/layout.py). Checked once per
# kernel build; the verdict is kept beside the bindings it is about.
check_layouts() {
	local kdir=$1 stamp
	stamp=$DYNAMOS_CACHE/layout/$(stat -c '%i-%Y' "$kdir/rust/bindings/bindings_generated.rs")-$(printf '%s' "$kdir" | sha256sum | cut -c1-12)
	[ -f "$stamp" ] && return 0
	if ! KBUILD_CC=$(kbuild_cc "$kdir") python3 "$DYNAMOS_TOP/scripts/layout.py" "$kdir" >"$DYNAMOS_LOGS/layout.log" 2>&1; then
		cat "$DYNAMOS_LOGS/layout.log" >&2
		die "bindgen's struct layouts differ from the kernel's in $kdir (above): Rust code would read the wrong fields"
	fi
	mkdir -p "$(dirname "$stamp")"
	cp "$DYNAMOS_LOGS/layout.log" "$stamp"
}

if [ -n "${KDIR:-}" ]; then
	[ -f "$KDIR/Module.symvers" ] && [ -f "$KDIR/.config" ] ||
		die "KDIR=$KDIR is not a built kernel (no Module.symvers or .config)"
	grep -q '^CONFIG_RUST=y' "$KDIR/.config" || die "KDIR=$KDIR has no CONFIG_RUST=y"
	check_layouts "$KDIR"
	printf '%s\n' "$KDIR"
	exit 0
fi

FRAGMENTS=("$DYNAMOS_TOP/scripts/config/base.config"
	"$DYNAMOS_TOP/scripts/config/virtme-ng.config"
	"$DYNAMOS_TOP/selftests/config")
KMAKE_CC=()
case "${DEBUG:-0}" in
0 | "") ;;
gcc) FRAGMENTS+=("$DYNAMOS_TOP/scripts/config/debug.config") ;;
1 | kasan)
	FRAGMENTS+=("$DYNAMOS_TOP/scripts/config/kasan.config")
	KMAKE_CC=(LLVM="-$LLVM_VERSION")
	;;
*) die "DEBUG=$DEBUG: 1 (the debug kernel, with KASAN, built by clang) or gcc (the same checks without KASAN, built by GCC)" ;;
esac

# Serialize kernel work: there is room for only one kernel build at a time.
# A kernel already built needs no lock, so module builds for it go on while
# another kernel builds. Whoever waited checks again after the lock.
LOCKED=0
lock_kernel() {
	[ "$LOCKED" = 1 ] && return 0
	exec 9>"$DYNAMOS_CACHE/kernel.lock"
	flock 9
	LOCKED=1
}

fetch_source() {
	local srcroot=$DYNAMOS_CACHE/src version=$KERNEL_PKG_VERSION deb
	mkdir -p "$srcroot"
	deb=$(ls "$srcroot/${KERNEL_PKG}_${version}_all.deb" 2>/dev/null || true)
	if [ -z "$deb" ]; then
		lock_kernel
		deb=$(ls "$srcroot/${KERNEL_PKG}_${version}_all.deb" 2>/dev/null || true)
	fi
	if [ -z "$deb" ]; then
		apt_private_init
		stage "apt: $KERNEL_SUITE package lists" "$DYNAMOS_LOGS/apt-update-kernel.log" \
			apt-get "${APT_OPTS[@]}" update
		if ! apt-cache "${APT_OPTS[@]}" madison "$KERNEL_PKG" | awk '{print $3}' | grep -qxF "$version"; then
			version=$(apt-cache "${APT_OPTS[@]}" madison "$KERNEL_PKG" | awk '{print $3}' | sort -V | tail -n 1)
			[ -n "$version" ] || die "$KERNEL_PKG is not in $KERNEL_SUITE any more"
			say "WARNING: pinned $KERNEL_PKG $KERNEL_PKG_VERSION is gone from the mirror; using the newest, $version"
		fi
		(cd "$srcroot" && stage "apt: downloading $KERNEL_PKG $version" "$DYNAMOS_LOGS/download.log" \
			apt-get "${APT_OPTS[@]}" download "$KERNEL_PKG=$version")
		deb=$(ls "$srcroot/${KERNEL_PKG}_"*_all.deb | sort -V | tail -n 1)
	fi
	KVERSION=$(basename "$deb" | sed 's/^[^_]*_//; s/_all\.deb$//')
	KSRC=$srcroot/$KVERSION
	[ -f "$KSRC/.dynamos-unpacked" ] || lock_kernel
	if [ ! -f "$KSRC/.dynamos-unpacked" ]; then
		rm -rf "$KSRC" "$KSRC.tmp"
		mkdir -p "$KSRC.tmp"
		stage "unpacking $KERNEL_PKG $KVERSION" "$DYNAMOS_LOGS/unpack.log" bash -c "
			dpkg-deb -x '$deb' '$KSRC.tmp' &&
			tar -C '$KSRC.tmp' -xf '$KSRC.tmp'/usr/src/$KERNEL_PKG.tar.* &&
			mv '$KSRC.tmp'/$KERNEL_PKG '$KSRC' && rm -rf '$KSRC.tmp'"
		touch "$KSRC/.dynamos-unpacked"
	fi
}

if [ -n "${KSRC:-}" ]; then
	[ -f "$KSRC/Makefile" ] && [ -d "$KSRC/kernel" ] || die "KSRC=$KSRC is not a kernel source tree"
	KSRC=$(cd "$KSRC" && pwd)
	KVERSION=ksrc-$(printf '%s' "$KSRC" | sha256sum | cut -c1-8)
else
	fetch_source
fi

# Bump RECIPE when configure() below changes in a way that alters the result.
RECIPE=1
hash=$( (echo "recipe $RECIPE"; [ ${#KMAKE_CC[@]} -eq 0 ] || echo "${KMAKE_CC[*]}"; cat "${FRAGMENTS[@]}") |
	sha256sum | cut -c1-12)
BUILD=$DYNAMOS_CACHE/build/${KVERSION//\~/-}-$hash
case "${DEBUG:-0}" in 1 | kasan | gcc) BUILD=$BUILD-debug ;; esac

# Every option a fragment asks for must survive olddefconfig; a silently
# dropped option (CONFIG_RUST without a toolchain, say) is an error.
check_config() {
	local frag line opt want bad=()
	for frag in "${FRAGMENTS[@]}"; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*=*)
				opt=${line%%=*} want=${line#*=}
				grep -qxF "$opt=$want" "$BUILD/.config" || bad+=("$line")
				;;
			"# CONFIG_"*" is not set")
				opt=${line#\# } opt=${opt%% *}
				grep -q "^$opt=" "$BUILD/.config" && bad+=("$line")
				;;
			esac
		done <"$frag"
	done
	if [ ${#bad[@]} -gt 0 ]; then
		say "these options did not take effect in $BUILD/.config:"
		printf '  %s\n' "${bad[@]}" >&2
		return 1
	fi
}

configure() {
	make -C "$KSRC" O="$BUILD" "${KMAKE_CC[@]}" tinyconfig &&
		"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$BUILD" "$BUILD/.config" "${FRAGMENTS[@]}" &&
		make -C "$KSRC" O="$BUILD" "${KMAKE_CC[@]}" olddefconfig &&
		make -C "$KSRC" O="$BUILD" "${KMAKE_CC[@]}" rustavailable
}

[ -f "$BUILD/.dynamos-built" ] || lock_kernel
if [ ! -f "$BUILD/.dynamos-built" ]; then
	mkdir -p "$BUILD"
	stage "kernel $KVERSION: configuring ($BUILD)" "$DYNAMOS_LOGS/kernel-config.log" configure
	check_config
	stage "kernel $KVERSION: building with make -j$(nproc) (about $([ ${#KMAKE_CC[@]} -eq 0 ] && echo 5 || echo 11) min on 2 cores)" \
		"$DYNAMOS_LOGS/kernel-build.log" make -C "$KSRC" O="$BUILD" "${KMAKE_CC[@]}" -j"$(nproc)"
	touch "$BUILD/.dynamos-built"
fi
check_layouts "$BUILD"
printf '%s\n' "$BUILD"
