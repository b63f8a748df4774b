#!/bin/sh
# scripts/demo.sh BUILD: `make demo` — the main job on the bundled default model,
# tests/models/fmnist_cnn.onnx (a small CNN the project trained on Fashion-MNIST,
# tools/train_fmnist.py): what `check` says about it, then the 10,000 test images
# of Debian's dataset-fashion-mnist through the reference executor, with top-1
# accuracy against the labels. Without the dataset package it uses the committed
# 256-image subset. Grows with the chip and the compiler.
BUILD=${1:-build}
T="$BUILD/tpusim"
PY=/usr/bin/python3
M=tests/models/fmnist_cnn.onnx
echo "== tpusim check $M"
"$T" check "$M" || exit $?
D=tests/models/fmnist
if [ -d /usr/share/datasets/fashion-mnist ] &&
   { [ -f "$BUILD/fmnist/labels.pb" ] || "$PY" tools/fmnist_to_pb.py "$BUILD/fmnist" >/dev/null; }; then
    D="$BUILD/fmnist"
fi
out="$BUILD/demo"; rm -rf "$out"; mkdir -p "$out"
echo
echo "== tpusim run $M --chip ref --data $D/test_data_set_0 --outputs $out"
"$T" run "$M" --chip ref --data "$D/test_data_set_0" --outputs "$out" | grep -v "^output 'logits'" || true
[ -f "$out/output_0.pb" ] || { echo "demo: the reference run failed" >&2; exit 2; }
echo
echo "== top-1 accuracy of the reference run against the labels ($D/labels.pb)"
"$PY" - "$out/output_0.pb" "$D/labels.pb" tests/models/fmnist/accuracy.json <<'PYEOF'
import json, sys
import onnx
from onnx import numpy_helper
logits = numpy_helper.to_array(onnx.load_tensor(sys.argv[1]))
labels = numpy_helper.to_array(onnx.load_tensor(sys.argv[2]))
acc = float((logits.argmax(1) == labels).mean())
trained = json.load(open(sys.argv[3]))
print(f"{len(labels)} images: top-1 accuracy {acc:.4f} "
      f"(PyTorch fp32 at training time: {trained['test_accuracy']:.4f} on {trained['test_images']})")
PYEOF
