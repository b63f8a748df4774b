#!/bin/sh
# tests/cli/run.sh: `tpusim run --chip ref` — exit codes (0 ok, 1 mismatch,
# 2 bad input), messages, and output files written only on success.
. tests/cli/lib.inc
D=$M/tiny_mlp/test_data_set_0

expect cli-run-chip-unavailable 2 "^tpusim: unknown chip 'v4'" "$T" run $M/tiny_mlp.onnx --chip v4
expect cli-run-bad-input-shape 2 "^tpusim: $M/tiny_mlp_badshape/input_0.pb: .*tensor 'x'.*\[2,5\]" \
    "$T" run $M/tiny_mlp.onnx --data $M/tiny_mlp_badshape
expect cli-run-missing-data 2 "$tmp/nodata/input_0.pb: cannot read" "$T" run $M/tiny_mlp.onnx --data "$tmp/nodata"
expect cli-run-bad-repeat 2 'repeat 0: expected a number' "$T" run $M/tiny_mlp.onnx --repeat 0
expect cli-run-unsupported-op 2 "node 'frob' \(Frobnicate\)" "$T" run $M/unsupported_op.onnx

mkdir -p "$tmp/o1" "$tmp/o2" "$tmp/o3"
expect cli-run-data-ok 0 "vs expected: max abs err .*rel-L2 .*-> ok" \
    "$T" run $M/tiny_mlp.onnx --chip ref --data $D --outputs "$tmp/o1" --json "$tmp/r.json" --repeat 3
if [ $? -eq 0 ]; then
    check cli-run-outputs-written '[ -s "$tmp/o1/output_0.pb" ]' "output_0.pb not written"
    check cli-run-json-keys 'grep -q ref_seconds_per_run "$tmp/r.json" && grep -q ref_seconds_best "$tmp/r.json"' \
        "JSON lacks the timing keys"
fi
expect cli-run-mismatch 1 "output 'y' .*1 of 6 elements differ; worst at index 5" \
    "$T" run $M/tiny_mlp.onnx --data $M/tiny_mlp_bad --outputs "$tmp/o2"
if [ $? -eq 0 ]; then
    check cli-run-no-outputs-on-mismatch '[ ! -e "$tmp/o2/output_0.pb" ]' "output written although outputs differ"
fi
"$T" run $M/tiny_mlp.onnx --data $M/tiny_mlp_badshape --outputs "$tmp/o3" --json "$tmp/bad.json" >/dev/null 2>&1
check cli-run-no-files-on-error '[ ! -e "$tmp/o3/output_0.pb" ] && [ ! -e "$tmp/bad.json" ]' \
    "files written although the run failed"

expect cli-run-outputs-dir-missing 2 "$tmp/no/dir/output_0.pb" \
    "$T" run $M/tiny_mlp.onnx --data $D --outputs "$tmp/no/dir" --json "$tmp/r2.json"
if [ $? -eq 0 ]; then
    check cli-run-no-json-when-outputs-fail '[ ! -e "$tmp/r2.json" ]' "JSON written although --outputs failed"
fi

# A data folder with inputs only runs and compares nothing.
mkdir -p "$tmp/inonly" "$tmp/o5"; cp $D/input_*.pb "$tmp/inonly/"
expect cli-run-inputs-only 0 "inputs $tmp/inonly" "$T" run $M/tiny_mlp.onnx --data "$tmp/inonly" --outputs "$tmp/o5"
if [ $? -eq 0 ]; then
    check cli-run-inputs-only-output 'cmp -s "$tmp/o5/output_0.pb" "$tmp/o1/output_0.pb"' "outputs differ from the compared run's"
    check cli-run-inputs-only-no-compare '! grep -q "vs expected" "$tmp/all"' "compared although no output_N.pb"
fi

expect cli-run-random-a 0 "output 'y' float32 \[3,3\]" "$T" run $M/tiny_mlp.onnx --shape x=3,4 --seed 5 --outputs "$tmp/o1"
if [ $? -eq 0 ]; then
    mkdir -p "$tmp/o4"
    "$T" run $M/tiny_mlp.onnx --shape x=3,4 --seed 5 --outputs "$tmp/o4" >/dev/null 2>&1
    check cli-run-random-deterministic 'cmp -s "$tmp/o1/output_0.pb" "$tmp/o4/output_0.pb"' "same seed, different outputs"
fi
exit 0
