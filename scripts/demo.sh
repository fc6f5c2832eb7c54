#!/usr/bin/env bash
# `make run`: boot the guest, load dynamos and the sample patch, show what
# they did (sysfs and kernel messages), unload, power off.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$DYNAMOS_TOP/scripts/build.sh" modules
say "booting the demo VM (console log: ${DYNAMOS_RESULTS:-$DYNAMOS_TOP/.results}/demo-console.log)"
exec "$DYNAMOS_TOP/scripts/vm.sh" --filter --timeout 300 \
	--log "${DYNAMOS_RESULTS:-$DYNAMOS_TOP/.results}/demo-console.log" -- "$DYNAMOS_TOP/scripts/guest-demo.sh"
