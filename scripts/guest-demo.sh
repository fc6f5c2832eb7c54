#!/bin/bash
# Runs inside the demo VM (see scripts/demo.sh): loads dynamos and the
# sample patches and shows, step by step, what they change.
set -e
cd "$(dirname "$0")/.."
D=/sys/kernel/dynamos
F=$D/functions/cmdline_proc_show
step() { printf '\n$ %s\n' "$*"; eval "$@"; }
wait_state() {
	for _ in $(seq 500); do
		[ "$(cat "$D/patches/$1/state")" = "$2" ] && return 0
		sleep 0.01
	done
	echo "patch $1 did not reach $2" >&2
	return 1
}
marker="dynamos demo: start"
echo "$marker" >/dev/kmsg

echo "== dynamos demo: kernel $(uname -r)"
step "cut -c1-60 /proc/cmdline"
step insmod dynamos.ko
step cat $D/version
step insmod patches/hello/dynamos_hello.ko
step cat $D/patches/dynamos_hello/state
step insmod patches/cmdline/dynamos_cmdline.ko
wait_state dynamos_cmdline enabled
step cat $D/patches/dynamos_cmdline/state
step cat /proc/cmdline
step "ls $F/editions; cat $F/policy"
printf '\n# switch new calls back to the original (edition 0), then to edition 1\n'
step "echo 0 > $F/default; cut -c1-60 /proc/cmdline"
step "echo 1 > $F/default; cat /proc/cmdline"
step "grep . $F/editions/*/calls"
step "rmmod dynamos_cmdline || true"
step "echo 0 > $D/patches/dynamos_cmdline/enabled"
wait_state dynamos_cmdline disabled
step "cut -c1-60 /proc/cmdline"
step rmmod dynamos_cmdline dynamos_hello
step rmmod dynamos
printf '\n== kernel messages from dynamos\n'
dmesg | sed 's/^\[[ 0-9.]*\] //' | awk -v m="$marker" 'p; $0 == m { p = 1 }' | grep '^dynamos'
printf '\n== dynamos demo: done\n'
