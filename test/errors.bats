#!/usr/bin/env bats
# docs/errors.md, row by row: test/errors.tsv triggers every refusal and error listed
# there and checks its exit status and message; the last tests keep the two lists
# equal (ids, exit codes, and each row's message fragment inside the documented
# example), so neither can drift from the other.
#
# errors.tsv: one row a line, five tab-separated fields, '#' lines are comments:
#   id  exit  fragment  setup  command
# setup ('-' for none) runs first in the row's own empty folder and must succeed;
# then command runs there, must exit with `exit`, and its stdout+stderr must contain
# `fragment`.  Both are bash, with the fixtures and helpers below.
# ERRORS_SHOW=1 prints every row's status and output (to write the docs from).

load test_helper

TABLE="$BATS_TEST_DIRNAME/errors.tsv"
DOC="$BATS_TEST_DIRNAME/../docs/errors.md"

setup_file() {
    export BASE="$BATS_FILE_TMPDIR/base" P="$BATS_FILE_TMPDIR"
    local pp="$BATS_TEST_DIRNAME/../samples/patches" x
    sample_base "$BASE"
    export IMG="$BASE/xen/xen-syms"
    for x in "fix01 01-fix-domctl-bounds" "new03 03-new-helper" "hooks08 08-hooks" \
             "sched07 07-line-shift"; do
        # shellcheck disable=SC2086
        set -- $x
        sample_payload "$BASE" "$P/$1.livepatch" "$1" "" "$pp/$2.patch"
    done
    livepatch-tool apply --image "$IMG" -o "$P/applied" "$P/fix01.livepatch" 2>/dev/null
    # Signing keys: KEY signs, PUB is its public half, PUB2 another key's.
    openssl genrsa -out "$P/key.pem" 2048 2>/dev/null
    openssl rsa -in "$P/key.pem" -pubout -out "$P/pub.pem" 2>/dev/null
    openssl genrsa -out "$P/key2.pem" 2048 2>/dev/null
    openssl rsa -in "$P/key2.pem" -pubout -out "$P/pub2.pem" 2>/dev/null
    openssl genrsa -out "$P/key3k.pem" 3072 2>/dev/null
    openssl rsa -in "$P/key3k.pem" -pubout -out "$P/pub3k.pem" 2>/dev/null
    livepatch-tool sign "$P/fix01.livepatch" --key "$P/key.pem" -o "$P/signed.livepatch" >/dev/null
    export KEY="$P/key.pem" PUB="$P/pub.pem" PUB2="$P/pub2.pem" PUB3K="$P/pub3k.pem"
    export LIVEPATCH_BUILD_CACHE="$BATS_FILE_TMPDIR/cache"
    export BT="$LP_ROOT/test/data/build"
}

# --- what rows use ------------------------------------------------------------------------
pay() { cp "$P/$1.livepatch" p.livepatch; }      # pay NAME: ./p.livepatch from a fixture
mut() { payload-mutate p.livepatch "$@"; }        # mut OP ARGS: damage ./p.livepatch
chk() { livepatch-tool check --image "$IMG" p.livepatch; }
dcase() { diff_case "$@" >/dev/null; }            # orig.o patched.o image of a diff case
# first_byte FN: the first byte of the image's FN, in hex.
first_byte() {
    local a
    a=$(nm "$IMG" | awk -v f="$1" '$3 == f {print $1}')
    objdump -d --start-address="0x$a" --stop-address=$((0x$a + 1)) "$IMG" |
        awk -F'\t' '/^ +[0-9a-f]+:/ {print $2}' | awk '{print $1}'
}
cdo() { create-diff-object orig.o patched.o image out.o; }
# lpb ARGS: the driver on a private copy of the miniature tree (test/data/build).
lpb() {
    [ -d src ] || cp -a "$BT/tree" src
    livepatch-build -s src -c src/config "$@"
}

