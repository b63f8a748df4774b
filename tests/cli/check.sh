#!/bin/sh
# tests/cli/check.sh: `tpusim check` — exit codes, messages and the JSON file,
# for good models, bad models and bad command lines.
. tests/cli/lib.inc

expect cli-check-tiny 0 'parameters: 70 in 7 tensors' "$T" check $M/tiny_mlp.onnx
expect cli-check-default-dim 0 "input 'x': dim 0 \('N'\) not bound, using 1" "$T" check $M/tiny_mlp.onnx
expect cli-check-shape 0 'x +float32 +\[5,4\]' "$T" check $M/tiny_mlp.onnx --shape x=5,4
expect cli-check-json 0 '' "$T" check $M/tiny_mlp.onnx --json "$tmp/c.json"
check cli-check-json-content 'grep -q "\"parameters\": 70" "$tmp/c.json" && grep -q "\"op_histogram\"" "$tmp/c.json"' \
    "JSON lacks parameters/op_histogram"
check cli-check-json-no-temp '[ "$(ls "$tmp" | grep -c tmp)" -eq 0 ]' "a temp file was left behind"
expect cli-check-unsupported-reported 0 'frob +Frobnicate +unsupported' "$T" check $M/unsupported_op.onnx
expect cli-check-unsupported-message 0 "node 'frob' \(Frobnicate\): op com.example.Frobnicate is not supported" \
    "$T" check $M/unsupported_op.onnx

expect cli-check-shape-fixed-dim 2 "^tpusim: .*tensor 'x': --shape dim 1 is 3, the model fixes it to 4" \
    "$T" check $M/tiny_mlp.onnx --shape x=5,3
expect cli-check-shape-no-input 2 "no input named 'nope'" "$T" check $M/tiny_mlp.onnx --shape nope=1
expect cli-check-shape-syntax 2 'expected NAME=d0,d1' "$T" check $M/tiny_mlp.onnx --shape x
expect cli-check-missing-file 2 "^tpusim: $tmp/none.onnx" "$T" check "$tmp/none.onnx"
expect cli-check-not-onnx 2 "^tpusim: tests/models/make_runtime_models.py" "$T" check $M/make_runtime_models.py
"$T" check "$tmp/none.onnx" --json "$tmp/bad.json" >/dev/null 2>&1
check cli-check-no-json-on-error '[ ! -e "$tmp/bad.json" ]' "JSON written although check failed"
expect cli-check-json-unwritable 2 "$tmp/no/dir/c.json: cannot write" "$T" check $M/tiny_mlp.onnx --json "$tmp/no/dir/c.json"
expect cli-usage-none 2 '^usage: tpusim' "$T"
expect cli-usage-unknown-command 2 "unknown command 'frobnicate'" "$T" frobnicate
expect cli-usage-unknown-option 2 "unknown option '--nope'" "$T" check $M/tiny_mlp.onnx --nope 1
expect cli-usage-two-models 2 'exactly one MODEL' "$T" check $M/tiny_mlp.onnx $M/tiny_mlp.onnx
exit 0
