#!/bin/sh
# tests/cli/accept.sh: a cheap subset of the acceptance matrix
# (bench/acceptance.sh) in `make test`, so the issue's bounds are guarded:
# `tpusim run MODEL --chip C --host-ops --batch B` compiles, simulates and
# verifies against the reference executor, int8 tpu-v1 cosine >= 0.99 and bf16
# tpu-v5e rel_l2 <= 1e-2 (exit 1 outside). Cells: the Fashion-MNIST CNN at
# batch 1 and 8 on both chips; the TransformerEncoder (opset 17) at batch 1 on
# both; resnet18 (opset 13) at batch 1 on tpu-v1; PaddleOCR's classifier at
# batch 1 on tpu-v1 and on tpu-v5e with --precision high (needs BUILD/ocr). The exported models need
# BUILD/models (make models, or exported here when missing and torch is
# there, as tests/cli/models.sh does): SKIP with the reason without.
# Also runs bench/acceptance.sh itself on the fmnist cells (its table and exit
# status) and on a missing model (exit 1).
. tests/cli/lib.inc
B=${BUILD:-build}
F=$M/fmnist_cnn.onnx
ok_int8="ok \(cosine >= 0\.99\)"
ok_bf16="ok \(rel_l2 <= 0\.01\)"

for b in 1 8; do
    expect accept-fmnist-tpu-v1-b$b 0 "$ok_int8" "$T" run $F --chip tpu-v1 --host-ops --batch $b
    expect accept-fmnist-tpu-v5e-b$b 0 "$ok_bf16" "$T" run $F --chip tpu-v5e --host-ops --batch $b
done

# A clean clone (CI) has no models yet and this script runs before models.sh:
# export them here when torch is there (models.sh then finds them current).
PY=${PYTHON:-/usr/bin/python3}
if [ ! -f "$B/models/manifest.json" ] && "$PY" -c "import torch, torchvision, onnx" 2>/dev/null; then
    mkdir -p "$B/models"
    "$PY" tools/export_models.py "$B/models" >"$B/models/export.log" 2>&1 ||
        { echo "FAIL accept/export: tools/export_models.py failed (see $B/models/export.log)"
          rm -f "$B/models/manifest.json"; }
fi
TR=$B/models/transformer_op17_dyn/model.onnx
RN=$B/models/resnet18_op13_dyn/model.onnx
if [ -f "$TR" ] && [ -f "$RN" ]; then
    expect accept-transformer-op17-tpu-v1-b1 0 "$ok_int8" "$T" run "$TR" --chip tpu-v1 --host-ops --batch 1
    expect accept-transformer-op17-tpu-v5e-b1 0 "$ok_bf16" "$T" run "$TR" --chip tpu-v5e --host-ops --batch 1
    expect accept-resnet18-op13-tpu-v1-b1 0 "$ok_int8" "$T" run "$RN" --chip tpu-v1 --host-ops --batch 1
else
    for c in transformer-op17-tpu-v1-b1 transformer-op17-tpu-v5e-b1 resnet18-op13-tpu-v1-b1; do
        echo "SKIP accept-$c: no $TR or $RN (make models)"
    done
fi

# A trained model we did not make (PaddleOCR angle classifier, its document
# image, ONNX Runtime's output): int8, and bf16 with 3 passes (--precision high;
# one pass misses: rel_l2 0.108, docs/compiler.md).
OC=$B/ocr/ocr_cls
if [ -f "$OC/model.onnx" ] && [ -f "$OC/test_data_set_0/output_0.pb" ]; then
    expect accept-ocr-cls-tpu-v1-b1 0 "$ok_int8" \
        "$T" run "$OC/model.onnx" --chip tpu-v1 --host-ops --data "$OC/test_data_set_0"
    expect accept-ocr-cls-tpu-v5e-high-b1 0 "$ok_bf16" \
        "$T" run "$OC/model.onnx" --chip tpu-v5e --host-ops --precision high --data "$OC/test_data_set_0"
else
    echo "SKIP accept-ocr-cls: no $OC test set (make models; needs node/npm)"
fi

# the matrix script: fmnist's four cells pass and are tabled; a missing model fails it
expect accept-script-fmnist 0 "^4 cells, 4 ok, 0 failed" \
    env TPUSIM="$T" BUILD="$tmp/b" sh bench/acceptance.sh --only "^fmnist "
check accept-script-table 'grep -Eq "^fmnist +tpu-v5e +8 +rel_l2 +0\.[0-9]+ +rel_l2 <= 0\.01 +ok " "$tmp/all"' \
    "no fmnist tpu-v5e batch-8 row: $(head -c 300 "$tmp/all")"
expect accept-script-missing 1 "^resnet18_op13 +tpu-v1 +1 .*FAIL \(no $tmp/b/models/resnet18_op13_dyn/model.onnx\)" \
    env TPUSIM="$T" BUILD="$tmp/b" sh bench/acceptance.sh --only "^resnet18_op13 tpu-v1 b1$"
exit 0
