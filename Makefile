# hpcnode — see README.md. `make deps` installs what everything else needs.
.DEFAULT_GOAL := all

# Debian bookworm packages, the one list: build, tests and benchmarks.
DEPS_PKGS := gcc make pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
	libcmocka-dev libmount-dev libsystemd-dev libjson-c-dev libssl-dev libmd-dev liburing-dev squashfs-tools util-linux \
	qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu busybox-static cpio kmod xz-utils zstd groff-base \
	systemd-journal-remote \
	cargo rustc librust-serde-dev librust-serde-derive-dev librust-serde-json-dev librust-thiserror-dev

VERSION := 0.4.0
BUILD ?= build
SANITIZE ?= 0

PKG_LIBS := mount libbpf libsystemd json-c libcrypto libmd
CC ?= cc
CFLAGS_BASE := -std=gnu11 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	-D_GNU_SOURCE -DHND_VERSION=\"$(VERSION)\" -fPIC -fvisibility=hidden -Iinclude -Iuser/lib -Iuser/daemon -Itests/lib
ifeq ($(SANITIZE),1)
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS_BASE := -fsanitize=address,undefined
else ifeq ($(SANITIZE),ub)
# UBSan alone: the arm64 build, run only under TCG, where ASan's shadow
# checks cost the most (see arm64-bins)
CFLAGS_BASE += -O1 -fsanitize=undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS_BASE := -fsanitize=undefined
else
CFLAGS_BASE += -O2
LDFLAGS_BASE :=
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null)
PKG_LDLIBS = $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null)
ALL_CFLAGS = $(CFLAGS_BASE) -I$(BUILD)/bpf $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs mount libbpf libcrypto libmd 2>/dev/null) -lelf -lz -lpthread
DAEMON_LDLIBS = $(PKG_LDLIBS) -lelf -lz -lpthread

# BPF: CO-RE objects from bpf/*.bpf.c against the committed vmlinux.h.
# hpcnode's programs are one job per file, linked (bpftool gen object)
# into one object with one copy of each map (bpf/hpcnode.bpf.h) and one
# skeleton; the probe and the benchmarks' floor are objects of their own.
# ARCH names the kernel's architecture as vmlinux/ and __TARGET_ARCH_ do:
# the build machine's by default, ARCH=arm64 to build the BPF side for
# aarch64 nodes from an x86-64 one (make test does, as a build check).
ARCH ?= $(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x86)
VMLINUX_H := vmlinux/$(ARCH)/vmlinux.h
HN_BPF_PARTS := ownership record cgroup_structure control_guard placement_guard kill_attribution mount_guard self_guard \
	self_witness
HN_BPF_OBJS := $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(HN_BPF_PARTS))
# The compat object: the same parts built with HN_BPF_COMPAT, for kernels
# without what Linux 5.11-5.17 added (bpf/compat.bpf.h); the loader picks it
# by probe and opens it through hpcnode's skeleton, so the two skeletons
# must be alike but for their names (checked when it is built).
HN_COMPAT_OBJS := $(patsubst %,$(BUILD)/bpf/compat/%.bpf.o,$(HN_BPF_PARTS))
BPF_ALONE := $(filter-out $(HN_BPF_PARTS),$(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c)))
BPF_SKELS := $(BUILD)/bpf/hpcnode.skel.h $(BUILD)/bpf/hpcnode_compat.skel.h \
	$(patsubst %,$(BUILD)/bpf/%.skel.h,$(BPF_ALONE))
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Ivmlinux/$(ARCH) -Iinclude

LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB_A := $(BUILD)/libhpcnode.a
LIB_SO := $(BUILD)/libhpcnode.so

