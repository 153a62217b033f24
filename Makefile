# Makefile: builds Hermes out of tree into build/ (libbpf-bootstrap style: BPF object ->
# skeleton header -> user space), installs Debian dependencies (make deps), runs the
# tests and the demo, installs (make install/uninstall: PREFIX, DESTDIR) and packages
# (make deb). Quiet by default; V=1 shows every command. SAN=1 builds with ASan+UBSan
# into build/san.

# The release; the commit is asked of git at build time ("unknown" outside a checkout).
VERSION := 0.13.0
COMMIT := $(shell [ -e .git ] && git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)

SAN ?=
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif
# One spelling per build directory: relative when inside the tree (however it was given:
# tests/run.sh passes an absolute path), so that the dependency files (.d), which name
# targets as they were spelt, match the next make's targets; a mismatch left objects
# stale after a header change.
override BUILD := $(patsubst $(CURDIR)/%,%,$(abspath $(BUILD)))
# Install layout. hermesd looks for $(SYSCONFDIR)/hermes/hermes.yaml when -c is not
# given (compiled in); the systemd unit and man pages follow PREFIX.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/hermes
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
# install -s: the installed programs carry no symbols (hermesd 1.2 MB -> 0.4 MB); the
# build tree keeps them for debugging. INSTALL_STRIP= installs them as built.
INSTALL_STRIP ?= -s

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
LIB_SRCS := userspace/policy.c userspace/log.c userspace/addr.c userspace/pinfs.c userspace/http1.c userspace/version.c \
	userspace/metrics.c userspace/stats.c userspace/buf.c
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
HERMESD_SRCS := $(filter-out $(LIB_SRCS),$(wildcard userspace/*.c))
HERMESD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HERMESD_SRCS))
TOOL_BINS := $(BUILD)/hermesctl $(BUILD)/hermes-top
# hermesctl: tools/ctl/ (main, help, one file per command); hermes-top: tools/top/
# (sampling, filters, views, batch/follow output, the curses view). Both link tools/cli.c.
CTL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/ctl/*.c))
TOP_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/top/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
# Test tools in C, one file each (e.g. wandelay: the delay line of common.sh's wan_up)
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
# the etcd client (etcd.c): libcurl for HTTP(S), jansson for JSON
LIBS_ETCD := $(shell pkg-config --libs libcurl jansson)
LIBS_HERMESD := $(LIBS_BPF) -luring -lyaml -lcap -lnghttp2 -lssl -lcrypto -lsystemd $(LIBS_ETCD)

.DELETE_ON_ERROR:
# Kept, not deleted as intermediates: a deleted unit-test object was compiled again
# whenever anything its binary links changed
.SECONDARY: $(BPF_OBJS) $(SKELS) $(TEST_BPF_OBJS) $(TEST_SKELS) \
	$(patsubst tests/unit/%.c,$(BUILD)/obj/tests/unit/%.o,$(UNIT_SRCS)) \
	$(patsubst tests/bin/%.c,$(BUILD)/obj/tests/bin/%.o,$(TESTBIN_SRCS))
.PHONY: all deps test test-builds test-build-normal test-build-san test-unit demo bench bench-wan bench-intermittent bench-overlay cache-tests soak man install uninstall deb clean FORCE

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

# What --version prints and where hermesd looks for its config. Rewritten only when a
# value changed (a new commit), so that only version.o is rebuilt then.
$(BUILD)/hermes-build.h: FORCE
	$(Q)mkdir -p $(dir $@)
	$(Q)printf '%s\n' '/* hermes-build.h: generated by the Makefile (VERSION, git, SYSCONFDIR) */' \
		'#define HERMES_VERSION "$(VERSION)"' '#define HERMES_COMMIT "$(COMMIT)"' \
		'#define HERMES_CONFIG_DEFAULT "$(SYSCONFDIR)/hermes/hermes.yaml"' >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; printf '  %-8s %s\n' GEN $@; fi
FORCE:

$(BUILD)/obj/userspace/version.o: $(BUILD)/hermes-build.h

$(BUILD)/obj/%.o: %.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/hermesd: $(HERMESD_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_HERMESD) -o $@

# The config loader (config.c and its modules: the key-table walker, the sections' tables,
# print, reload), for hermesctl and the unit tests
CONFIG_OBJS := $(addprefix $(BUILD)/obj/userspace/,config.o cfg_parse.o cfg_net.o cfg_tunnel.o cfg_http.o \
	config_print.o config_reload.o)
# the overlay commands also link the etcd client, the merge of shared documents and the
# config loader (hermes.yaml's etcd section), with libcurl, jansson and libyaml
$(BUILD)/hermesctl: $(CTL_OBJS) $(BUILD)/obj/tools/cli.o $(BUILD)/obj/tools/certs.o $(LIB_OBJS) \
	$(BUILD)/obj/userspace/etcd.o $(BUILD)/obj/userspace/etcd_merge.o $(BUILD)/obj/userspace/etcd_txn.o \
	$(CONFIG_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml $(LIBS_ETCD) -lcrypto -o $@

$(BUILD)/hermes-top: $(TOP_OBJS) $(BUILD)/obj/tools/cli.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lncursesw -o $@

# The tools' modules include tools/cli.h and tools/certs.h, and their own directory's
# headers; the unit tests of a tool's pure modules include them as top/NAME.h.
$(BUILD)/obj/tools/%.o: CFLAGS += -Itools
$(BUILD)/obj/tests/unit/test_top_%.o: CFLAGS += -Itools
$(BUILD)/tests/test_top_filter: $(BUILD)/obj/tools/top/filter.o $(BUILD)/obj/tools/top/util.o
$(BUILD)/tests/test_top_hd: $(BUILD)/obj/tools/top/hd.o $(BUILD)/obj/tools/top/util.o $(BUILD)/obj/tools/cli.o

# Unit tests link the shared library code, the config loader (config.c and its modules:
# the key-table walker, the sections' tables, print, reload) and the http action's pure
# policy modules (routing, retries, the HTTP cache's rules and store) (no root needed).
UNIT_OBJS := $(CONFIG_OBJS) $(addprefix $(BUILD)/obj/userspace/,route.o retry.o outlier.o cache_policy.o \
	cache_key.o cache_store.o siphash.o cache_disk.o)
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJS) $(UNIT_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml -o $@

# test_h2x and test_hmsg also link the h1<->h2 translation (bodies, message heads), and nghttp2
$(BUILD)/tests/test_h2x $(BUILD)/tests/test_hmsg: $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJS) \
		$(BUILD)/obj/userspace/h2x.o $(BUILD)/obj/userspace/hmsg.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lnghttp2 -o $@

# test_h2mux links the HTTP/2 integration alone, and nghttp2 (two sessions in memory)
$(BUILD)/tests/test_h2mux: $(BUILD)/obj/tests/unit/test_h2mux.o $(BUILD)/obj/userspace/h2mux.o \
	$(BUILD)/obj/userspace/buf.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -lnghttp2 -o $@

# test_relay links the relay and the endpoint base alone (fake endpoints, no loop)
$(BUILD)/tests/test_relay: $(BUILD)/obj/tests/unit/test_relay.o $(BUILD)/obj/userspace/relay.o \
	$(BUILD)/obj/userspace/ep.o $(BUILD)/obj/userspace/buf.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

# test_ep_ring links the endpoint base alone (a stream's receive ring)
$(BUILD)/tests/test_ep_ring: $(BUILD)/obj/tests/unit/test_ep_ring.o $(BUILD)/obj/userspace/ep.o \
	$(BUILD)/obj/userspace/buf.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

# test_runtime also links the runtime snapshot and the TLS contexts it makes (OpenSSL)
$(BUILD)/tests/test_runtime: $(BUILD)/obj/tests/unit/test_runtime.o $(LIB_OBJS) $(UNIT_OBJS) \
	$(BUILD)/obj/userspace/runtime.o $(BUILD)/obj/userspace/tls.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml -lssl -lcrypto -o $@

# test_authz also links tunnel_access (authz.c)
$(BUILD)/tests/test_authz: $(BUILD)/obj/tests/unit/test_authz.o $(LIB_OBJS) $(UNIT_OBJS) $(BUILD)/obj/userspace/authz.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml -o $@

# test_overload also links the memory budget's stages (overload.c)
$(BUILD)/tests/test_overload: $(BUILD)/obj/tests/unit/test_overload.o $(LIB_OBJS) $(UNIT_OBJS) \
	$(BUILD)/obj/userspace/overload.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml -o $@

# test_capsule links the Capsule Protocol codec (capsule.c) and the CONNECT-UDP request
# reader (masque.c) with the shared code (the HTTP/1.1 parser)
$(BUILD)/tests/test_capsule: $(BUILD)/obj/tests/unit/test_capsule.o $(LIB_OBJS) $(BUILD)/obj/userspace/capsule.o \
	$(BUILD)/obj/userspace/masque.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -o $@

# test_etcd links the etcd client (its pure parts are tested) and the source's state file
# header, with libcurl, jansson, OpenSSL (base64) and the config loader etcd_src.c uses
# (and test_etcd_merge the merge of shared documents, etcd_merge.c)
ETCD_OBJS := $(addprefix $(BUILD)/obj/userspace/,etcd.o etcd_src.o etcd_state.o etcd_merge.o etcd_status.o)
$(BUILD)/tests/test_etcd $(BUILD)/tests/test_etcd_merge: $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_OBJS) \
	$(UNIT_OBJS) $(ETCD_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml $(LIBS_ETCD) -lcrypto -o $@

# test_overlay links hermesctl's overlay compiler (tools/ctl/overlay_*.c) with the merge
# (hermesd's, etcd_merge.c) and the config loader it checks each node's document with
OVERLAY_OBJS := $(addprefix $(BUILD)/obj/tools/ctl/,overlay_parse.o overlay_compile.o overlay_check.o overlay_yaml.o) \
	$(BUILD)/obj/userspace/etcd_merge.o
$(BUILD)/obj/tests/unit/test_overlay.o: CFLAGS += -Itools
$(BUILD)/tests/test_overlay: $(BUILD)/obj/tests/unit/test_overlay.o $(OVERLAY_OBJS) $(LIB_OBJS) $(UNIT_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_BPF) -lyaml -o $@

# test_heap links the allocator's settings and trim (heap.c) alone
$(BUILD)/tests/test_heap: $(BUILD)/obj/tests/unit/test_heap.o $(BUILD)/obj/userspace/heap.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

# test_tls links the TLS transport, and hermesctl's certificate maker (tools/certs.c) for
# the certificates it makes at run time
$(BUILD)/obj/tests/unit/test_tls.o: CFLAGS += -Itools
$(BUILD)/tests/test_tls: $(BUILD)/obj/tests/unit/test_tls.o $(BUILD)/obj/userspace/tls.o $(BUILD)/obj/tools/certs.o \
	$(BUILD)/obj/userspace/buf.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -lssl -lcrypto -o $@

$(BUILD)/tests/bin/%: $(BUILD)/obj/tests/bin/%.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

# the etcd client's test driver links the client (libcurl, jansson, OpenSSL's base64)
$(BUILD)/tests/bin/etcdc: $(BUILD)/obj/tests/bin/etcdc.o $(BUILD)/obj/userspace/etcd.o
	$(call msg,LD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LIBS_ETCD) -lcrypto -o $@

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

# Every test twice: against the normal build and against the ASan+UBSan build. The two
# builds are made side by side, with the jobs make was given or else one per core (a plain
# `make test`, as CI runs it, built both serially: about a minute of its 20). tests/run.sh
# then runs TEST_JOBS tests at a time (default 3; `make test TEST_JOBS=1` one at a time),
# both builds' runs mixed; see docs/development.md, "Tests".
TEST_BUILD_JOBS = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))
test: deps
	$(Q)$(MAKE) --no-print-directory $(TEST_BUILD_JOBS) test-builds
	$(Q)BUILD=$(BUILD) SAN_BUILD=build/san $(if $(TEST_JOBS),TEST_JOBS=$(TEST_JOBS)) tests/run.sh

