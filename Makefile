# SPDX-License-Identifier: GPL-2.0
# Convenience targets. Every target works from a fresh clone: missing host
# packages, the guest kernel and the tools are set up on first use (cached in
# $(DYNAMOS_CACHE), default ~/.cache/dynamos).
#
#   make            build dynamos.ko, the patches, the test modules and the
#                   dynamos command (tools/dynamos)
#   make tool       only the dynamos command and its man page
#   make run        boot a VM, load dynamos and a sample patch, show the effect
#   make check      build, then run every selftest in one VM boot
#   make bench      benchmark dynamos against livepatch (TCG and -icount runs)
#   make stress     load, fault and hostile-input campaign on the debug kernel
#   make shell      interactive shell in the VM, modules at hand
#   make kernel     only fetch and build the guest kernel
#   make fmt        format the Rust sources (kernel rustfmt settings)
#   make install    dynamos.ko into the module tree of the kernel it was
#                   built for (depmod), the dynamos command and its man page
#                   (DESTDIR=, PREFIX= default /usr/local); make uninstall
#   make clean      remove build products from the tree
#
# Variables: KDIR=<built kernel>, KSRC=<kernel source tree>, DEBUG=1 (debug
# kernel, built by clang: lockdep, atomic-sleep, kmemleak, UBSAN, hung-task
# checks, KASAN, fault injection), DEBUG=gcc (the same without KASAN and
# fault injection, built by GCC), DYNAMOS_CACHE=<dir>, V=1 (show the whole
# guest console).

export KDIR KSRC DEBUG DYNAMOS_CACHE V

.PHONY: all modules tool kernel deps run demo check bench stress shell fmt clean install uninstall

all: modules

deps:
	@scripts/deps.sh

kernel:
	@scripts/build.sh kernel

modules:
	@scripts/build.sh modules

tool:
	@scripts/deps.sh
	@scripts/tool.sh

fmt:
	@scripts/fmt.sh

install: modules
	@scripts/install.sh

uninstall:
	@scripts/install.sh --uninstall

run demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

bench:
	@scripts/bench.sh

stress:
	@scripts/stress.sh

shell:
	@scripts/vm.sh --interactive

clean:
	@if [ -s .kdir ]; then $(MAKE) -C "$$(cat .kdir)" M=$(CURDIR) clean; fi
	rm -rf .results .kdir
