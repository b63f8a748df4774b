#!/bin/sh
# tests/cli/chip_verify.sh: `run --chip` verification and --batch — the chip's
# graph outputs against the reference executor (same inputs) or --data's
# expected outputs, the documented bounds (int8 cosine >= 0.99, bf16 rel_l2 <=
# 1e-2; exit 1 outside), the JSON keys, --outputs, and --batch errors (exit 2).
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx
D=$M/fmnist/test_data_set_0
C=$M/chip

expect chip-verify-ref-int8 0 "verify against the reference executor.*|cosine 0\.99[0-9]*, top1_agreement [01]\.[0-9]* \(4 rows\): ok \(cosine >= 0\.99\)" \
    "$T" run $F --chip tpu-v1 --host-ops --batch 4
expect chip-verify-ref-bf16 0 "top1_agreement [01]\.[0-9]* \(4 rows\): ok \(rel_l2 <= 0\.01\)" \
    "$T" run $F --chip tpu-v5e --host-ops --batch 4
expect chip-verify-data 0 "verify against the expected outputs \(--data\)" \
    "$T" run $F --chip tpu-v1 --host-ops --data $D --json "$tmp/v.json" --outputs "$tmp"
miss=""
for k in verified_against verify_ok outputs max_abs_error rel_l2 cosine top1_agreement bound within; do
    grep -q "\"$k\":" "$tmp/v.json" 2>/dev/null || miss="$miss $k"
done
check chip-verify-json '[ -z "$miss" ] && grep -q "\"verify_ok\": true" "$tmp/v.json"' "missing:$miss"
check chip-verify-outputs '[ -s "$tmp/output_0.pb" ]' "--outputs wrote no output_0.pb"
# int8 top-1 agreement over the 256 committed images: the brief's >= 98% bar
a=$(sed -n 's/.*"top1_agreement": \([0-9.]*\).*/\1/p' "$tmp/v.json")
check chip-verify-top1-256 "awk 'BEGIN { exit !($a >= 0.98) }'" "top1_agreement '$a' < 0.98"
expect chip-verify-gemm-ref 0 "output 'Y' \(96 values\).*ok" "$T" run $C/gemm_small.onnx --chip tpu-v4

# expected outputs that the chip cannot match: negated logits → cosine about -1, exit 1
if /usr/bin/python3 - "$D/output_0.pb" "$tmp/neg" "$F" "$tmp/fixed.onnx" <<'PY' 2>/dev/null
import os, sys, shutil
import onnx
m = onnx.load(sys.argv[3])                    # the same model with batch fixed at 1
m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
onnx.save(m, sys.argv[4])
from onnx import numpy_helper
t = numpy_helper.to_array(onnx.load_tensor(sys.argv[1]))
os.makedirs(sys.argv[2], exist_ok=True)
shutil.copy(os.path.join(os.path.dirname(sys.argv[1]), "input_0.pb"), sys.argv[2])
onnx.save_tensor(numpy_helper.from_array(-t, "logits"), os.path.join(sys.argv[2], "output_0.pb"))
PY
then
    expect chip-verify-outside-int8 1 "cosine -0\.99[0-9]*, top1_agreement 0\.0000 \(256 rows\): OUTSIDE \(cosine >= 0\.99\)" \
        "$T" run $F --chip tpu-v1 --host-ops --data "$tmp/neg"
    expect chip-verify-outside-bf16 1 "outside the bf16 bound \(rel_l2 <= 0\.01\)" \
        "$T" run $F --chip tpu-v5e --host-ops --data "$tmp/neg"
else
    echo "SKIP chip-verify-outside: /usr/bin/python3 with onnx not available"
fi

# --batch
expect chip-batch-8 0 "batch 8" "$T" run $F --chip tpu-v1 --host-ops --batch 8 --timing-only
expect chip-batch-fixed 2 "tensor 'A': --batch 4: the input's batch dimension is fixed at 8; export the model with a dynamic batch axis" \
    "$T" run $C/gemm_small.onnx --chip tpu-v1 --batch 4
# --data with --batch: the data set in chunks (100 + 100 + 56 rows); bf16 has no
# per-chunk scales, so the chunked outputs are bit-identical to one big run
mkdir -p "$tmp/c1"
expect chip-batch-chunks 0 "output 'logits' \(2560 values\).*top1_agreement [01]\.[0-9]* \(256 rows\): ok" \
    "$T" run $F --chip tpu-v5e --host-ops --data $D --batch 100 --outputs "$tmp/c1"
mkdir -p "$tmp/c2"
"$T" run $F --chip tpu-v5e --host-ops --data $D --outputs "$tmp/c2" >/dev/null 2>&1
check chip-batch-chunks-same 'cmp -s "$tmp/c1/output_0.pb" "$tmp/c2/output_0.pb"' "chunked bf16 outputs differ from the one-batch run"
expect chip-batch-chunks-int8 0 "batch 256.*|top1_agreement [01]\.[0-9]* \(256 rows\): ok \(cosine" \
    "$T" run $F --chip tpu-v1 --host-ops --data $D --batch 128
[ -f "$tmp/fixed.onnx" ] &&
expect chip-batch-chunks-fixed 2 "tensor 'input': --batch 7: the input's batch dimension is fixed at 1" \
    "$T" run "$tmp/fixed.onnx" --chip tpu-v1 --host-ops --data $D --batch 7
expect chip-batch-bad 2 "--batch expects a number from 1 to 65536" "$T" run $F --chip tpu-v1 --batch 0
expect chip-shape 0 "output 'y' \(15 values\).*\(5 rows\): ok" "$T" run $M/tiny_mlp.onnx --chip tpu-v1 --host-ops --shape x=5,4
expect chip-shape-bad 2 "tensor 'x': --shape dim 1 is 3, the model fixes it to 4" "$T" run $M/tiny_mlp.onnx --chip tpu-v1 --host-ops --shape x=5,3

# bad input: a layer that does not fit, an op with no lowering and no host path
expect chip-bad-ub 2 "node 'gemm' \(Gemm\): needs 10 KiB of Unified Buffer for one row of input and output \(K=2048, N=2048\), tpu-v1 has 4 KiB" \
    "$T" run $C/gemm_256x2048x2048.onnx --chip tpu-v1 --set unified_buffer_bytes=4096
# a rank-4 output (a conv's feature map) is not a classifier: no top-1 row count
expect chip-verify-top1-map 0 "output 'Y' \(400 values\): .*top1_agreement n/a: ok" "$T" run $C/conv_small.onnx --chip tpu-v1
expect chip-bad-op 2 "node 'frob' \(Frobnicate\).*|no chip lowering and no host kernel: replace the op" \
    "$T" run $M/unsupported_op.onnx --chip tpu-v1 --host-ops
exit 0
