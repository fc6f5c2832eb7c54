#!/bin/bash
# Runs inside the demo VM (see scripts/demo.sh). Loads dynamos and the
# sample patch and shows the result.
set -e
cd "$(dirname "$0")/.."
step() { printf '\n$ %s\n' "$*"; eval "$@"; }
marker="dynamos demo: start"
echo "$marker" >/dev/kmsg

echo "== dynamos demo: kernel $(uname -r)"
step insmod dynamos.ko
step cat /sys/kernel/dynamos/version
step insmod patches/hello/dynamos_hello.ko
step ls -l /sys/kernel/dynamos/patches/
step cat /sys/kernel/dynamos/patches/dynamos_hello/state
step "rmmod dynamos || true"
step rmmod dynamos_hello
step rmmod dynamos
step "ls /sys/kernel/dynamos 2>&1 || true"
printf '\n== kernel messages from dynamos\n'
dmesg | sed 's/^\[[ 0-9.]*\] //' | awk -v m="$marker" 'p; $0 == m { p = 1 }' | grep '^dynamos'
printf '\n== dynamos demo: done\n'