test-builds: test-build-normal test-build-san
test-build-normal:
	$(Q)$(MAKE) --no-print-directory all
test-build-san:
	$(Q)$(MAKE) --no-print-directory SAN=1 all

test-unit: all
	$(Q)BUILD=$(BUILD) tests/run.sh unit

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/demo.sh

# make bench [QUICK=1] [RUNS=N]: direct vs every Hermes mode, tunnel and peer proxy in one run (tools/bench/bench.sh;
# BENCH_CONFIGS, BENCH_C10K and the other settings it reads from the environment are listed there);
# writes $(BUILD)/bench/results.{json,md} and PNG plots.
# make bench BASE=DIR [QUICK=1]: A/B mode: DIR is another build directory (make all there) whose
# hermesd is measured beside this build's in every round, on every configuration that runs
# hermesd; the report begins with per-row base and new medians, the change and the run's own spread.
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) BENCH_QUICK=$(QUICK) $(if $(RUNS),RUNS=$(RUNS)) $(if $(BASE),BENCH_BASE=$(BASE)) tools/bench/bench.sh

# make bench-wan [QUICK=1]: the paper's WAN experiment (tools/bench/wan.sh; its WAN_* settings are
# listed there): short HTTPS requests, each on a new connection, 1 to 1000 at once, across a delay
# line of 10, 50 and 100 ms RTT: direct, Hermes tunnel and http, HAProxy mTLS and nghttpx; writes
# $(BUILD)/bench-wan/results.{md,json} and wan_p50.png. Exits 1 on any failed request or
# configuration: QUICK=1 (RTT 50, N = 1 and 100, under a minute) is the check that it still works.
# BASE=DIR: also the hermesd of another build directory, in the same turns (A/B table).
bench-wan: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) WAN_QUICK=$(QUICK) $(if $(BASE),WAN_BASE=$(BASE)) tools/bench/wan.sh

