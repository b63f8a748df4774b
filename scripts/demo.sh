#!/bin/sh
# scripts/demo.sh BUILD: `make demo` — the main job on the bundled default model,
# tests/models/fmnist_cnn.onnx (a small CNN the project trained on Fashion-MNIST,
# tools/train_fmnist.py): `check --chip` says where every node runs; then the
# 10,000 test images of Debian's dataset-fashion-mnist through the reference
# executor (fp32) and through the simulated chips, tpu-v1 (int8) and tpu-v5e
# (bf16), in batches of 500 — each chip run verified against the reference
# executor on the same images (tpusim exits 1 outside the bounds). Last, top-1
# accuracy against the labels, top-1 agreement with fp32, simulated throughput
# and energy per inference, checked against the acceptance bars (int8: top-1
# within 1 point of fp32 and >= 98% agreement). Without the dataset package it
# uses the committed 256-image subset.
BUILD=${1:-build}
T="$BUILD/tpusim"
PY=/usr/bin/python3
M=tests/models/fmnist_cnn.onnx
echo "== tpusim check $M --chip tpu-v1"
"$T" check "$M" --chip tpu-v1 || exit $?
D=tests/models/fmnist
if [ -d /usr/share/datasets/fashion-mnist ] &&
   { [ -f "$BUILD/fmnist/labels.pb" ] || "$PY" tools/fmnist_to_pb.py "$BUILD/fmnist" >/dev/null; }; then
    D="$BUILD/fmnist"
fi
out="$BUILD/demo"; rm -rf "$out"; mkdir -p "$out/ref" "$out/tpu-v1" "$out/tpu-v5e"
echo
echo "== tpusim run $M --chip ref --data $D/test_data_set_0 --outputs $out/ref"
"$T" run "$M" --chip ref --data "$D/test_data_set_0" --outputs "$out/ref" | grep -v "^output 'logits'" || true
[ -f "$out/ref/output_0.pb" ] || { echo "demo: the reference run failed" >&2; exit 2; }
echo
# the two chips side by side (two processes), each in batches of 500 images
for c in tpu-v1 tpu-v5e; do
    "$T" run "$M" --chip $c --host-ops --data "$D/test_data_set_0" --batch 500 --outputs "$out/$c" \
        --json "$out/$c.json" >"$out/$c.txt" 2>&1 &
done
wait
for c in tpu-v1 tpu-v5e; do
    echo "== tpusim run $M --chip $c --host-ops --data $D/test_data_set_0 --batch 500 (verified against the reference executor)"
    grep -E "^(chip|total|energy|quantisation|on-chip|verify|  output)" "$out/$c.txt"
    [ -f "$out/$c/output_0.pb" ] || { echo "demo: the $c run failed:" >&2; tail -3 "$out/$c.txt" >&2; exit 2; }
done
echo
echo "== accuracy against the labels ($D/labels.pb), agreement with fp32, simulated throughput and energy"
"$PY" - "$out" "$D/labels.pb" tests/models/fmnist/accuracy.json <<'PYEOF'
import json, sys
import onnx
from onnx import numpy_helper
out, labels_path, trained_path = sys.argv[1:4]
load = lambda p: numpy_helper.to_array(onnx.load_tensor(p))
labels = load(labels_path)
ref = load(f"{out}/ref/output_0.pb").argmax(1)
acc_ref = float((ref == labels).mean())
trained = json.load(open(trained_path))
print(f"{len(labels)} images; fp32 reference executor: top-1 {acc_ref:.4f} "
      f"(PyTorch fp32 at training time: {trained['test_accuracy']:.4f} on {trained['test_images']})")
ok = True
for chip in ("tpu-v1", "tpu-v5e"):
    top = load(f"{out}/{chip}/output_0.pb").argmax(1)
    rep = json.load(open(f"{out}/{chip}.json"))
    acc = float((top == labels).mean())
    agree = float((top == ref).mean())
    ips = len(labels) / rep["seconds"]
    print(f"{chip:8s} ({'int8' if chip == 'tpu-v1' else 'bf16'}): top-1 {acc:.4f} ({100 * (acc - acc_ref):+.2f} points vs fp32), "
          f"top-1 agreement with fp32 {agree:.4f}; simulated {rep['seconds'] * 1e3:.2f} ms for the set = "
          f"{ips:,.0f} images/s, {rep['energy_joules'] / len(labels) * 1e6:.1f} uJ per image "
          f"(host-op layers untimed)")
    e = rep.get("onchip_estimate")
    if e and e.get("fits") and e["onchip_device_cycles"] < e["link_device_cycles"]:
        print(f"  activations kept on chip between layers (run's estimate, per batch of {e['batch']}): "
              f"{e['link_device_cycles'] / e['onchip_device_cycles']:.2f}x less device time")
    elif e and e.get("fits"):
        print("  activations kept on chip between layers (run's estimate): no gain, a host op follows every chip layer")
    if chip == "tpu-v1":
        good = abs(acc - acc_ref) <= 0.01 and agree >= 0.98
        print(f"  acceptance (int8: top-1 within 1 point of fp32, >= 98% agreement): {'met' if good else 'NOT MET'}")
        ok = ok and good
sys.exit(0 if ok else 1)
PYEOF
