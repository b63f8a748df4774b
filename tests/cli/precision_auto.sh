#!/bin/sh
# tests/cli/precision_auto.sh: `run / compile --precision auto` (compile/auto_prec.c).
# On tests/models/prec_auto_mlp.onnx (make_prec_auto_model.py: int8 alone misses
# cosine >= 0.99 in one layer) auto meets the bound with 1 of 4 layers widened; on
# the Fashion-MNIST CNN (int8 suits it) nothing is widened and the outputs are the
# default's, byte for byte; compile -o --precision auto + run prog.tpu gives the
# outputs and JSON of run --precision auto; two runs are cmp-equal; the data-set
# path (--data --batch) and --calib-random take it; bench and --timing-only refuse it.
. tests/cli/lib.inc
A=$M/prec_auto_mlp.onnx
mkdir -p "$tmp/a1" "$tmp/a2" "$tmp/p" "$tmp/f0" "$tmp/f1"
F=$M/fmnist_cnn.onnx
jkey() { sed -n "s/.*\"$2\": \([0-9.e+-]*\).*/\1/p" "$1" | head -n 1; }
expect auto-default-misses 1 "OUTSIDE \(cosine >= 0.99\)" "$T" run $A --chip tpu-v1 --host-ops --batch 8
expect auto-meets 0 "precision auto: 1 of 4 MXU layers widened, 1 to 16-bit weights .*calibration cosine 0\.99.*int8 alone cosine 0\.9.*trial runs on the first 2 rows of the run's own inputs, then all 8 rows \(the choice confirmed\)" \
    "$T" run $A --chip tpu-v1 --host-ops --batch 8 --precision auto --json "$tmp/a1.json" --outputs "$tmp/a1"
check auto-meets-bound 'grep -q "output .y. .*: ok (cosine >= 0.99)" "$tmp/all"' "$(grep "output 'y'" "$tmp/all")"
check auto-table-column 'grep -Eq "^fc2 .* w16$" "$tmp/all" && grep -Eq "^fc1 .* int8$" "$tmp/all"' \
    "$(grep '^fc' "$tmp/all")"
nw=$(jkey "$tmp/a1.json" n_widened) nm=$(jkey "$tmp/a1.json" n_mxu)
check auto-json 'grep -q "\"precision\": \"auto\"" "$tmp/a1.json" && grep -q "\"widened\": \[\"fc2\"\]" "$tmp/a1.json" &&
    [ "$nw" -ge 1 ] && [ "$nw" -lt "$nm" ] && grep -q "\"precision\": \"w16\"" "$tmp/a1.json"' "n_widened $nw of $nm"
# deterministic: the same run twice, byte for byte
expect auto-again 0 "" "$T" run $A --chip tpu-v1 --host-ops --batch 8 --precision auto --json "$tmp/a2.json" --outputs "$tmp/a2"
check auto-deterministic 'cmp -s "$tmp/a1.json" "$tmp/a2.json" && cmp -s "$tmp/a1/output_0.pb" "$tmp/a2/output_0.pb"' \
    "two runs differ"
# compile -o keeps the choice: run prog.tpu without the model gives the same
expect auto-compile 0 "--precision auto's per-layer choice saved" "$T" compile $A --chip tpu-v1 --host-ops --batch 8 \
    --precision auto -o "$tmp/p.tpu"
expect auto-prog-run 0 "precision auto: 1 of 4 MXU layers widened" "$T" run "$tmp/p.tpu" --json "$tmp/p.json" \
    --outputs "$tmp/p"
check auto-prog-same 'cmp -s "$tmp/a1/output_0.pb" "$tmp/p/output_0.pb" && cmp -s "$tmp/a1.json" "$tmp/p.json"' \
    "run prog.tpu and run MODEL --precision auto differ"
# a model int8 suits: nothing widened, the default's outputs exactly
expect auto-none 0 "precision auto: 0 of [0-9]+ MXU layers widened .*2 trial runs on" \
    "$T" run $F --chip tpu-v1 --host-ops --batch 8 --precision auto --outputs "$tmp/f1"
expect auto-none-default 0 "" "$T" run $F --chip tpu-v1 --host-ops --batch 8 --outputs "$tmp/f0"
check auto-none-same 'cmp -s "$tmp/f0/output_0.pb" "$tmp/f1/output_0.pb"' "auto with 0 widened differs from the default"
expect auto-none-bf16 0 "precision auto: 0 of [0-9]+ MXU layers widened .*rel_l2" \
    "$T" run $F --chip tpu-v5e --host-ops --batch 8 --precision auto
# the data-set path (chunks of --batch over --data's rows) and --calib-random
D=$M/fmnist/test_data_set_0
expect auto-data 0 "precision auto: 0 of [0-9]+ MXU layers widened .*the run's own inputs \(--data" \
    "$T" run $F --chip tpu-v1 --host-ops --data $D --batch 4 --precision auto
expect auto-calib-random 0 "precision auto: 1 of 4 .*2 seeded random input\(s\) \(--calib-random 2\)" \
    "$T" run $A --chip tpu-v1 --host-ops --batch 8 --precision auto --calib-random 2
# a bf16 chip where one pass misses (PaddleOCR's classifier, when built): layers get 3 passes
O=${BUILD:-build}/ocr/ocr_cls
if [ -f "$O/model.onnx" ]; then
    expect auto-bf16-widens 0 "precision auto: [0-9]+ of [0-9]+ MXU layers widened, [0-9]+ to 3 bf16 passes" \
        "$T" run "$O/model.onnx" --chip tpu-v5e --host-ops --data "$O/test_data_set_0" --precision auto
    check auto-bf16-bound 'grep -q "output .*: ok (rel_l2 <= 0.01)" "$tmp/all" && grep -Eq " bf16x3$" "$tmp/all"' \
        "$(grep "output '" "$tmp/all")"
else
    echo "SKIP auto-bf16-widens: no $O (make models)"
fi
# refused where it cannot calibrate
expect auto-timing-only 2 "--precision auto calibrates on values: not with --timing-only" \
    "$T" run $A --chip tpu-v1 --host-ops --precision auto --timing-only
expect auto-bench 2 "--precision auto is for run and compile" "$T" bench $A --chips tpu-v1 --batch 1 --precision auto
exit 0
