#!/bin/sh
# tests/cli/chip_qdq.sh: a pre-quantised (QDQ) conv keeps the model's int8
# scales on tpu-v1 (compile/qdq.c via compile/calib.c, and compile/run.c
# without calibration): the chip multiplies exactly the model's int8 values,
# so the conv's nmse against the reference (which dequantises the same values)
# is at fp32 rounding level; the run-time max |x| scale on the same model
# would be measurably worse (the model is built so the two differ).
T=${TPUSIM:-build/tpusim}
M=tests/models/chip/conv_qdq.onnx
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
nmse() { awk '$1 == "conv" && $2 == "Conv" { print $NF }' "$1"; }

"$T" run "$M" --chip tpu-v1 --host-ops --calib-random 1 >"$out/q.txt" 2>&1; rc=$?
v=$(nmse "$out/q.txt")
if [ "$rc" = 0 ] && [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v < 1e-10) }' &&
   grep -q "max_abs_error [0-9.e-]*, rel_l2 [0-9.]*e-0[6-9]" "$out/q.txt"
then pass chip-qdq-model-scales
else fail chip-qdq-model-scales "rc $rc nmse '$v': $(grep output "$out/q.txt" | head -c 200)"; fi

# without calibration the QDQ input keeps the model's scale too (compile/run.c
# calibrate()), and the report says so
"$T" run "$M" --chip tpu-v1 --host-ops >"$out/r.txt" 2>&1; rc=$?
w=$(nmse "$out/r.txt")
if [ "$rc" = 0 ] && [ -n "$w" ] && awk -v v="$w" 'BEGIN { exit !(v < 1e-10) }' &&
   grep -q "1 QDQ input(s) keep the model's scale" "$out/r.txt"
then pass chip-qdq-model-scales-uncalibrated
else fail chip-qdq-model-scales-uncalibrated "rc $rc nmse '$w': $(grep quantisation "$out/r.txt")"; fi

"$T" run "$M" --chip tpu-v5e --host-ops >"$out/b.txt" 2>&1; rc=$?
if [ "$rc" = 0 ] && grep -q "ok (rel_l2" "$out/b.txt"; then pass chip-qdq-bf16
else fail chip-qdq-bf16 "rc $rc: $(tail -n 1 "$out/b.txt")"; fi
