#!/usr/bin/env bats
# lp-build-helper's tree commands: the cache key of a source tree (tree-key), copying
# its sources (copy-tree), and setting up a patched work tree (prepare), which must
# agree with what the driver's shell functions did: the objects named by the
# dependency files, untouched times, and the #line fixing of `diff -U0 | awk`.

load test_helper
bats_require_minimum_version 1.5.0

setup() {
    T="$BATS_TEST_TMPDIR"
    cd "$T" || return 1
    need_built lp-build-helper
}

# A small source tree with build products and version-control data mixed in.
make_src() {
    mkdir -p src/xen/common src/xen/include/xen src/.git src/out src/xen/arch/.svn
    printf 'int a;\n' >src/xen/common/a.c
    printf '#define H 1\n' >src/xen/include/xen/h.h
    printf 'all:\n' >src/xen/Makefile
    ln -s xen/Makefile src/Makefile
    touch -d '2020-01-02 03:04:05.123456789' src/xen/common/a.c
}

# Build products, VCS data and an output folder: none of it is source.
add_noise() {
    printf 'obj' >src/xen/common/a.o
    printf 'dep' >src/xen/common/.a.o.d
    printf 'cmd' >src/xen/common/.a.o.cmd
    printf 'lib' >src/xen/common/built_in.a
    printf 'img' >src/xen/xen
    printf 'img' >src/xen/xen-syms
    printf 'img' >src/xen/xen.gz
    printf 'x' >src/.git/HEAD
    printf 'x' >src/xen/arch/.svn/entries
    printf 'x' >src/out/result.livepatch
    printf 'x' >src/out/log
    printf 'x' >src/xen/common/a.c.orig
    printf 'CONFIG_X=y\n' >src/xen/.config
}

# The shell's fix_lines, the reference: GNU diff's hunks, then the directives.
ref_fix_lines() {
    diff -U0 -- "$1" "$2" | awk '
        /^@@ / {
            split(substr($2, 2), o, ","); split(substr($3, 2), n, ",");
            ob = (2 in o) ? o[2] + 0 : 1; nb = (2 in n) ? n[2] + 0 : 1;
            if (ob == nb) next;
            nextold = ob ? o[1] + ob : o[1] + 1;
            nextnew = nb ? n[1] + nb : n[1] + 1;
            print nextnew, nextold }' >"$3.lines"
    awk 'FILENAME == ARGV[1] { at[$1] = $2; next }
         FNR in at { pend = at[FNR]; have = 1 }
         have && prev !~ /\\$/ { print "#line " pend; have = 0 }
         { print; prev = $0; if (have) pend++ }' "$3.lines" "$2" >"$3"
    rm -f -- "$3.lines"
}

