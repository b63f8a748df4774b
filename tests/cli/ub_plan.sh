#!/bin/sh
# tests/cli/ub_plan.sh: the Unified Buffer plan of `tpusim check --chip`
# (compile/ub_plan.c) — liveness-packed activation memory for an on-chip
# schedule: an exact answer on a chain of MatMuls worked out by hand, the
# bounds' order on a real model, growth with the batch, a chip whose UB is too
# small, and the JSON keys.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx

# x[64,256] -> MatMul -> y1[64,512] -> MatMul -> y2[64,128] -> MatMul -> out[64,256].
# int8 (tpu-v1, 1 byte, 256-byte rows): x 16 KiB live at step 0, y1 32 KiB at
# 0-1, y2 8 KiB at 1-2, out 16 KiB at 2. Most alive at one step: x + y1 = 48
# KiB at the first MatMul; the greedy placement reaches it (y1 at 0, x at 32K,
# out at 0, y2 at 32K). bf16 (tpu-v5e) doubles every tensor: 96 KiB.
if /usr/bin/python3 tests/cli/small_models.py "$tmp" 2>/dev/null
then
    expect ub-plan-chain-int8 0 "unified buffer plan \(liveness, 4 chip-resident tensors\): needs 48\.0 KiB \(no plan can need less than 48\.0 KiB, at node 'mm1'\); largest tensor 'y1' 32\.0 KiB; tpu-v1 has 24\.0 MiB: fits" \
        "$T" check "$tmp/chain.onnx" --chip tpu-v1
    expect ub-plan-chain-bf16 0 "needs 96\.0 KiB \(no plan can need less than 96\.0 KiB" \
        "$T" check "$tmp/chain.onnx" --chip tpu-v5e
    expect ub-plan-fused-act 0 "liveness, 3 chip-resident tensors\): needs 32\.0 KiB \(no plan can need less than 32\.0 KiB, at node 'conv2'\)" \
        "$T" check "$tmp/fused.onnx" --chip tpu-v1
    expect ub-plan-too-small 0 "needs 48\.0 KiB .*has 40\.0 KiB: does NOT fit" \
        "$T" check "$tmp/chain.onnx" --chip tpu-v1 --set unified_buffer_bytes=40960
else
    echo "SKIP ub-plan-chain: /usr/bin/python3 with onnx not available"
fi

expect ub-plan-json 0 "" "$T" check $F --chip tpu-v1 --json "$tmp/b1.json"
expect ub-plan-json-b8 0 "" "$T" check $F --chip tpu-v1 --batch 8 --json "$tmp/b8.json"
num() { sed -n "s/.*\"ub_plan\": {.*\"$2\": \([0-9]*\).*/\1/p" "$1"; }
p1=$(num "$tmp/b1.json" peak_bytes) l1=$(num "$tmp/b1.json" lower_bound_bytes)
b1=$(num "$tmp/b1.json" largest_tensor_bytes) p8=$(num "$tmp/b8.json" peak_bytes)
check ub-plan-bounds-ordered '[ -n "$p1" ] && [ "$p1" -ge "$l1" ] && [ "$l1" -ge "$b1" ] && [ "$b1" -gt 0 ]' \
    "peak $p1, lower bound $l1, largest $b1"
check ub-plan-grows-with-batch '[ -n "$p8" ] && [ "$p8" -gt "$p1" ]' "batch 1 $p1, batch 8 $p8"
check ub-plan-json-fits 'grep -q "\"fits\": true" "$tmp/b1.json" && grep -q "\"capacity_bytes\": 25165824" "$tmp/b1.json"' \
    "$(grep ub_plan "$tmp/b1.json")"
exit 0