DEMO := $(BUILD)/hn-demo
DAEMON := $(BUILD)/hpcnoded
DAEMON_SRCS := $(wildcard user/daemon/*.c)
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(DAEMON_SRCS))
CTL := $(BUILD)/hpcnodectl
# the CLI verifies the audit chain with the daemon's own code
CTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard user/ctl/*.c)) $(BUILD)/user/daemon/audit_chain.o

TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_LIB_SRCS))
TEST_SRCS := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
TEST_BINS := $(patsubst %.c,$(BUILD)/%,$(TEST_SRCS))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst %.c,$(BUILD)/%,$(BENCH_SRCS))

.PHONY: all deps test-tools run demo test test-host test-vm test-bins rust-bins bench bench-vm bench-systemd clean vmlinux vmlinux-arm64 bpf arm64-bins arm64-rust-bins test-arm64 install fuzz fuzz-bins ub-bins
# Keep objects of test and bench programs: they are intermediates of a
# pattern chain, which make would otherwise delete and rebuild every time.
.SECONDARY:
all: $(LIB_A) $(LIB_SO) $(DEMO) $(DAEMON) $(CTL)

# What only the tests use, unpacked from Debian's packages rather than
# installed: promtool (installing prometheus would start a server).
test-tools:
	@tests/lib/promtool-fetch.sh >/dev/null

# Idempotent and quiet: asks dpkg first, touches apt only for what is missing.
deps:
	@missing=$$(for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq >/dev/null && \
		apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

$(BUILD)/%.o: %.c $(wildcard include/hpcnode/*.h user/lib/*.h user/daemon/*.h user/ctl/*.h tests/lib/*.h) | $(BUILD)/.dirs
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Tests build paths in fixed buffers sized for the scratch roots they use;
# GCC's truncation guesses about them are noise there, not in the library.
$(BUILD)/tests/%.o: CFLAGS += -Wno-format-truncation

$(BUILD)/.dirs:
	@mkdir -p $(BUILD)
	@touch $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) $(wildcard bpf/*.h include/hpcnode/*.h)
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/compat/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) $(wildcard bpf/*.h include/hpcnode/*.h)
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -DHN_BPF_COMPAT -c $< -o $@

$(BUILD)/bpf/hpcnode.bpf.o: $(HN_BPF_OBJS)
	bpftool gen object $@ $^

$(BUILD)/bpf/hpcnode_compat.bpf.o: $(HN_COMPAT_OBJS)
	bpftool gen object $@ $^

# Same programs, maps and globals in the same layout, or no skeleton.
$(BUILD)/bpf/hpcnode_compat.skel.h: $(BUILD)/bpf/hpcnode_compat.bpf.o $(BUILD)/bpf/hpcnode.skel.h
	bpftool gen skeleton $< name hpcnode_compat > $@.tmp
	@sed -n '/^struct hpcnode_compat {/,/^};/p' $@.tmp | sed 's/hpcnode_compat/hpcnode/g' > $@.layout
	@sed -n '/^struct hpcnode {/,/^};/p' $(BUILD)/bpf/hpcnode.skel.h | diff -u - $@.layout >&2 || \
		{ echo "the compat object's skeleton differs from hpcnode's (above)" >&2; rm -f $@.tmp $@.layout; exit 1; }
	@rm -f $@.layout
	@mv $@.tmp $@

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	bpftool gen skeleton $< name $* > $@

# Library code, tests and benchmarks include the skeletons.
$(LIB_OBJS): $(BPF_SKELS)
$(patsubst %.c,$(BUILD)/%.o,$(TEST_SRCS) $(TEST_LIB_SRCS) $(BENCH_SRCS)): | $(BPF_SKELS)

# Only the BPF objects and skeletons (make ARCH=arm64 BUILD=build/arm64 bpf).
bpf: $(BPF_SKELS)

# aarch64: the test build cross-compiled (Debian's gcc-aarch64-linux-gnu)
# against a bookworm arm64 root of -dev packages (tests/vm/rootfs-fetch.sh),
# which is also the arm64 guest's /; the VM suite runs it in
# qemu-system-aarch64.
ARM64_ENV = R=$$(tests/vm/rootfs-fetch.sh bookworm arm64) && PKG_CONFIG_SYSROOT_DIR=$$R \
	PKG_CONFIG_LIBDIR=$$R/usr/lib/aarch64-linux-gnu/pkgconfig:$$R/usr/share/pkgconfig
# The arm64 VMs alone (make test runs them beside the others).
test-arm64: arm64-bins rust-bins
	@$(MAKE) --no-print-directory arm64-rust-bins
	@HN_VM_KERNELS=linux-image-6.12-arm64 HN_VM_SYSTEMD=0 tests/vm/run-all.sh
# UBSan without ASan: memory errors are not architecture-specific and ASan
# runs on the host and every x86-64 kernel, while under arm64 TCG its
# shadow checks made the arm64 VMs the longest of make test.
arm64-bins:
	@$(ARM64_ENV) $(MAKE) --no-print-directory BUILD=build/arm64-test ARCH=arm64 SANITIZE=ub \
		CC="aarch64-linux-gnu-gcc --sysroot=$$R" test-bins

# The 6.1 and 6.12 VMs' build: UBSan without ASan, the Rust tests beside
# it (after rust-bins). ASan runs on the host (every feature but BPF LSM)
# and in the 5.10 VM (BPF LSM, enforce mode, and the fallbacks of a kernel
# without cgroup.kill or bpf_loop): every userspace path 6.1 and 6.12
# take runs under ASan in one of them. ASan's cost is the VMs' largest
# that is not the work itself: every hpcnodectl start took 276 ms under it
# and 71 ms without, test_api 218 s and 170 s (6.12 VM alone), and in
# make test the 6.1 VM took 763 s of CPU without it, the 6.12 VM 889 s
# with it (2026-12-06); the VMs share two cores.
UB_BUILD := build/ub-test
ub-bins:
	@$(MAKE) --no-print-directory BUILD=$(UB_BUILD) SANITIZE=ub test-bins
	@rm -rf $(UB_BUILD)/rust && if [ -d build/test/rust ]; then cp -r build/test/rust $(UB_BUILD)/rust; fi

# Regenerates the committed vmlinux.h from the running kernel's BTF. CO-RE
# relocates every field access at load time, so one header serves every
# kernel with BTF; regenerate only to reach types newer kernels add.
vmlinux:
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_H)

# arm64's from the BTF inside Debian's newest arm64 kernel image (trixie's),
# read out by tests/vm/kernel-fetch.sh: no arm64 machine needed.
vmlinux-arm64:
	kdir=$$(tests/vm/kernel-fetch.sh trixie/linux-image-arm64) && \
		bpftool btf dump file "$$kdir/btf" format c > vmlinux/arm64/vmlinux.h

$(LIB_A): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(LIB_SO): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libhpcnode.so.0 $(LDFLAGS_BASE) -o $@ $^ $(LDLIBS_ALL)

$(DEMO): $(BUILD)/user/demo/hn_demo.o $(LIB_A)
	$(CC) $(LDFLAGS_BASE) -o $@ $^ $(LDLIBS_ALL)

$(DAEMON): $(DAEMON_OBJS) $(LIB_A)
	$(CC) $(LDFLAGS_BASE) -o $@ $^ $(DAEMON_LDLIBS)

# The CLI needs only json-c (and libcrypto for audit verify): it speaks
# the API, not the library.
$(CTL): $(CTL_OBJS)
	$(CC) $(LDFLAGS_BASE) -o $@ $^ $(shell pkg-config --libs json-c libcrypto libmd 2>/dev/null)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_LIB_OBJS) $(LIB_A)
	$(CC) $(LDFLAGS_BASE) -o $@ $^ -lcmocka $(DAEMON_LDLIBS)
# Unit tests of the daemon's own parsers link the object they test.
$(BUILD)/tests/unit/test_json_strict: $(BUILD)/user/daemon/json_strict.o
$(BUILD)/tests/unit/test_config: $(BUILD)/user/daemon/config.o
# the protocol fuzz test tells malformed mutants from valid ones with it
$(BUILD)/tests/integration/test_api: $(BUILD)/user/daemon/json_strict.o

# Built without sanitizers: it runs inside scopes under memory limits, where
# ASan's shadow reservations would only blur what the test measures.
# liburing: the io_uring paths an agent could take into a slice.
HELPER := $(BUILD)/tests/helper/hn_test_helper
$(HELPER): tests/helper/hn_test_helper.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -o $@ $< $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)

test-bins: $(TEST_BINS) $(HELPER) $(DAEMON) $(CTL)

# The main job: hpcnoded in the foreground on the cgroup2 mount, every audit
# record printed as it happens (and appended to /var/log/hpcnode/audit.jsonl).
# /etc/hpcnode/hpcnoded.conf is read if present. Ctrl-C stops it.
run:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	$(DAEMON) --foreground

# The library demo in a scratch cgroup root, removed afterwards.
demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	$(DEMO)

# Host suites, and beside them every suite again inside each VM kernel
# (tests/vm/), with one closing total.
# The builds use every core (make test is run without -j; they took 3.5
# minutes serially before the VMs could start).
NPROC := $(shell nproc 2>/dev/null || echo 2)
test:
	@$(MAKE) --no-print-directory deps test-tools
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build/test SANITIZE=1 test-bins
	@$(MAKE) --no-print-directory -j$(NPROC) arm64-bins
	@$(MAKE) --no-print-directory -j$(NPROC) rust-bins
	@$(MAKE) --no-print-directory -j$(NPROC) arm64-rust-bins
	@$(MAKE) --no-print-directory -j$(NPROC) fuzz-bins
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build/install all # the systemd VM's
	@$(MAKE) --no-print-directory -j$(NPROC) ub-bins
	@tests/run-all.sh

test-host:
	@$(MAKE) --no-print-directory deps test-tools
	@$(MAKE) --no-print-directory BUILD=build/test SANITIZE=1 test-bins
	@$(MAKE) --no-print-directory arm64-bins
	@$(MAKE) --no-print-directory rust-bins
	@tests/run-suites.sh build/test host

test-vm:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build/test SANITIZE=1 test-bins
	@$(MAKE) --no-print-directory arm64-bins
	@$(MAKE) --no-print-directory rust-bins
	@$(MAKE) --no-print-directory BUILD=build/install all # the systemd VM's
	@$(MAKE) --no-print-directory ub-bins
	@tests/vm/run-all.sh

# The Rust crate (user/rust/): offline, from Debian's registry, with
# whichever cargo is first on PATH. Built without its feature, then its
# tests with the hpc-node feature against the stand-in generated from the
# seeds; the test binaries are copied to build/test/rust/, where
# tests/run-suites.sh runs them on the host and in the VMs (the daemon
# tests start build/test/hpcnoded). The doc example is compiled here.
# The cargo lines start with "+": make hands them its jobserver, which
# cargo joins (without it, every -j build warned the jobserver was gone).
SEEDS ?= $(firstword $(wildcard ../shared/spec/seeds /work/shared/spec/seeds))
RUST_ENV := RUSTFLAGS="-D warnings" RUSTDOCFLAGS="-D warnings" CARGO_TARGET_DIR=$(CURDIR)/build/rust/target
rust-bins:
	@if [ -n "$(SEEDS)" ]; then tests/rust/hpc-node-standin.sh "$(SEEDS)" build/rust/hpc-node; \
	else tests/rust/hpc-node-standin.sh --placeholder build/rust/hpc-node; \
		echo "rust: SKIP: no seeds at ../shared/spec/seeds (SEEDS=): the hpc-node feature is not built"; fi
	+@feature=$$([ -n "$(SEEDS)" ] && echo --features=hpc-node); cd user/rust && \
		$(RUST_ENV) cargo build --offline --quiet && \
		$(RUST_ENV) cargo test --offline --quiet $$feature --no-run --message-format=json-render-diagnostics \
			> $(CURDIR)/build/rust/artifacts.json && \
		$(RUST_ENV) cargo test --offline --quiet $$feature --doc > $(CURDIR)/build/rust/doctest.out && \
		$(RUST_ENV) cargo doc --offline --quiet --no-deps $$feature
	@rm -rf build/test/rust && mkdir -p build/test/rust && \
		sed -n 's/.*"target":{[^}]*"name":"\([^"]*\)".*"executable":"\([^"]*\)".*/\1 \2/p' build/rust/artifacts.json | \
		while read -r name exe; do cp "$$exe" "build/test/rust/$$name"; done && \
		echo "rust: test binaries in build/test/rust: $$(ls build/test/rust | tr '\n' ' ')"

# The same test binaries for aarch64, into build/arm64-test/rust/ (after
# rust-bins, which makes the stand-in): Debian's own rustc and cargo (the
# arm64 root's libstd-rust-dev is built for exactly that compiler, so
# whichever cargo is first on PATH will not do), the standard library
# from that root as the target's sysroot, and Debian's cross gcc to link
# against the root's libc.
ARM64_RUST_ENV = RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TARGET_DIR=$(CURDIR)/build/rust/arm64-target \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
	RUSTFLAGS="-D warnings --sysroot=$$R/usr -C link-arg=--sysroot=$$R"
arm64-rust-bins:
	+@feature=$$([ -n "$(SEEDS)" ] && echo --features=hpc-node); R=$$(tests/vm/rootfs-fetch.sh bookworm arm64) && \
		cd user/rust && $(ARM64_RUST_ENV) /usr/bin/cargo test --offline --quiet $$feature --no-run \
		--target aarch64-unknown-linux-gnu --message-format=json-render-diagnostics \
		> $(CURDIR)/build/rust/arm64-artifacts.json
	@rm -rf build/arm64-test/rust && mkdir -p build/arm64-test/rust && \
		sed -n 's/.*"target":{[^}]*"name":"\([^"]*\)".*"executable":"\([^"]*\)".*/\1 \2/p' build/rust/arm64-artifacts.json | \
		while read -r name exe; do cp "$$exe" "build/arm64-test/rust/$$name"; done && \
		echo "rust: arm64 test binaries in build/arm64-test/rust: $$(ls build/arm64-test/rust | tr '\n' ' ')"

# libFuzzer targets (tests/fuzz/): clang, with ASan and UBSan, each
# linked with only the parser it tests. `make test` runs each briefly
# (tests/fuzz/run.sh), `make fuzz` for FUZZ_SECONDS each.
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -DHND_VERSION=\"$(VERSION)\" \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
	-Iinclude -Iuser/lib -Iuser/daemon -Itests/fuzz $(shell pkg-config --cflags json-c 2>/dev/null)
FUZZ_SECONDS ?= 600
build/fuzz/obj/%.o: %.c $(wildcard include/hpcnode/*.h user/lib/*.h user/daemon/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@
build/fuzz/fuzz_request: build/fuzz/obj/user/daemon/json_strict.o
build/fuzz/fuzz_config: build/fuzz/obj/user/daemon/config.o build/fuzz/obj/user/lib/attribution.o build/fuzz/obj/user/lib/error.o
build/fuzz/fuzz_names: build/fuzz/obj/user/lib/cgroup_path.o build/fuzz/obj/user/lib/slice_owner.o build/fuzz/obj/user/lib/error.o
build/fuzz/fuzz_emergency: build/fuzz/obj/user/lib/emergency.o build/fuzz/obj/user/lib/clock.o \
	build/fuzz/obj/user/lib/cgroup_path.o build/fuzz/obj/user/lib/fileio.o build/fuzz/obj/user/lib/error.o
build/fuzz/fuzz_audit_tail: build/fuzz/obj/user/daemon/audit_tail.o build/fuzz/obj/user/daemon/audit_chain.o \
	build/fuzz/obj/user/lib/error.o
build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(shell pkg-config --libs json-c libcrypto libmd 2>/dev/null)
fuzz-bins: $(FUZZ_BINS)

fuzz:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory fuzz-bins
	@tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

bench:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build/bench $(patsubst $(BUILD)/%,build/bench/%,$(BENCH_BINS) $(DAEMON))
	@for b in $(patsubst $(BUILD)/%,build/bench/%,$(BENCH_BINS)); do $$b || exit 1; done

# The same benchmarks inside Debian's 6.12 kernel (BPF LSM, v2 controllers).
# TCG: only the ratios mean anything there.
bench-vm:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory BUILD=build/bench $(patsubst $(BUILD)/%,build/bench/%,$(BENCH_BINS) $(DAEMON))
	@kdir=$$(tests/vm/kernel-fetch.sh linux-image-6.12-amd64) && tests/vm/run-vm.sh "$$kdir" bench-6.12 \
		'for b in $(patsubst $(BUILD)/%,build/bench/%,$(BENCH_BINS)); do $$b || exit 1; done'

# systemd_scope in the systemd VM (Debian's 6.12 and systemd 252 as PID
# 1, hpcnoded.service installed and running): systemd-run --scope against
# hpcnode's scopes. A benchmark, not a test: make test no longer spends
# the VM's three minutes of TCG on it.
bench-systemd:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build/install all build/install/tests/bench/systemd_scope
	@HN_VM_KERNELS= HN_VM_SYSTEMD_BENCH=1 tests/vm/run-all.sh

# Install layout (FHS); DESTDIR for staging and packaging.
PREFIX ?= /usr
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/hpcnode
UNITDIR ?= $(LIBDIR)/systemd/system
SYSCONFDIR ?= /etc

# The library (static, and shared as libhpcnode.so.0), its headers and
# pkg-config file, the daemon, hpcnodectl with its bash completion, the unit (ExecStart pointed at SBINDIR), the
# example configuration (installed as the configuration only where none
# exists: an operator's file is never overwritten), man pages and docs.
install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/hpcnode $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/hpcnode
	install -m 0644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libhpcnode.a
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libhpcnode.so.0
	ln -sf libhpcnode.so.0 $(DESTDIR)$(LIBDIR)/libhpcnode.so
	install -m 0644 include/hpcnode/*.h $(DESTDIR)$(INCLUDEDIR)/hpcnode/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' user/lib/libhpcnode.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libhpcnode.pc
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/hpcnoded
	install -m 0755 $(CTL) $(DESTDIR)$(BINDIR)/hpcnodectl
	install -m 0644 user/ctl/hpcnodectl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/hpcnodectl
	sed -e 's|^ExecStart=/usr/sbin/hpcnoded|ExecStart=$(SBINDIR)/hpcnoded|' user/daemon/hpcnoded.service \
		> $(DESTDIR)$(UNITDIR)/hpcnoded.service
	install -m 0644 user/daemon/hpcnoded.conf $(DESTDIR)$(DOCDIR)/hpcnoded.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/hpcnode/hpcnoded.conf ] || \
		install -m 0644 user/daemon/hpcnoded.conf $(DESTDIR)$(SYSCONFDIR)/hpcnode/hpcnoded.conf
	install -m 0644 docs/man/hpcnodectl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/man/hpcnoded.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/man/hpcnoded.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 README.md docs/api.md docs/socket-api.md docs/daemon.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build