# make bench-intermittent [QUICK=1]: the intermittent-links experiment (tools/bench/intermittent.sh; its INT_*
# settings are listed there): six hosts in a chain whose three middle links take turns being up, wget
# fetching 45 KB..5 MB directly, through a hermesd on every host (CONNECT tunnels, http chains) and
# through squid on every host; writes $(BUILD)/bench-intermittent/results.{md,tsv} and intermittent.png.
bench-intermittent: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) INT_QUICK=$(QUICK) tools/bench/intermittent.sh

# make bench-overlay: issue 19's scale benchmark (tools/bench/overlay.sh; its OV_* settings are listed
# there): 16 hosts as network namespaces, each hermesd configured from a 3-member etcd cluster on three of
# them; 50 route changes written in one etcd transaction each while 1000 flows run across three tunnel
# hops; propagation p50/p99 to the last node, failed flows, hermesd's RSS and CPU at idle; then failures
# (OV_FAILURES=0 skips them): an etcd member killed while changes go on, a relay host killed while
# traffic runs, every etcd member killed. Writes tools/bench/results/overlay/WRITER/results.{md,json} and
# the raw tables; about four minutes. Exit 1 on a failed flow, a change that did not reach every node or
# a failure not survived as it should. OVERLAY_APPLY=hermesctl (default: hermesctl
# overlay apply of the whole overlay), etcdctl (etcdctl txn) or gateway (curl to etcd's JSON gateway) is
# what writes the changes.
bench-overlay: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) $(if $(OVERLAY_APPLY),OVERLAY_APPLY=$(OVERLAY_APPLY)) tools/bench/overlay.sh

