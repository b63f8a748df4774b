#!/bin/sh
# tests/cli/run_repeat.sh: `run MODEL --chip C --repeat N` runs the whole run
# N times in one process: a "host time" line and JSON run_repeat,
# run_seconds_best <= run_seconds_per_run; outputs and every other report line
# equal to a single run's (the data-set path in chunks, and the model on its own
# inputs); without --repeat no timing is printed; bad counts exit 2.
. tests/cli/lib.inc
D=$M/fmnist/test_data_set_0
C="$M/fmnist_cnn.onnx --chip tpu-v1 --host-ops"
mkdir -p "$tmp/one" "$tmp/rep"
expect once 0 "verify against" "$T" run $C --batch 100 --data "$D" --outputs "$tmp/one" --json "$tmp/one.json"
grep -v "^host time" "$tmp/out" >"$tmp/one.txt"
check once-no-time '! grep -q "host time" "$tmp/out" && ! grep -q run_repeat "$tmp/one.json"' \
    "a run without --repeat prints its host time"
expect repeat 0 "^host time: best [0-9.]+ s, mean [0-9.]+ s per run over 3 runs in one process" \
    "$T" run $C --batch 100 --data "$D" --outputs "$tmp/rep" --json "$tmp/rep.json" --repeat 3
grep -v "^host time" "$tmp/out" >"$tmp/rep.txt"
check repeat-same-report 'cmp -s "$tmp/one.txt" "$tmp/rep.txt" && cmp -s "$tmp/one/output_0.pb" "$tmp/rep/output_0.pb"' \
    "the repeated run's report or outputs differ from a single run's"
check repeat-json '/usr/bin/python3 -c "import json, sys; j = json.load(open(sys.argv[1]))
sys.exit(not (j[\"run_repeat\"] == 3 and 0 < j[\"run_seconds_best\"] <= j[\"run_seconds_per_run\"]))" "$tmp/rep.json"' \
    "run_repeat / run_seconds_best / run_seconds_per_run wrong in $(grep run_ "$tmp/rep.json" | tr -d '\n')"
# the model on its own (seeded random) inputs, verified against the reference executor
expect repeat-own-inputs 0 "over 2 runs in one process" "$T" run $M/chip/residual_host.onnx --chip tpu-v1 --host-ops --repeat 2
# a run outside the bounds (expected outputs negated) still repeats, prints its report, exits 1
mkdir -p "$tmp/neg"
cp "$D/input_0.pb" "$tmp/neg/"
/usr/bin/python3 -c "import sys; from onnx import numpy_helper as h, load_tensor
t = load_tensor(sys.argv[1]); a = -h.to_array(t)
open(sys.argv[2], 'wb').write(h.from_array(a, t.name).SerializeToString())" "$D/output_0.pb" "$tmp/neg/output_0.pb"
expect repeat-outside 1 "over 2 runs in one process" "$T" run $C --batch 100 --data "$tmp/neg" --repeat 2
check repeat-outside-says 'grep -q "outside the int8 bound" "$tmp/all" && grep -q "hint: --precision auto" "$tmp/all"' \
    "no bound message or hint: $(tail -n 2 "$tmp/all" | tr '\n' ' ')"
for bad in 0 -1 x 10001; do
    expect "repeat-bad-$bad" 2 "--repeat expects a number from 1 to 10000, not $bad" "$T" run $C --repeat "$bad"
done
