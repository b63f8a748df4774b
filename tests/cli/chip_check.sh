#!/bin/sh
# tests/cli/chip_check.sh: `tpusim check MODEL --chip NAME` — the compatibility
# report: placement per node with its reason (compile/place.def), shares of
# MACs and estimated time per unit, suggestions, JSON, and bad input.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx

expect chip-check-mxu 0 "/features/features.3/Conv +Conv +mxu +903168 " "$T" check $F --chip tpu-v1
expect chip-check-shares 0 "mxu +3 nodes +100\.00% of MACs" "$T" check $F --chip tpu-v1
expect chip-check-act 0 "Relu +activation .*fused into ACTIVATE \(func relu\)" "$T" check $F --chip tpu-v1
expect chip-check-batch 0 "/features/features.3/Conv +Conv +mxu +7225344 " "$T" check $F --chip tpu-v1 --batch 8
expect chip-check-no-vector 0 "Softmax +host .*no vector unit on tpu-v1: host" "$T" check $M/tiny_mlp.onnx --chip tpu-v1
expect chip-check-vector 0 "Softmax +host .*VRSUM, VRECIP\) could do it; no vector lowering yet" \
    "$T" check $M/tiny_mlp.onnx --chip tpu-v5e
expect chip-check-unsupported 0 "Frobnicate +unsupported .*op Frobnicate has no lowering and no host kernel" \
    "$T" check $M/unsupported_op.onnx --chip tpu-v1
expect chip-check-suggest 0 "what you could change:.*|  - replace it with standard ONNX ops" \
    "$T" check $M/unsupported_op.onnx --chip tpu-v1
expect chip-check-json 0 "" "$T" check $F --chip tpu-v5e --json "$tmp/c.json"
miss=""
for k in model chip precision vector_unit nodes unit could macs est_seconds reason suggestion units \
         macs_share time_share; do
    grep -q "\"$k\":" "$tmp/c.json" 2>/dev/null || miss="$miss $k"
done
check chip-check-json-keys '[ -z "$miss" ] && grep -q "\"precision\": \"bf16\"" "$tmp/c.json"' "missing:$miss"
expect chip-check-bad-chip 2 "unknown chip|cannot" "$T" check $F --chip tpu-v99
expect chip-check-batch-fixed 2 "tensor 'A': --batch 2: the input's batch dimension is fixed at 8" \
    "$T" check $M/chip/gemm_small.onnx --chip tpu-v1 --batch 2

# float64 and Resize cubic, from models written here
if /usr/bin/python3 - "$tmp" <<'PY' 2>/dev/null
import sys, onnx
from onnx import helper as h, TensorProto as P
d = sys.argv[1]
g = h.make_graph([h.make_node("Add", ["x", "x"], ["y"], name="add64")], "g",
                 [h.make_tensor_value_info("x", P.DOUBLE, [2, 3])], [h.make_tensor_value_info("y", P.DOUBLE, [2, 3])])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), d + "/f64.onnx")
sc = h.make_tensor("s", P.FLOAT, [4], [1, 1, 2, 2])
g = h.make_graph([h.make_node("Resize", ["x", "", "s"], ["y"], name="up", mode="cubic")], "g",
                 [h.make_tensor_value_info("x", P.FLOAT, [1, 1, 4, 4])],
                 [h.make_tensor_value_info("y", P.FLOAT, [1, 1, 8, 8])], initializer=[sc])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), d + "/cubic.onnx")
g = h.make_graph([h.make_node("MatMul", ["a", "b"], ["y"], name="bmm")], "g",
                 [h.make_tensor_value_info("a", P.FLOAT, [2, 3, 4]), h.make_tensor_value_info("b", P.FLOAT, [2, 4, 5])],
                 [h.make_tensor_value_info("y", P.FLOAT, [2, 3, 5])])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), d + "/bmm.onnx")
PY
then
    expect chip-check-f64 0 "add64 +Add +host .*dtype float64: host" "$T" check "$tmp/f64.onnx" --chip tpu-v1
    expect chip-check-f64-suggest 0 "  - export in float32" "$T" check "$tmp/f64.onnx" --chip tpu-v1
    expect chip-check-cubic 0 "up +Resize +host .*Resize mode cubic: host" "$T" check "$tmp/cubic.onnx" --chip tpu-v5e
    # a MatMul the MXU lowering refuses (batched B): host in check and, with --host-ops, in run
    expect chip-check-bmm 0 "bmm +MatMul +host .*the MXU lowering refuses it \(input B has rank 3" "$T" check "$tmp/bmm.onnx" --chip tpu-v1
    expect chip-run-bmm-host 0 "bmm +MatMul +host .*untimed.*|output 'y' \(30 values\).*ok" "$T" run "$tmp/bmm.onnx" --chip tpu-v1 --host-ops
    expect chip-run-bmm-no-host 2 "node 'bmm' \(MatMul\): input B has rank 3" "$T" run "$tmp/bmm.onnx" --chip tpu-v1
else
    echo "SKIP chip-check-f64: /usr/bin/python3 with onnx not available"
fi
exit 0