# make cache-tests [PROXIES="nginx hermes"]: the public HTTP cache test suite (cache-tests.fyi, npm
# http-cache-tests, installed into $(BUILD)/cache-tests) against nginx proxy_cache, squid, varnish,
# Apache Traffic Server and Hermes as reverse proxies in front of its server, and against the server
# alone (tools/bench/cache-tests.sh; --help lists its settings); writes the suite's JSON per proxy and
# summary.{md,json} into tools/bench/results/cache-tests/. About two minutes; not part of make bench
# (it checks caching behaviour, not speed). Installs node, npm, varnish and trafficserver first.
cache-tests:
	$(Q)tools/deps.sh cache-tests
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/bench/cache-tests.sh $(PROXIES)

# make soak [SOAK_SECONDS=N]: the soak (tests/soak/soak.sh, not part of make test): N seconds (default
# 1800) of proxy, 2-hop tunnel and http load with relay kills, link cuts and reloads, every byte checked,
# then the fuzz targets for longer; report, plot and verdict in $(BUILD)/soak/. Exit 1 on any criterion.
soak: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) $(if $(SOAK_SECONDS),SOAK_SECONDS=$(SOAK_SECONDS)) tests/soak/soak.sh

# make lint [V=1] [LINT_TOOL=cppcheck|clang-tidy]: the static analysis (tools/lint.sh): cppcheck and
# clang-tidy over userspace/, tools/, bpf/ and the tests' C (tests/unit, fuzz, bin, bpf) with the
# settings in .clang-tidy and tools/lint/, given this Makefile's -std, -D and -I; exit 1 on any
# finding. Needs the skeletons (the BPF build, the tests' too), not the rest of the build. About 5 minutes on 2 cores, nearly all clang-tidy's analyzer.
# LINT_TIDY_CHECKS='-clang-analyzer-*' make lint: the quick pass without the analyzer (about 10 s).
.PHONY: lint
lint: $(SKELS) $(TEST_SKELS) $(BUILD)/hermes-build.h
	$(Q)BUILD=$(BUILD) V=$(V) LINT_CFLAGS='$(filter -std=% -D% -I%,$(CFLAGS))' \
		LINT_BPF_CFLAGS='$(filter-out -W%,$(BPF_CFLAGS))' tools/lint.sh $(LINT_TOOL)

