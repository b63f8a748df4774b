#!/bin/sh
# tests/cli/chip_qlinear.sh: ONNX's own QLinearMatMul / QLinearConv node tests run on
# tpu-v1's MXU (compile/qlinear.c) with `run --data` and match ONNX's expected
# uint8 outputs exactly (compile/verify.c: integer outputs are compared
# exactly); the layer row says mxu, not host. Without values for B
# (`check --chip`) the node stays on the host with the reason. SKIP when the
# ONNX test data is not installed.
. tests/cli/lib.inc
D=/usr/share/libonnx-testdata/data/node
for t in test_qlinearmatmul_2D test_qlinearmatmul_3D test_qlinearconv; do
    if [ ! -f "$D/$t/model.onnx" ]; then echo "SKIP chip-qlinear-$t: no $D/$t"; continue; fi
    expect "chip-qlinear-$t" 0 "max_abs_error 0, .*ok \(exact \(uint8/int8 output\)\)" \
        "$T" run "$D/$t/model.onnx" --chip tpu-v1 --data "$D/$t/test_data_set_0"
    check "chip-qlinear-$t-on-mxu" "grep -Eq '^node_0 +QLinear[A-Za-z]* +mxu' '$tmp/all'" \
        "$(grep node_0 "$tmp/all" | head -c 200)"
done
if [ -f "$D/test_qlinearmatmul_2D/model.onnx" ]; then
    expect chip-qlinear-check-no-values 0 "QLinearMatMul +host .*B 'b' has no constant value" \
        "$T" check "$D/test_qlinearmatmul_2D/model.onnx" --chip tpu-v1
fi