# Every path with its type, mode, size, mtime (ns) and content hash.
snapshot() {
    (cd "$1" && find . -printf '%y %p %m %s %T@ %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# A built tree, faked: sources, objects, images and the dependency files make writes.
make_built() {
    mkdir -p "$1/xen/common" "$1/xen/include/xen" "$1/xen/arch/x86"
    printf 'int a(void)\n{\n\treturn 1;\n}\n\nint b(void)\n{\n\treturn __LINE__;\n}\n' \
        >"$1/xen/common/a.c"
    printf 'int c;\n' >"$1/xen/common/c.c"
    printf 'int t;\n' >"$1/xen/arch/x86/t.c"
    printf '#define H 1\n' >"$1/xen/include/xen/h.h"
    printf '#define UNUSED 1\n' >"$1/xen/include/xen/unused.h"
    printf 'common/a.o: common/a.c include/xen/h.h \\\n include/xen/lib.h\ninclude/xen/h.h:\n' \
        >"$1/xen/common/a.d"
    printf 'common/c.o: common/c.c\n' >"$1/xen/common/.c.o.d"
    printf 'arch/x86/t.o: arch/x86/t.c \\\n  include/xen/h.h\n' >"$1/xen/arch/x86/t.d"
    for o in common/a.o common/c.o arch/x86/t.o common/built_in.a; do printf 'o' >"$1/xen/$o"; done
    printf 'img' >"$1/xen/xen-syms"
    printf 'img' >"$1/xen/xen"
    printf 'map' >"$1/xen/xen.map"
    printf 'CONFIG_LIVEPATCH=y\n' >"$1/xen/.config"
    : >"$1/.complete"
    touch -d '2020-01-02 03:04:05.5' "$1/xen/common/a.c" "$1/xen/include/xen/h.h"
}

@test "tree-key: 32 hex digits, the same for a copy with other times" {
    make_src
    run lp-build-helper tree-key src
    assert_success
    assert_output --regexp '^[0-9a-f]{32}$'
    key=$output
    cp -r src copy # new times, same contents
    run lp-build-helper tree-key copy
    assert_success
    assert_output "$key"
    run lp-build-helper tree-key "$T/src/"
    assert_output "$key"
}

@test "tree-key: one byte of one source changes the key" {
    make_src
    key=$(lp-build-helper tree-key src)
    printf 'int b;\n' >src/xen/common/a.c
    run lp-build-helper tree-key src
    assert_success
    refute_output "$key"
    printf 'int a;\n' >src/xen/common/a.c
    run lp-build-helper tree-key src
    assert_output "$key"
}

@test "tree-key: build products, VCS data and pruned folders do not count" {
    make_src
    key=$(lp-build-helper tree-key src --prune out)
    add_noise
    run lp-build-helper tree-key src --prune out
    assert_success
    assert_output "$key"
    run lp-build-helper tree-key src --prune ./out/
    assert_output "$key"
    run lp-build-helper tree-key src
    refute_output "$key"
    # A source file named like a pruned folder elsewhere still counts.
    mkdir -p src/xen/out && printf 'x' >src/xen/out/f.c
    run lp-build-helper tree-key src --prune out
    refute_output "$key"
}

# The user built the Xen they run in their tree: what that build made is not source.
@test "tree-key and copy-tree: a tree built in place has its clean copy's key, and its products are not copied" {
    cp -a "$LP_ROOT/samples/hv" clean
    key=$(lp-build-helper tree-key clean)
    cp -a clean built
    cp built/config built/xen/.config
    make -s -C built/xen XEN_BUILD_DATE=d XEN_BUILD_TIME=t CONFIG_ENFORCE_UNIQUE_SYMBOLS=y >/dev/null
    # The build made Kbuild-style records, generated headers and images.
    [ -f built/xen/common/.domctl.o.cmd ]
    [ -f built/xen/include/generated/autoconf.h ]
    [ -f built/xen/xen-syms ]
    run lp-build-helper tree-key built
    assert_success
    assert_output "$key"
    # Kbuild's rule: a file with a .NAME.cmd record beside it was made by the build.
    printf 'generated\n' >built/xen/common/made.h
    printf 'cmd_common/made.h := gen\n' >built/xen/common/.made.h.cmd
    run lp-build-helper tree-key built
    assert_output "$key"
    rm built/xen/common/.made.h.cmd
    run lp-build-helper tree-key built
    refute_output "$key"
    rm built/xen/common/made.h
    run lp-build-helper copy-tree built copy
    assert_success
    [ -f copy/xen/common/domctl.c ]
    [ ! -e copy/xen/include/generated ]
    [ ! -e copy/xen/xen-syms ]
    [ ! -e copy/xen/common/domctl.o ]
    run lp-build-helper tree-key copy
    assert_output "$key"
}

@test "tree-key: a symbolic link counts by its target; salts count in order" {
    make_src
    key=$(lp-build-helper tree-key src)
    ln -sfn xen/common/a.c src/Makefile
    run lp-build-helper tree-key src
    refute_output "$key"
    ln -sfn xen/Makefile src/Makefile
    run lp-build-helper tree-key src
    assert_output "$key"
    a=$(lp-build-helper tree-key src --salt x --salt y)
    b=$(lp-build-helper tree-key src --salt y --salt x)
    [ "$a" != "$b" ]
    [ "$a" != "$key" ]
    # Salts are NUL-terminated: "ab" is not "a" then "b".
    a=$(lp-build-helper tree-key src --salt ab)
    b=$(lp-build-helper tree-key src --salt a --salt b)
    [ "$a" != "$b" ]
}

@test "tree-key: usage errors exit 2, a missing tree 1 naming it" {
    run lp-build-helper tree-key
    assert_failure 2
    run lp-build-helper tree-key src --bogus
    assert_failure 2
    run lp-build-helper tree-key "$T/nothing"
    assert_failure 1
    assert_output --partial "lp-build-helper: tree-key: $T/nothing"
}

@test "copy-tree: sources only, with modes and nanosecond mtimes, links as links" {
    make_src
    add_noise
    chmod 750 src/xen/Makefile
    run lp-build-helper copy-tree src dest --prune out
    assert_success
    [ "$(stat -c %y dest/xen/common/a.c)" = "$(stat -c %y src/xen/common/a.c)" ]
    [ "$(stat -c %a dest/xen/Makefile)" = 750 ]
    [ -L dest/Makefile ]
    [ "$(readlink dest/Makefile)" = xen/Makefile ]
    files=$(cd dest && find . -mindepth 1 \( -type f -o -type l \) -printf '%P\n' | LC_ALL=C sort)
    [ "$files" = "$(printf '%s\n' Makefile xen/Makefile xen/common/a.c xen/include/xen/h.h)" ]
    # The copy hashes like the original.
    [ "$(lp-build-helper tree-key dest)" = "$(lp-build-helper tree-key src --prune out)" ]
}

@test "prepare: prints the objects whose dependency files name a touched header" {
    make_built base
    mkdir -p src/xen/include/xen
    printf '#define H 2\n' >src/xen/include/xen/h.h
    printf 'xen/include/xen/h.h\nxen/include/xen/h.h\n' >list
    run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
        --config base/xen/.config
    assert_success
    assert_output "$(printf 'arch/x86/t.o\ncommon/a.o')"
    # Only sources were copied, times kept; the patched header is in.
    [ ! -e tree/xen/common/a.o ]
    [ ! -e tree/xen/xen-syms ]
    [ ! -e tree/xen/xen ]
    [ ! -e tree/xen/xen.map ]
    [ ! -e tree/.complete ]
    [ -f tree/xen/common/a.d ]
    [ -f tree/xen/common/.c.o.d ]
    [ "$(stat -c %y tree/xen/common/a.c)" = "$(stat -c %y base/xen/common/a.c)" ]
    [ "$(cat tree/xen/include/xen/h.h)" = "#define H 2" ]
}

@test "prepare: a touched file no object depends on is named and left out, not a full build" {
    make_built base
    mkdir -p src/xen/include/xen
    printf '#define UNUSED 2\n' >src/xen/include/xen/unused.h
    printf '#define H 2\n' >src/xen/include/xen/h.h
    printf 'xen/include/xen/h.h\nxen/include/xen/unused.h\n' >list
    run --separate-stderr lp-build-helper prepare --base base --prev base --tree tree --src src \
        --touched list --config base/xen/.config
    assert_success
    assert_output $'arch/x86/t.o\ncommon/a.o'
    [[ $stderr == *"xen/include/xen/unused.h: no object of this build depends on it"* ]]
}

@test "prepare: a file only, or a non-source, or --full means a full build" {
    make_built base
    mkdir -p src/xen/include/xen
    printf '#define UNUSED 2\n' >src/xen/include/xen/unused.h
    printf 'xen/include/xen/unused.h\n' >list
    run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
        --config base/xen/.config
    assert_success
    assert_output ""
    # A full copy: objects and images too, the finished-build mark gone.
    [ -f tree/xen/common/a.o ]
    [ -f tree/xen/xen-syms ]
    [ ! -e tree/.complete ]
    # Not a source under xen/: full as well; so is --full.
    printf 'Makefile\n' >list2
    run lp-build-helper prepare --base base --prev base --tree tree2 --src src --touched list2 \
        --config base/xen/.config
    assert_success
    assert_output ""
    printf 'xen/include/xen/h.h\n' >list3
    run lp-build-helper prepare --base base --prev base --tree tree3 --src src --touched list3 \
        --config base/xen/.config --full
    assert_success
    assert_output ""
}

@test "prepare: Xen's .NAME.o.cmd records (fixdep) name the objects to remake" {
    make_built base
    rm base/xen/common/a.d base/xen/common/.c.o.d base/xen/arch/x86/t.d
    # As Kbuild's fixdep writes them: the command, the source, the headers, and
    # $(wildcard ...) entries for configuration options.
    cat >base/xen/common/.a.o.cmd <<'CMD'
cmd_common/a.o := /some/where/livepatch-gcc -c common/a.c -o common/.a.o.tmp -MQ common/a.o

source_common/a.o := common/a.c

deps_common/a.o := \
    $(wildcard include/config/debug.h) \
  include/xen/lib.h \

common/a.o: $(deps_common/a.o)

$(deps_common/a.o):
CMD
    cat >base/xen/arch/x86/.t.o.cmd <<'CMD'
cmd_arch/x86/t.o := gcc -c arch/x86/t.c -o arch/x86/.t.o.tmp -MQ arch/x86/t.o

source_arch/x86/t.o := arch/x86/t.c

deps_arch/x86/t.o := \
  include/xen/h.h \
    $(wildcard include/config/h.h) \

arch/x86/t.o: $(deps_arch/x86/t.o)

$(deps_arch/x86/t.o):
CMD
    # A .cmd of something that is not an object names nothing.
    printf 'cmd_common/x.S := cpp\nsource_common/x.S := include/xen/h.h\n' >base/xen/common/.x.S.cmd
    mkdir -p src/xen/include/xen src/xen/common
    printf '#define H 2\n' >src/xen/include/xen/h.h
    printf 'int a(void) { return 2; }\n' >src/xen/common/a.c
    printf 'xen/include/xen/h.h\n' >list
    run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
        --config base/xen/.config
    assert_success
    assert_output "arch/x86/t.o"
    printf 'xen/common/a.c\nxen/include/xen/h.h\n' >list2
    run lp-build-helper prepare --base base --prev base --tree tree2 --src src --touched list2 \
        --config base/xen/.config
    assert_success
    assert_output $'arch/x86/t.o\ncommon/a.o'
    # An object Xen turns into an init object (its .t.init.o.cmd record is there) is made
    # through it: only that target gives it -DINIT_SECTIONS_ONLY.
    printf 'cmd_arch/x86/t.init.o := objcopy\n' >base/xen/arch/x86/.t.init.o.cmd
    run lp-build-helper prepare --base base --prev base --tree tree3 --src src --touched list2 \
        --config base/xen/.config
    assert_success
    assert_output $'arch/x86/t.init.o\ncommon/a.o'
}

@test "prepare: an unchanged touched file keeps its mtime; .config is written if it differs" {
    make_built base
    mkdir -p src/xen/common
    cp -p base/xen/common/c.c src/xen/common/c.c
    touch src/xen/common/c.c
    printf 'xen/common/c.c\n' >list
    printf 'CONFIG_LIVEPATCH=y\n' >config
    run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
        --config config
    assert_success
    assert_output "common/c.o"
    [ "$(stat -c %y tree/xen/common/c.c)" = "$(stat -c %y base/xen/common/c.c)" ]
    [ "$(stat -c %y tree/xen/.config)" = "$(stat -c %y base/xen/.config)" ]
    printf 'CONFIG_LIVEPATCH=y\nCONFIG_DEBUG=y\n' >config
    run lp-build-helper prepare --base base --prev base --tree tree2 --src src --touched list \
        --config config
    assert_success
    cmp config tree2/xen/.config
}

@test "prepare: a hunk that adds lines gets a #line after it; --no-fix-lines copies as is" {
    make_built base
    mkdir -p src/xen/common
    printf 'int a(void)\n{\n\tint x = 1;\n\n\treturn x;\n}\n\nint b(void)\n{\n\treturn __LINE__;\n}\n' \
        >src/xen/common/a.c
    printf 'xen/common/a.c\n' >list
    run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
        --config base/xen/.config
    assert_success
    assert_output "common/a.o"
    ref_fix_lines base/xen/common/a.c src/xen/common/a.c ref.c
    cmp ref.c tree/xen/common/a.c
    run grep -n '^#line' tree/xen/common/a.c
    assert_output "6:#line 4"
    run lp-build-helper prepare --base base --prev base --tree tree2 --src src --touched list \
        --config base/xen/.config --no-fix-lines
    assert_success
    cmp src/xen/common/a.c tree2/xen/common/a.c
}

@test "prepare: a deleted file goes, a new one comes; nothing is written outside TREE" {
    make_built base
    cp -a base prev
    printf 'int new;\n' >prev/xen/common/new.c
    mkdir -p src/xen/common
    printf 'int c2;\n' >src/xen/common/n2.c
    printf 'xen/common/new.c\nxen/common/n2.c\n' >list
    printf 'CONFIG_LIVEPATCH=y\nCONFIG_OTHER=y\n' >config
    snapshot base >base.before
    snapshot prev >prev.before
    snapshot src >src.before
    run lp-build-helper prepare --base base --prev prev --tree tree --src src --touched list \
        --config config
    assert_success
    assert_output ""
    [ ! -e tree/xen/common/new.c ]
    [ -f tree/xen/common/n2.c ]
    cmp config tree/xen/.config
    diff base.before <(snapshot base)
    diff prev.before <(snapshot prev)
    diff src.before <(snapshot src)
}

@test "prepare: a work tree that is not empty, or a path out of the tree, is refused" {
    make_built base
    mkdir -p src tree
    : >tree/x
    printf 'xen/common/a.c\n' >list
    run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
        --config base/xen/.config
    assert_failure 1
    assert_output --partial "tree: exists and is not an empty folder"
    printf 'xen/../../etc/passwd\n' >list
    run lp-build-helper prepare --base base --prev base --tree tree2 --src src --touched list \
        --config base/xen/.config
    assert_failure 1
    run lp-build-helper prepare --base base --prev base --tree tree3
    assert_failure 2
}

@test "prepare: the #line fixing of every sample patch matches diff -U0 | awk" {
    cp -a "$LP_ROOT/samples/hv" base
    checked=0
    expect_files 11 patches "$LP_ROOT"/samples/patches/*.patch
    for p in "${patches[@]}"; do
        n=$(basename "$p" .patch)
        rm -rf src tree
        mkdir src
        awk '/^(\+\+\+|---) / { p = substr($0, 5); sub(/\t.*/, "", p); if (p == "/dev/null") next
                                 sub(/^[^\/]*\//, "", p); print p }' "$p" | sort -u >list
        while IFS= read -r f; do
            mkdir -p "src/$(dirname "$f")"
            [ ! -e "base/$f" ] || cp -p "base/$f" "src/$f"
        done <list
        (cd src && patch -s -p1 -N -f --fuzz=0 <"$p" >/dev/null 2>&1) || continue
        run lp-build-helper prepare --base base --prev base --tree tree --src src --touched list \
            --config base/config --full
        assert_success
        while IFS= read -r f; do
            if [ -f "base/$f" ] && [[ $f == *.[chS] ]]; then
                ref_fix_lines "base/$f" "src/$f" ref
            else
                cp "src/$f" ref
            fi
            cmp ref "tree/$f" || { echo "$n: $f differs from the shell's fix_lines" >&2; false; }
            checked=$((checked + 1))
        done <list
    done
    [ "$checked" -ge 9 ]
}

# The shell driver's make_tree, the reference for make-rules: the --eval rules for
# targets Xen's top Makefile has no rule for.
ref_make_rules() {
    local tree=$1 t d rules=
    shift
    if [[ -f $tree/xen/Rules.mk ]]; then
        for t in "$@"; do
            d=${t%/*}
            [[ $d == "$t" ]] && continue
            [[ $t != *.init.o && -f $tree/xen/$d/Makefile ]] && continue
            while [[ $d == */* && ! -f $tree/xen/$d/Makefile ]]; do d=${d%/*}; done
            [[ -f $tree/xen/$d/Makefile ]] || continue
            rules+="$t: tools_fixdep FORCE ; \$(Q)\$(MAKE) \$(build)=$d $t"$'\n'
        done
    fi
    [[ -n $rules ]] && rules=--eval=$'ifeq ($(MAKELEVEL),0)\n'"${rules}endif"
    printf '%s' "$rules"
}

@test "make-rules: init objects and objects of a folder without a Makefile get a rule" {
    # A Kbuild tree: xen/Rules.mk; common/compat has no Makefile (common's builds it),
    # nor has other/deep or other (no folder up to xen/ builds them).
    mkdir -p mk/xen/common/compat mk/xen/arch/x86 mk/xen/other/deep
    : >mk/xen/Rules.mk
    : >mk/xen/Makefile
    : >mk/xen/common/Makefile
    : >mk/xen/arch/x86/Makefile
    targets=(common/a.o common/compat/domain.o arch/x86/setup.init.o top.o other/deep/x.o
        common/compat/kernel.init.o)
    run lp-build-helper make-rules mk "${targets[@]}"
    assert_success
    assert_output - <<'RULES'
--eval=ifeq ($(MAKELEVEL),0)
common/compat/domain.o: tools_fixdep FORCE ; $(Q)$(MAKE) $(build)=common common/compat/domain.o
arch/x86/setup.init.o: tools_fixdep FORCE ; $(Q)$(MAKE) $(build)=arch/x86 arch/x86/setup.init.o
common/compat/kernel.init.o: tools_fixdep FORCE ; $(Q)$(MAKE) $(build)=common common/compat/kernel.init.o
endif
RULES
    [ "$output" = "$(ref_make_rules mk "${targets[@]}")" ]
    # Ordinary objects only: no rules, nothing printed.
    run lp-build-helper make-rules mk common/a.o arch/x86/traps.o top.o
    assert_success
    assert_output ""
    # Not a Kbuild tree: Xen's own rules are all there is.
    rm mk/xen/Rules.mk
    run lp-build-helper make-rules mk "${targets[@]}"
    assert_success
    assert_output ""
    [ -z "$(ref_make_rules mk "${targets[@]}")" ]
    run lp-build-helper make-rules
    assert_failure 2
}

@test "make-rules: the targets prepare gives for an init object come with its rule" {
    make_built base
    printf 'cmd_arch/x86/t.init.o := objcopy\n' >base/xen/arch/x86/.t.init.o.cmd
    : >base/xen/Rules.mk
    : >base/xen/arch/x86/Makefile
    : >base/xen/common/Makefile
    mkdir -p src/xen/include/xen
    printf '#define H 2\n' >src/xen/include/xen/h.h
    printf 'xen/include/xen/h.h\n' >list
    run --separate-stderr lp-build-helper prepare --base base --prev base --tree tree --src src \
        --touched list --config base/xen/.config
    assert_success
    assert_output $'arch/x86/t.init.o\ncommon/a.o'
    mapfile -t targets <<<"$output"
    run lp-build-helper make-rules tree "${targets[@]}"
    assert_success
    assert_output $'--eval=ifeq ($(MAKELEVEL),0)\narch/x86/t.init.o: tools_fixdep FORCE ; $(Q)$(MAKE) $(build)=arch/x86 arch/x86/t.init.o\nendif'
}