# Man pages: each program's --help (the one source) in roff, plus what the page adds in
# packaging/man/PROG.inc (tools/help2roff.awk).
MAN_PAGES := $(BUILD)/man/hermesd.8 $(BUILD)/man/hermesctl.8 $(BUILD)/man/hermes-top.8
MAN_DATE := $(shell [ -e .git ] && git log -1 --format=%cs 2>/dev/null || date -u +%F)

$(BUILD)/man/%.8: $(BUILD)/% packaging/man/%.inc tools/help2roff.awk
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BUILD)/$* --help | awk -f tools/help2roff.awk -v prog=$* -v section=8 -v version=$(VERSION) \
		-v date=$(MAN_DATE) packaging/man/$*.inc - >$@

man: $(MAN_PAGES)

# make install [PREFIX=/usr/local] [DESTDIR=]: the programs, man pages, the systemd unit
# (written from packaging/hermesd.service.in for these paths; never enabled or started
# here) and $(SYSCONFDIR)/hermes/hermes.yaml, which is never overwritten: an existing one
# is kept and the shipped one is always in $(DOCDIR) to compare.
install: $(BUILD)/hermesd $(TOOL_BINS) $(MAN_PAGES)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/hermes
	$(Q)install -m 0755 $(INSTALL_STRIP) $(BUILD)/hermesd $(DESTDIR)$(SBINDIR)/
	$(Q)install -m 0755 $(INSTALL_STRIP) $(TOOL_BINS) $(DESTDIR)$(BINDIR)/
	$(Q)install -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man8/
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@CONFIG@|$(SYSCONFDIR)/hermes/hermes.yaml|g' \
		packaging/hermesd.service.in >$(DESTDIR)$(UNITDIR)/hermesd.service.tmp
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/hermesd.service.tmp && mv $(DESTDIR)$(UNITDIR)/hermesd.service.tmp $(DESTDIR)$(UNITDIR)/hermesd.service
	$(Q)install -m 0644 etc/hermes.yaml $(DESTDIR)$(DOCDIR)/hermes.yaml
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml ]; then \
		echo "  keeping $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml (the shipped one is $(DOCDIR)/hermes.yaml)"; \
	else \
		install -m 0644 etc/hermes.yaml $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml; \
	fi

