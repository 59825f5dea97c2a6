# Top-level build.  Everything is discovered from the layout:
#   lib/**/*.c                -> $(B)/liblivepatch.a
#   <dir>/*.c  (TOOL_DIRS)    -> $(B)/bin/<last part of dir>
#   test/unit/*.c             -> $(B)/test/unit/<name>     (C unit tests, TAP output)
#   test/helpers/*.c          -> $(B)/test/helpers/<name>  (programs the bats suites use)
# `make SANITIZE=1 ...` builds everything with ASan+UBSan into a separate tree.

VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
CC        ?= gcc
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),1)
B         ?= build/san
SANFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B         ?= build/release
SANFLAGS  :=
endif

WARN      := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS    ?= -O2 -g
# -ffile-prefix-map: the same commit built in any folder gives the same binaries, so
# livepatch-build's cache key (which hashes its compiler wrapper) does not depend on where
# the tools were built or installed.
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -ffile-prefix-map=$(CURDIR)=. -Iinclude -Ilib \
             -DLP_VERSION=\"$(VERSION)\" -D_GNU_SOURCE -MMD -MP
LDLIBS    := -ldw -lelf -lz -lopcodes -lbfd -lxxhash -lcrypto
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
# create-diff-object starts once per object pair when run by hand or by a script (a
# header fix: hundreds), so what its start costs counts.  As shared libraries, libbfd and
# libopcodes (the disassembler of --explain) cost every start some 1.5 ms of relocation and
# 200 page faults, and the dynamic loader alone, with libc, 0.1-0.2 ms of a small pair's
# 1 ms; linked statically, into a position-dependent program, none (`create-diff-object
# --version`: 0.2 ms of CPU; bench/diff.sh prints its wall time).  Its inputs are objects a
# build just compiled, so a fixed load address costs it no protection worth having.  libdw's
# debuginfod client, which it never asks for (lib/differ/layout.c finds no debug files),
# would pull in a dlopen that static glibc warns of: --wrap points it at nodlopen.c, which
# fails.  The sanitizer build keeps the shared libraries.
ifneq ($(SANITIZE),1)
$(B)/bin/create-diff-object: ALL_LDFLAGS += -static -no-pie -Wl,--wrap=dlopen
$(B)/bin/create-diff-object: LDLIBS := -ldw -lelf -lopcodes -lbfd -lsframe -liberty -lz -llzma \
                                       -lbz2 -lzstd -lxxhash
endif

# Folders whose .c files make one program each, named after the folder.
TOOL_DIRS := create-diff-object livepatch-tool livepatch-build/lp-buildid livepatch-build/livepatch-gcc
# livepatch-build/driver: the livepatch-build program.  DRIVER_PROG are its own files (the
# flow); the rest are the step modules, which lp-build-helper (a front end to them for tests
# and debugging, its own main.c) links too.
DRIVER_PROG := $(addprefix livepatch-build/driver/,main.c options.c report.c proc.c cache.c \
               patch.c build.c diffs.c payload.c strv.c)
DRIVER_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(filter-out $(DRIVER_PROG),$(wildcard livepatch-build/driver/*.c)))

LIB_SRC   := $(sort $(wildcard lib/*.c lib/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/obj/%.o)
LIB       := $(B)/liblivepatch.a
TOOL_BINS := $(foreach t,$(TOOL_DIRS),$(if $(wildcard $(t)/*.c),$(B)/bin/$(notdir $(t)))) \
             $(B)/bin/lp-build-helper $(B)/bin/livepatch-build
UNIT_SRC  := $(sort $(wildcard test/unit/*.c))
UNIT_BINS := $(UNIT_SRC:test/unit/%.c=$(B)/test/unit/%)
HELP_SRC  := $(sort $(wildcard test/helpers/*.c))
HELP_BINS := $(HELP_SRC:test/helpers/%.c=$(B)/test/helpers/%)

.PHONY: all deps check check-xen demo bench install clean fuzz sanitize samples
all: $(LIB) $(TOOL_BINS)

deps:
	@./scripts/install-deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# (Makefile too: a source moved out of lib/ must leave the archive)
$(LIB): $(LIB_OBJ) Makefile
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(LIB_OBJ)

define tool_rule
$(B)/bin/$(notdir $(1)): $(patsubst %.c,$(B)/obj/%.o,$(wildcard $(1)/*.c)) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOL_DIRS),$(eval $(call tool_rule,$(t))))

$(B)/bin/lp-build-helper: $(patsubst %.c,$(B)/obj/%.o,$(wildcard livepatch-build/lp-build-helper/*.c)) $(DRIVER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/livepatch-build: $(patsubst %.c,$(B)/obj/%.o,$(DRIVER_PROG)) $(DRIVER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

# (the #line fixer is the driver's, not the library's)
$(B)/test/unit/test_fixlines: $(B)/obj/livepatch-build/driver/fixlines.o

$(B)/test/unit/%: $(B)/obj/test/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test/helpers/%: $(B)/obj/test/helpers/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

tests: all $(UNIT_BINS) $(HELP_BINS)

# `make check` installs what is missing, builds, and runs every C unit test and bats
# suite; it ends with one line "N passed, N failed[, N skipped]".
check: deps
	@$(MAKE) --no-print-directory -j$(JOBS) tests
	@LP_BUILD=$(CURDIR)/$(B) ./test/run-tests.sh

# `make check-xen` is the real-Xen suite (test/xen/run.sh): Debian's Xen 4.17 built through
# livepatch-build and booted under QEMU; payloads applied by the real hypervisor.  It fetches
# and installs what it needs itself, and ends with the same summary line.
check-xen: deps
	@$(MAKE) --no-print-directory -j$(JOBS) tests
	@LP_BUILD=$(CURDIR)/$(B) ./test/xen/run.sh

demo: deps
	@$(MAKE) -s --no-print-directory -j$(JOBS) all
	@LP_BUILD=$(CURDIR)/$(B) ./scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory -j$(JOBS) tests
	@LP_BUILD=$(CURDIR)/$(B) ./bench/run.sh

fuzz: deps
	@$(MAKE) --no-print-directory -C fuzz

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/include/livepatch \
	    $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/share/doc/livepatch-tools \
	    $(DESTDIR)$(PREFIX)/libexec/livepatch-tools
	for t in $(TOOL_BINS); do install -m 755 $$t $(DESTDIR)$(PREFIX)/bin/; done
	install -m 644 include/livepatch/*.h $(DESTDIR)$(PREFIX)/include/livepatch/
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 README.md $(wildcard docs/*.md) $(DESTDIR)$(PREFIX)/share/doc/livepatch-tools/

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
.SECONDARY:
