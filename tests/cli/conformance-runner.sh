#!/bin/sh
# tests/cli/conformance-runner.sh: the conformance driver itself, on a small
# made-up root: a passing case, an undecodable model, an xfail-listed case that
# passes (must FAIL "xpass") and one that fails (must SKIP "xfail"), totals file.
. tests/cli/lib.inc
SRC=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}/node/test_constant
if [ ! -d "$SRC" ]; then echo "SKIP cli-conformance-runner: $SRC not installed"; exit 0; fi
R="$tmp/cat"
mkdir -p "$R/garbage/test_data_set_0" "$R/listed_garbage/test_data_set_0"
cp -r "$SRC" "$R/ok_case"
cp -r "$SRC" "$R/listed_ok"
printf 'not a model' >"$R/garbage/model.onnx"
printf 'not a model' >"$R/listed_garbage/model.onnx"
printf '# comment\ncat/listed_ok  made-up reason\ncat/listed_garbage   garbage on purpose\n' >"$tmp/xfail.txt"
"$T" conformance "$R/" --xfail "$tmp/xfail.txt" --out "$tmp/conf.txt" >"$tmp/log" 2>&1
rc=$?
check cli-conformance-exit '[ $rc -eq 1 ]' "exit $rc, expected 1 (cases failed)"
check cli-conformance-pass 'grep -q "^PASS conformance/cat/ok_case$" "$tmp/log"' "ok_case did not pass"
check cli-conformance-fail 'grep -q "^FAIL conformance/cat/garbage: model.onnx: not an ONNX model" "$tmp/log"' \
    "garbage did not FAIL with the loader message"
check cli-conformance-xpass 'grep -q "^FAIL conformance/cat/listed_ok: xpass: remove from xfail list" "$tmp/log"' \
    "a listed passing case must FAIL xpass"
check cli-conformance-xfail 'grep -q "^SKIP conformance/cat/listed_garbage: xfail: garbage on purpose" "$tmp/log"' \
    "a listed failing case must SKIP xfail"
check cli-conformance-totals 'grep -Eq "^cat +4 +1 +2 +1 +0" "$tmp/conf.txt"' "totals line wrong: $(grep ^cat "$tmp/conf.txt")"
exit 0
