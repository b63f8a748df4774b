#!/bin/sh
# tests/cli/precision.sh: `run --precision default|high|highest` (multi-pass
# bf16, compile/precision.c) on the Fashion-MNIST CNN: the report names the
# passes, the error against the reference executor falls with them, the MXU
# does more work; misuse exits 2.
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
expect precision-int8-chip 2 "--precision high: tpu-v1 multiplies int8; multi-pass precision is for bf16 chips" \
    "$T" run $F --chip tpu-v1 --precision high
expect precision-bad-name 2 "--precision must be default, high \(3 bf16 passes\) or highest \(6\), not fast" \
    "$T" run $F --chip tpu-v5e --precision fast
# saved in a program file: run prog.tpu gives the same values as run MODEL --precision high
mkdir -p "$tmp/o1" "$tmp/o2"
expect precision-compile 0 "p.tpu: " "$T" compile $F --chip tpu-v5e --host-ops --batch 8 --precision high -o "$tmp/p.tpu"
expect precision-prog-run 0 "bf16: no calibration; 3 passes per matrix product \(--precision high\)" \
    "$T" run "$tmp/p.tpu" --outputs "$tmp/o1"
expect precision-model-run 0 "" "$T" run $F --chip tpu-v5e --host-ops --batch 8 --precision high --outputs "$tmp/o2"
check precision-prog-same 'cmp -s "$tmp/o1/output_0.pb" "$tmp/o2/output_0.pb"' "run prog.tpu and run MODEL differ"
expect precision-compile-int8 2 "--precision high: tpu-v1 multiplies int8" \
    "$T" compile $F --chip tpu-v1 --precision high -o "$tmp/q.tpu"
check precision-compile-int8-no-file '[ ! -e "$tmp/q.tpu" ]' "a program file was written"
exit 0