# run_rows PREFIX...: every row whose id starts with one of the PREFIXes; all failures
# are reported at once.
run_rows() {
    local id code frag setup cmd out st bad="" n=0 pre match
    while IFS=$'\t' read -r id code frag setup cmd; do
        [[ -z $id || $id == \#* ]] && continue
        match=""
        for pre in "$@"; do [[ $id == "$pre"-* ]] && match=1; done
        [ -n "$match" ] || continue
        n=$((n + 1))
        if [ -z "$cmd" ]; then   # an empty field: read folds two tabs into one
            bad+="$id: not five non-empty fields"$'\n'
            continue
        fi
        mkdir -p "$BATS_TEST_TMPDIR/$id"
        cd "$BATS_TEST_TMPDIR/$id" || return 1
        if [[ $setup != - ]] && ! (eval "$setup") >setup.log 2>&1; then
            bad+="$id: setup failed: $(tail -n 3 setup.log)"$'\n'
            continue
        fi
        st=0
        out=$(eval "$cmd" 2>&1 </dev/null) || st=$?
        [ -z "${ERRORS_SHOW:-}" ] || printf '### %s exit %s\n%s\n' "$id" "$st" "$out" >&3
        if [[ $st != "$code" ]]; then
            bad+="$id: exit $st, expected $code: $(head -c 600 <<<"$out")"$'\n'
        elif [[ $out != *"$frag"* ]]; then
            bad+="$id: no '$frag' in: $(head -c 600 <<<"$out")"$'\n'
        elif [[ $out == *AddressSanitizer* || $out == *"runtime error"* || $out == *Segmentation* ]]; then
            bad+="$id: crashed: $(head -c 600 <<<"$out")"$'\n'
        fi
    done <"$TABLE"
    cd "$BATS_TEST_TMPDIR" || return 1
    [ "$n" -gt 0 ] || bad+="no rows for $*"$'\n'
    if [ -n "$bad" ]; then
        printf '%s' "$bad"
        return 1
    fi
}

@test "errors.tsv: create-diff-object's errors and refusals" {
    run_rows cdo
}

@test "errors.tsv: livepatch-tool's usage errors, loader refusals and signature verdicts" {
    run_rows tool load image apply sign sig
}

@test "errors.tsv: lp-buildid's errors" {
    run_rows buildid
}

@test "errors.tsv: livepatch-gcc's errors" {
    run_rows gcc
}

@test "errors.tsv: livepatch-build's errors" {
    run_rows build
}

# --- the table and the document agree -----------------------------------------------------

# doc_rows: "id<TAB>exit<TAB>message" for each row of docs/errors.md's tables.
doc_rows() {
    # shellcheck disable=SC2016
    sed -nE 's/^\| `([a-z0-9-]+)` \| ([0-9]+) \| (.*) \| [^|]*\|$/\1\t\2\t\3/p' "$DOC" |
        sed -e 's/\\|/|/g'
}

@test "every row of docs/errors.md is in errors.tsv and the reverse, with the same exit code" {
    doc=$(doc_rows | cut -f1,2 | sort)
    tsv=$(grep -v '^#' "$TABLE" | grep . | cut -f1,2 | sort)
    [ -n "$doc" ]
    run diff <(echo "$doc") <(echo "$tsv")
    [ "$status" -eq 0 ] || { echo "docs/errors.md (<) and test/errors.tsv (>) differ:"; echo "$output"; false; }
    # Ids are unique.
    dups=$(cut -f1 <<<"$tsv" | uniq -d)
    [ -z "$dups" ] || { echo "ids given twice in errors.tsv: $dups"; false; }
}

@test "each row's message fragment is part of the example message docs/errors.md shows" {
    local id code frag setup cmd msg bad=""
    while IFS=$'\t' read -r id code frag setup cmd; do
        [[ -z $id || $id == \#* ]] && continue
        [ -n "$frag" ] || bad+="$id: empty fragment"$'\n'
        msg=$(doc_rows | awk -F'\t' -v id="$id" '$1 == id {print $3}')
        [[ $msg == *"$frag"* ]] || bad+="$id: '$frag' not in the documented '$msg'"$'\n'
    done <"$TABLE"
    [ -z "$bad" ] || { printf '%s' "$bad"; false; }
}
