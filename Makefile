# Makefile: builds Hermes out of tree into build/ (libbpf-bootstrap style: BPF object ->
# skeleton header -> user space), installs Debian dependencies (make deps) and runs the
# tests and the demo. Quiet by default; V=1 shows every command. SAN=1 builds with
# ASan+UBSan into build/san.

SAN ?=
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif
PREFIX ?= /usr/local

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -MMD -MP -D_GNU_SOURCE -Iinclude -Iuserspace -I$(BUILD) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
BPF_CFLAGS := -g -O2 -target bpf -D__BPF__ -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Iinclude -Ibpf -I$(BUILD)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Code shared by hermesd, hermesctl and the unit tests.
LIB_SRCS := userspace/policy.c userspace/log.c userspace/addr.c userspace/pinfs.c userspace/http1.c userspace/metrics.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
HERMESD_SRCS := $(filter-out $(LIB_SRCS),$(wildcard userspace/*.c))
HERMESD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HERMESD_SRCS))
TOOL_BINS := $(BUILD)/hermesctl $(BUILD)/hermes-top
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
TESTBIN_SRCS := $(wildcard tests/bin/*.c)
TESTBIN_BINS := $(patsubst tests/bin/%.c,$(BUILD)/tests/bin/%,$(TESTBIN_SRCS))
# Test-only BPF programs (tests/bpf/*.bpf.c, e.g. impair: a TC link cutter) and their
# skeletons, kept apart from hermesd's; only their loaders in tests/bin link them.
TEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
TEST_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/bpf/%.bpf.o,$(TEST_BPF_SRCS))
TEST_SKELS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/bpf/%.skel.h,$(TEST_BPF_SRCS))
BENCH_SRCS := $(wildcard tools/bench/*.c)
BENCH_BINS := $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

LIBS_BPF := -lbpf -lelf -lz
LIBS_HERMESD := $(LIBS_BPF) -luring -lyaml -lcap -lnghttp2 -lssl -lcrypto

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS) $(TEST_BPF_OBJS) $(TEST_SKELS)
.PHONY: all deps test test-unit demo bench install clean

all: $(BUILD)/hermesd $(TOOL_BINS) $(UNIT_BINS) $(TESTBIN_BINS)

deps:
	$(Q)tools/deps.sh

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/bpf/%.skel.h: $(BUILD)/tests/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/obj/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/hermesd: $(HERMESD_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_HERMESD) -o $@

$(BUILD)/hermesctl: $(BUILD)/obj/tools/hermesctl.o $(BUILD)/obj/tools/cli.o $(BUILD)/obj/tools/certs.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lcrypto -o $@

$(BUILD)/hermes-top: $(BUILD)/obj/tools/hermes-top.o $(BUILD)/obj/tools/cli.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lncursesw -o $@

# Unit tests link the shared library code and the config parser (no root needed).
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJS) $(BUILD)/obj/userspace/config.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml -o $@

$(BUILD)/tests/bin/%: $(BUILD)/obj/tests/bin/%.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

# the TC link cutter's loader (test-only) needs its skeleton and libbpf
$(BUILD)/obj/tests/bin/impair.o: $(BUILD)/tests/bpf/impair.skel.h
$(BUILD)/tests/bin/impair: $(BUILD)/obj/tests/bin/impair.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -o $@

$(BUILD)/bench/%: $(BUILD)/obj/tools/bench/%.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

$(BUILD)/bpf:
	$(Q)mkdir -p $@

# Every test twice: against the normal build, then against the ASan+UBSan build.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory SAN=1 all
	$(Q)BUILD=$(BUILD) SAN_BUILD=build/san tests/run.sh

test-unit: all
	$(Q)BUILD=$(BUILD) tests/run.sh unit

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/demo.sh

# make bench [QUICK=1] [RUNS=N]: direct vs every Hermes mode, tunnel and peer proxy in one run (tools/bench/bench.sh;
# BENCH_CONFIGS, BENCH_C10K and the other settings it reads from the environment are listed there);
# writes $(BUILD)/bench/results.{json,md} and PNG plots.
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) BENCH_QUICK=$(QUICK) $(if $(RUNS),RUNS=$(RUNS)) tools/bench/bench.sh

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX)/bin)
	$(Q)install -d $(DESTDIR)$(PREFIX)/bin
	$(Q)install -m 0755 $(BUILD)/hermesd $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	$(call msg,CLEAN,build)
	$(Q)rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