# make uninstall: removes what install wrote; the config only when it is still the
# shipped one (an edited config is the operator's and stays).
uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/hermesd $(DESTDIR)$(BINDIR)/hermesctl $(DESTDIR)$(BINDIR)/hermes-top \
		$(DESTDIR)$(MANDIR)/man8/hermesd.8 $(DESTDIR)$(MANDIR)/man8/hermesctl.8 $(DESTDIR)$(MANDIR)/man8/hermes-top.8 \
		$(DESTDIR)$(UNITDIR)/hermesd.service
	$(Q)if cmp -s etc/hermes.yaml $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml || \
	       cmp -s $(DESTDIR)$(DOCDIR)/hermes.yaml $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml ]; then \
		echo "  keeping $(DESTDIR)$(SYSCONFDIR)/hermes/hermes.yaml (edited)"; \
	fi
	$(Q)rm -f $(DESTDIR)$(DOCDIR)/hermes.yaml
	$(Q)rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/hermes 2>/dev/null || true

# make deb: a Debian package of this build, staged with make install PREFIX=/usr under
# $(BUILD)/deb/debian/hermes (where dpkg-shlibdeps expects it), man pages gzipped,
# /etc/hermes/hermes.yaml a conffile, Depends from the programs' shared libraries, and
# maintainer scripts that never enable or start hermesd (packaging/deb).
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_VERSION ?= $(VERSION)
DEB_MAINTAINER ?= Hermes developers <hermes@localhost>
DEB_STAGE = $(BUILD)/deb/debian/hermes
DEB := $(BUILD)/hermes_$(DEB_VERSION)_$(DEB_ARCH).deb

deb: $(BUILD)/hermesd $(TOOL_BINS) $(MAN_PAGES)
	$(call msg,DEB,$(DEB))
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(DEB_STAGE)/DEBIAN
	$(Q)$(MAKE) --no-print-directory install BUILD=$(BUILD) PREFIX=/usr SYSCONFDIR=/etc DESTDIR=$(abspath $(DEB_STAGE)) >/dev/null
	$(Q)gzip -9n $(DEB_STAGE)/usr/share/man/man8/*.8
	$(Q)echo /etc/hermes/hermes.yaml >$(DEB_STAGE)/DEBIAN/conffiles
	$(Q)install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $(DEB_STAGE)/DEBIAN/
	$(Q)printf 'Source: hermes\n\nPackage: hermes\nArchitecture: any\n' >$(BUILD)/deb/debian/control
	$(Q)deps=$$(cd $(BUILD)/deb && dpkg-shlibdeps -O -edebian/hermes/usr/sbin/hermesd \
		-edebian/hermes/usr/bin/hermesctl -edebian/hermes/usr/bin/hermes-top | sed -n 's/^shlibs:Depends=//p') && \
	size=$$(du -sk --exclude=DEBIAN $(DEB_STAGE) | cut -f1) && \
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' -e 's|@MAINTAINER@|$(DEB_MAINTAINER)|' \
	    -e "s|@SIZE@|$$size|" -e "s|@DEPENDS@|$$deps|" -e 's|@COMMIT@|$(COMMIT)|' \
	    packaging/deb/control.in >$(DEB_STAGE)/DEBIAN/control
	$(Q)dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE) $(DEB) >/dev/null

clean:
	$(call msg,CLEAN,build)
	$(Q)rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
