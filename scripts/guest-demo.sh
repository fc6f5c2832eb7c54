#!/bin/bash
# Runs inside the demo VM (see scripts/demo.sh): loads dynamos and the
# sample patches and shows, step by step, what they change.
# State is shown, and transitions waited for, by the dynamos command
# (tools/dynamos), as a user would.
set -e
cd "$(dirname "$0")/.."
PATH=$PWD/tools/dynamos/target/release:$PATH
step() { printf '\n$ %s\n' "$*"; eval "$@"; }
marker="dynamos demo: start"
echo "$marker" >/dev/kmsg

echo "== dynamos demo: kernel $(uname -r)"
step "cut -c1-60 /proc/cmdline"
step insmod dynamos.ko
step dynamos status
printf '\n# dynamos load: insmod, and wait until the patch is enabled\n'
step dynamos load patches/hello/dynamos_hello.ko
step dynamos load patches/cmdline/dynamos_cmdline.ko
step cat /proc/cmdline
step dynamos status
printf '\n# switch new calls back to the original (edition 0), then to edition 1\n'
step "dynamos default cmdline_proc_show 0; cut -c1-60 /proc/cmdline"
step "dynamos default cmdline_proc_show 1; cat /proc/cmdline"
step dynamos status
printf '\n# an enabled patch'"'"'s module cannot be removed\n'
step "rmmod dynamos_cmdline || true"
step dynamos disable dynamos_cmdline
step "cut -c1-60 /proc/cmdline"
step dynamos unload dynamos_cmdline
step dynamos unload dynamos_hello
step rmmod dynamos
printf '\n== kernel messages from dynamos\n'
dmesg | sed 's/^\[[ 0-9.]*\] //' | awk -v m="$marker" 'p; $0 == m { p = 1 }' | grep '^dynamos'
printf '\n== dynamos demo: done\n'
