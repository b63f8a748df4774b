#!/bin/sh
# tests/cli/bad.sh: every file in tests/bad/ through the CLI. Each must exit 2
# with one clear message naming the file (and the node and ONNX op where there
# is one), never a signal, and must leave no output file behind.
T=${TPUSIM:-build/tpusim}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
check() {  # name, expected message piece, command...
    name=$1; want=$2; shift 2
    "$@" >"$out/stdout" 2>"$out/stderr"; rc=$?
    if [ $rc -ne 2 ]; then echo "FAIL $name: exit $rc, want 2: $(head -c 300 "$out/stderr")"; return; fi
    if ! grep -qF -- "$want" "$out/stderr"; then echo "FAIL $name: message '$(head -c 300 "$out/stderr")' lacks '$want'"; return; fi
    if [ "$(wc -l <"$out/stderr")" -gt 12 ]; then echo "FAIL $name: more than 12 lines of messages"; return; fi
    if ls "$out"/outputs/* >/dev/null 2>&1; then echo "FAIL $name: left an output file"; return; fi
    echo "PASS $name"
}
B=tests/bad
check bad-cli-empty        "$B/empty.onnx: empty file"                 "$T" check $B/empty.onnx
check bad-cli-truncated    "$B/truncated.onnx: not an ONNX model"      "$T" check $B/truncated.onnx
check bad-cli-random       "$B/random.onnx: not an ONNX model"         "$T" check $B/random.onnx
check bad-cli-text         "$B/text.onnx: not an ONNX model"           "$T" check $B/text.onnx
check bad-cli-cycle        "cycle"                                     "$T" check $B/cycle.onnx
check bad-cli-missing-init "node 'add_w' (Add)"                        "$T" check $B/missing_initializer.onnx
check bad-cli-missing-init2 "'w'"                                      "$T" check $B/missing_initializer.onnx
check bad-cli-dangling-out "'y'"                                       "$T" check $B/dangling_output.onnx
check bad-cli-unknown-op   "node 'frob0' (FrobnicateTensor)"           "$T" run $B/unknown_op.onnx --chip ref --outputs "$out/outputs"
check bad-cli-bad-attr     "node 'conv0' (Conv)"                       "$T" check $B/bad_attribute.onnx
check bad-cli-bad-attr2    "pads"                                      "$T" check $B/bad_attribute.onnx
check bad-cli-rank         "node 'conv_rank' (Conv)"                   "$T" check $B/rank_error.onnx
check bad-cli-dtype        "node 'add_mixed' (Add)"                    "$T" check $B/dtype_mismatch.onnx
check bad-cli-negative-dim "dimension 0 is -3"                         "$T" check $B/negative_dim.onnx
check bad-cli-huge         "is over tpusim's"                          "$T" check $B/huge_tensor.onnx
check bad-cli-short-raw    "raw_data has 12 bytes"                     "$T" check $B/short_raw_data.onnx
check bad-cli-reshape      "node 'reshape0' (Reshape)"                 "$T" check $B/bad_reshape.onnx
check bad-cli-pb-truncated "$B/data_truncated/input_0.pb"              "$T" run $B/good_relu.onnx --chip ref --data $B/data_truncated --outputs "$out/outputs"
check bad-cli-pb-dtype     "$B/data_wrong_dtype/input_0.pb"            "$T" run $B/good_relu.onnx --chip ref --data $B/data_wrong_dtype --outputs "$out/outputs"
check bad-cli-pb-shape     "$B/data_wrong_shape/input_0.pb"            "$T" run $B/good_relu.onnx --chip ref --data $B/data_wrong_shape --outputs "$out/outputs"
check bad-cli-no-args      "usage"                                     "$T"
check bad-cli-bad-flag     "--frobnicate"                              "$T" run $B/good_relu.onnx --chip ref --frobnicate
# Every prefix of a small real model through the CLI: exit 2, never a signal.
src=tests/bad/bad_attribute.onnx; n=$(wc -c <$src); bad=0; i=1
while [ $i -lt "$n" ]; do
    head -c $i $src >"$out/t.onnx"; "$T" check "$out/t.onnx" >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || { bad=$((bad+1)); echo "  prefix $i: exit $rc"; }
    i=$((i+7))
done
[ $bad -eq 0 ] && echo "PASS bad-cli-truncate-sweep" || echo "FAIL bad-cli-truncate-sweep: $bad prefixes did not exit 2"
