#!/bin/sh
# tests/cli/precision.sh: `run --precision default|high|highest` (multi-pass
# bf16, compile/precision.c) on the Fashion-MNIST CNN: the report names the
# passes, the error against the reference executor falls with them, the MXU
# does more work; on tpu-v1 the same names give 16-bit operands (compile/wide.c),
# saved by compile -o; a bad name exits 2.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx
relf() { sed -n "s/.*rel_l2 \([0-9.e+-]*\),.*/\1/p" "$1" | head -n 1; }
cyc() { sed -n 's/^total: \([0-9]*\) cycles.*/\1/p' "$1"; }
expect precision-default 0 "bf16: no calibration; 1 pass per matrix product \(--precision default\)" "$T" run $F --chip tpu-v5e --host-ops --batch 8
cp "$tmp/all" "$tmp/p1"
expect precision-high 0 "bf16: no calibration; 3 passes per matrix product \(--precision high\)" "$T" run $F --chip tpu-v5e --host-ops --batch 8 --precision high
cp "$tmp/all" "$tmp/p3"
expect precision-highest 0 "bf16: no calibration; 6 passes" "$T" run $F --chip tpu-v5e --host-ops --batch 8 --precision highest
cp "$tmp/all" "$tmp/p6"
r1=$(relf "$tmp/p1") r3=$(relf "$tmp/p3") r6=$(relf "$tmp/p6")
check precision-error-falls "awk -v a=$r1 -v b=$r3 -v c=$r6 'BEGIN { exit !(a > 10 * b && b > c && b < 1e-4) }'" \
    "rel_l2 1/3/6 passes: $r1 / $r3 / $r6"
c1=$(cyc "$tmp/p1") c3=$(cyc "$tmp/p3")
check precision-costs-cycles '[ -n "$c1" ] && [ "$c3" -gt "$c1" ]' "cycles 1 pass $c1, 3 passes $c3"
# int8 chips: 16-bit weights (high), 16-bit both (highest; compile/wide.c): the error falls
for p in default high highest; do
    expect precision-int8-$p 0 "" "$T" run $F --chip tpu-v1 --host-ops --batch 8 --precision $p
    cp "$tmp/all" "$tmp/i$p"
done
check precision-int8-says 'grep -q "16-bit weights (8b x 16b: 2 passes, half speed; --precision high)" "$tmp/ihigh" &&
    grep -q "16-bit weights and activations (16b x 16b: 4 passes, quarter speed; --precision highest)" "$tmp/ihighest"' \
    "$(grep quantisation "$tmp/ihigh" "$tmp/ihighest")"
i1=$(relf "$tmp/idefault") i3=$(relf "$tmp/ihigh") i6=$(relf "$tmp/ihighest")
check precision-int8-error-falls "awk -v a=$i1 -v b=$i3 -v c=$i6 'BEGIN { exit !(a > b && b > 4 * c) }'" \
    "rel_l2 default/high/highest: $i1 / $i3 / $i6"
expect precision-bad-name 2 "--precision must be default, high, highest or auto, not fast" \
    "$T" run $F --chip tpu-v5e --precision fast
# saved in a program file: run prog.tpu gives the same values as run MODEL --precision high
mkdir -p "$tmp/o1" "$tmp/o2"
expect precision-compile 0 "p.tpu: " "$T" compile $F --chip tpu-v5e --host-ops --batch 8 --precision high -o "$tmp/p.tpu"
expect precision-prog-run 0 "bf16: no calibration; 3 passes per matrix product \(--precision high\)" \
    "$T" run "$tmp/p.tpu" --outputs "$tmp/o1"
expect precision-model-run 0 "" "$T" run $F --chip tpu-v5e --host-ops --batch 8 --precision high --outputs "$tmp/o2"
check precision-prog-same 'cmp -s "$tmp/o1/output_0.pb" "$tmp/o2/output_0.pb"' "run prog.tpu and run MODEL differ"
# int8 --precision highest saved too: run q.tpu as run MODEL --precision highest
mkdir -p "$tmp/o3" "$tmp/o4"
expect precision-compile-int8 0 "q.tpu: " "$T" compile $F --chip tpu-v1 --host-ops --batch 8 --precision highest \
    -o "$tmp/q.tpu"
expect precision-prog-run-int8 0 "16-bit weights and activations" "$T" run "$tmp/q.tpu" --outputs "$tmp/o3"
expect precision-model-run-int8 0 "" "$T" run $F --chip tpu-v1 --host-ops --batch 8 --precision highest \
    --outputs "$tmp/o4"
check precision-prog-same-int8 'cmp -s "$tmp/o3/output_0.pb" "$tmp/o4/output_0.pb"' "run q.tpu and run MODEL differ"
# A ConvTranspose (its zero-inserted input, compile/mm_convt.c) under both splits:
# within the bounds, the error falling with the passes (CI runs this under ASan)
if /usr/bin/python3 tests/cli/small_models.py "$tmp" 2>/dev/null; then
    for c in "tpu-v1 default" "tpu-v1 highest" "tpu-v5e default" "tpu-v5e highest"; do
        set -- $c
        expect precision-convt-$1-$2 0 "output 'out' .*: ok" "$T" run "$tmp/convt.onnx" --chip $1 --precision $2
        cp "$tmp/all" "$tmp/ct-$1-$2"
    done
    for c in tpu-v1 tpu-v5e; do
        a=$(relf "$tmp/ct-$c-default") b=$(relf "$tmp/ct-$c-highest")
        check precision-convt-$c-falls "awk -v a=$a -v b=$b 'BEGIN { exit !(a > 10 * b) }'" "rel_l2 default $a, highest $b"
    done
else
    echo "SKIP precision-convt: /usr/bin/python3 with onnx not available"
fi
exit 0
