#!/usr/bin/env bash
# Install what building and testing dynamos needs on a Debian 12 host, and
# nothing twice: every step first checks whether its result is already there.
#
#   scripts/deps.sh            host packages, rust-src, bindgen, virtme-ng
#
# Debian packages go to the system (as root); bindgen and virtme-ng go to the
# cache ($DYNAMOS_CACHE/tools and $DYNAMOS_CACHE/venv), never globally.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Debian 12 (bookworm main) packages for the kernel build and the VM runner.
BOOKWORM_PKGS=(
	build-essential bc bison flex cpio kmod udev xz-utils
	libelf-dev libssl-dev python3-venv
	"clang-$LLVM_VERSION" "libclang-$LLVM_VERSION-dev"
	# The debug kernel is built by clang (KASAN with Rust needs it).
	"lld-$LLVM_VERSION" "llvm-$LLVM_VERSION"
)
# From bookworm-backports: plain bookworm's qemu 7.2 clashes with the
# machine's qemu-utils 10.0.2.
BACKPORTS_PKGS=(qemu-system-x86)

missing_pkgs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			printf '%s\n' "$p"
	done
}

install_pkgs() {
	local missing=() bp=()
	mapfile -t missing < <(missing_pkgs "${BOOKWORM_PKGS[@]}")
	mapfile -t bp < <(missing_pkgs "${BACKPORTS_PKGS[@]}")
	[ ${#missing[@]} -eq 0 ] && [ ${#bp[@]} -eq 0 ] && return 0
	apt_private_init
	stage "apt: package lists" "$DYNAMOS_LOGS/apt-update.log" apt-get "${APT_OPTS[@]}" update
	if [ ${#missing[@]} -gt 0 ]; then
		stage "apt: installing ${missing[*]}" "$DYNAMOS_LOGS/apt-install.log" \
			as_root env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "${missing[@]}"
	fi
	if [ ${#bp[@]} -gt 0 ]; then
		stage "apt: installing ${bp[*]} from $QEMU_SUITE" "$DYNAMOS_LOGS/apt-install-bpo.log" \
			as_root env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y --no-install-recommends -t "$QEMU_SUITE" "${bp[@]}"
	fi
}

install_rust_src() {
	local sysroot
	sysroot=$(rustc --print sysroot)
	[ -d "$sysroot/lib/rustlib/src/rust/library" ] && return 0
	stage "rustup: rust-src" "$DYNAMOS_LOGS/rustup.log" rustup component add rust-src
}

install_bindgen() {
	if [ "$("$DYNAMOS_CACHE/tools/bin/bindgen" --version 2>/dev/null)" = "bindgen $BINDGEN_VERSION" ]; then
		return 0
	fi
	stage "cargo: bindgen-cli $BINDGEN_VERSION" "$DYNAMOS_LOGS/bindgen.log" \
		cargo install bindgen-cli --version "$BINDGEN_VERSION" --locked --root "$DYNAMOS_CACHE/tools"
}

install_virtme_ng() {
	if [ -x "$DYNAMOS_CACHE/venv/bin/vng" ] &&
		[ "$("$DYNAMOS_CACHE/venv/bin/vng" --version 2>/dev/null)" = "virtme-ng $VIRTME_NG_VERSION" ]; then
		return 0
	fi
	stage "pip: virtme-ng $VIRTME_NG_VERSION" "$DYNAMOS_LOGS/virtme-ng.log" bash -c "
		python3 -m venv '$DYNAMOS_CACHE/venv' &&
		'$DYNAMOS_CACHE/venv/bin/pip' install --disable-pip-version-check 'virtme-ng==$VIRTME_NG_VERSION'"
}

# The crates of the dynamos command, at the exact versions of its
# Cargo.toml (the lock file cargo writes beside it is not kept in git), so
# that its build (scripts/tool.sh) works offline from then on.
fetch_cmd_crates() {
	local toml=$DYNAMOS_TOP/tools/dynamos/Cargo.toml stamp=$DYNAMOS_CACHE/cmd-crates.sha
	local sum
	sum=$(sha256sum "$toml" | cut -c1-64)
	[ -f "${toml%.toml}.lock" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sum" ] && return 0
	stage "cargo: crates of tools/dynamos" "$DYNAMOS_LOGS/cargo-fetch.log" \
		cargo fetch --manifest-path "$toml"
	printf '%s\n' "$sum" >"$stamp"
}

command -v cargo >/dev/null || die "cargo/rustup not found: install Rust with rustup first (rustc >= 1.85)"
install_pkgs
install_rust_src
install_bindgen
install_virtme_ng
fetch_cmd_crates
