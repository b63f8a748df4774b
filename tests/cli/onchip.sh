#!/bin/sh
# tests/cli/onchip.sh: the on-chip schedule estimate under `tpusim run`'s
# report (report/onchip.c; residency per node by tpu_ub_residency,
# compile/ub_plan.c). Its "as run" figure is the run's own simulated cycles
# (the timing loop lowers every node as the runner does); activations stay in
# the UB only between chip nodes: a chain of MatMuls saves its middle
# transfers, a CNN whose convs are separated by host MaxPools saves nothing
# on tpu-v1; a UB too small for the liveness plan keeps nothing on chip.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx
num() { sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1" | head -n 1; }
# onchip_field JSON KEY: a number from the "onchip_estimate" object
onchip_field() { sed -n "s/.*\"onchip_estimate\": {.*\"$2\": \([0-9]*\).*/\1/p" "$1"; }

# tpu-v1: the convs' outputs go to the host MaxPools, so nothing stays on chip.
expect onchip-fmnist-v1 0 "on-chip schedule \(estimate, timing only, per batch of 8\): .* as run: 1\.00x" \
    "$T" run $F --chip tpu-v1 --host-ops --batch 8 --json "$tmp/f1.json"
s=$(num "$tmp/f1.json" simulated_cycles) l=$(onchip_field "$tmp/f1.json" link_device_cycles)
o=$(onchip_field "$tmp/f1.json" onchip_device_cycles)
check onchip-fmnist-v1-link-is-run '[ -n "$s" ] && [ "$s" = "$l" ]' "run $s, estimate's as-run $l"
check onchip-fmnist-v1-nothing-stays '[ -n "$o" ] && [ "$o" = "$l" ]' "on chip $o, as run $l"

if /usr/bin/python3 tests/cli/small_models.py "$tmp" 2>/dev/null
then
    for c in tpu-v1 tpu-v5e; do
        expect onchip-chain-$c 0 "liveness plan .* device cycles" \
            "$T" run "$tmp/chain.onnx" --chip $c --json "$tmp/c.$c.json"
        s=$(num "$tmp/c.$c.json" simulated_cycles) l=$(onchip_field "$tmp/c.$c.json" link_device_cycles)
        o=$(onchip_field "$tmp/c.$c.json" onchip_device_cycles)
        check onchip-chain-$c-link-is-run '[ -n "$s" ] && [ "$s" = "$l" ]' "run $s, estimate's as-run $l"
        check onchip-chain-$c-saves '[ -n "$o" ] && [ "$o" -gt 0 ] && [ "$o" -lt "$l" ]' "on chip $o, as run $l"
    done
    # A MatMul the lowering refuses (its row does not fit a 4 KiB UB) runs on the host, so
    # the Relu after it is a vector program of its own, in the run and in the estimate alike.
    expect onchip-refused-producer 0 "" "$T" run "$tmp/refused.onnx" --chip tpu-v5e --host-ops \
        --set unified_buffer_bytes=4096 --json "$tmp/rf.json"
    s=$(num "$tmp/rf.json" simulated_cycles) l=$(onchip_field "$tmp/rf.json" link_device_cycles)
    check onchip-refused-producer-link-is-run '[ -n "$s" ] && [ "$s" = "$l" ]' "run $s, estimate's as-run $l"
    # 48 KiB needed (tests/cli/ub_plan.sh), 40 KiB given: every transfer stays.
    expect onchip-chain-too-small 0 "needs 48\.0 KiB of Unified Buffer, tpu-v1 has 40\.0 KiB: activations cannot stay on chip" \
        "$T" run "$tmp/chain.onnx" --chip tpu-v1 --set unified_buffer_bytes=40960 --json "$tmp/small.json"
    l=$(onchip_field "$tmp/small.json" link_device_cycles) o=$(onchip_field "$tmp/small.json" onchip_device_cycles)
    check onchip-chain-too-small-json 'grep -q "\"onchip_estimate\": {\"fits\": false" "$tmp/small.json" && [ "$o" = "$l" ]' \
        "$(grep onchip_estimate "$tmp/small.json")"
else
    echo "SKIP onchip-chain: /usr/bin/python3 with onnx not available"
fi

expect onchip-deterministic 0 "" "$T" run $F --chip tpu-v1 --host-ops --batch 8 --json "$tmp/f2.json"
check onchip-deterministic-json 'grep onchip_estimate "$tmp/f1.json" >"$tmp/a" && grep onchip_estimate "$tmp/f2.json" >"$tmp/b" && cmp -s "$tmp/a" "$tmp/b"' \
    "$(cat "$tmp/a" "$tmp/b" 2>/dev/null)"

# A data-set run (--data DIR --batch N) estimates one batch of N; on tpu-v5e
# (vector unit) the CNN's activations stay on chip, so the estimate is faster.
expect onchip-dataset-v5e 0 "per batch of 64\): .* as run: ([2-9]|[1-9][0-9])\.[0-9]+x" \
    "$T" run $F --chip tpu-v5e --host-ops --batch 64 --data $M/fmnist/test_data_set_0

# A data-set run of a model with symbolic image dims (PaddleOCR's classifier):
# the estimate uses the first batch's graph, bound by the data, so it runs.
OC=${BUILD:-build}/ocr/ocr_cls
if [ -f "$OC/test_data_set_0/input_0.pb" ]; then
    expect onchip-dataset-symbolic-dims 0 "on-chip schedule \(estimate, timing only, per batch of 1\)" \
        "$T" run "$OC/model.onnx" --chip tpu-v1 --host-ops --batch 1 --data "$OC/test_data_set_0"
else
    echo "SKIP onchip-dataset-symbolic-dims: no $OC test set (make models; needs node/npm)"
fi

# With --precision the estimate times the same wider programs the run ran.
for c in "tpu-v5e high" "tpu-v1 highest"; do
    set -- $c
    expect onchip-precision-$1 0 "" "$T" run $F --chip $1 --host-ops --batch 8 --precision $2 --json "$tmp/p.json"
    s=$(num "$tmp/p.json" simulated_cycles) l=$(onchip_field "$tmp/p.json" link_device_cycles)
    check onchip-precision-$1-link-is-run '[ -n "$s" ] && [ "$s" = "$l" ]' "run $s, estimate's as-run $l"
done
