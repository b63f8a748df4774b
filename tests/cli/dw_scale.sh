#!/bin/sh
# tests/cli/dw_scale.sh: per-channel int8 activation scales of depthwise convs
# (compile/dw_scale.c). A depthwise Conv whose 16 input channels span ranges
# from 0.01 to 100 (as trained networks give): on tpu-v1 with run-time scales
# every channel's output must be within 2% (relative L2) of the reference,
# while the per-tensor scale of a calibrated run (--calib-random: this path is
# not used) loses the small channels (> 20% on the worst) — the control that
# shows the test can fail.
. tests/cli/lib.inc
if ! /usr/bin/python3 - "$tmp" <<'PY' 2>/dev/null
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as P, numpy_helper as nh
r = np.random.default_rng(5)
C = 16
w = nh.from_array(r.standard_normal((C, 1, 3, 3)).astype(np.float32), "w")
g = h.make_graph([h.make_node("Conv", ["x", "w"], ["y"], name="dw", group=C, pads=[1, 1, 1, 1])], "dw",
                 [h.make_tensor_value_info("x", P.FLOAT, [2, C, 9, 11])], [h.make_tensor_value_info("y", P.FLOAT, [2, C, 9, 11])],
                 initializer=[w])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), sys.argv[1] + "/dw.onnx")
x = r.uniform(-1, 1, (2, C, 9, 11)).astype(np.float32) * (10.0 ** np.linspace(-2, 2, C)).astype(np.float32)[None, :, None, None]
import os
os.makedirs(sys.argv[1] + "/in", exist_ok=True)
open(sys.argv[1] + "/in/input_0.pb", "wb").write(nh.from_array(x, "x").SerializeToString())
PY
then
    echo "SKIP dw-scale: /usr/bin/python3 with onnx not available"
    exit 0
fi
mkdir -p "$tmp/ref" "$tmp/dyn" "$tmp/cal"
expect dw-scale-ref 0 "" "$T" run "$tmp/dw.onnx" --chip ref --data "$tmp/in" --outputs "$tmp/ref"
expect dw-scale-run 0 "dw +Conv +mxu" "$T" run "$tmp/dw.onnx" --chip tpu-v1 --data "$tmp/in" --outputs "$tmp/dyn"
expect dw-scale-calibrated 0 "" "$T" run "$tmp/dw.onnx" --chip tpu-v1 --data "$tmp/in" --outputs "$tmp/cal" --calib "$tmp/in"
worst() {
    /usr/bin/python3 - "$tmp/ref/output_0.pb" "$1/output_0.pb" <<'PY'
import sys, numpy as np, onnx
from onnx import numpy_helper as nh
def load(p):
    t = onnx.TensorProto(); t.ParseFromString(open(p, "rb").read()); return nh.to_array(t)
a, b = load(sys.argv[1]), load(sys.argv[2])
e = np.sqrt(((b - a) ** 2).sum(axis=(0, 2, 3)) / (a ** 2).sum(axis=(0, 2, 3)))
print("%.4g" % e.max())
PY
}
wd=$(worst "$tmp/dyn") wc=$(worst "$tmp/cal")
check dw-scale-per-channel "awk -v a=$wd 'BEGIN { exit !(a < 0.02) }'" "worst channel rel-L2 $wd with per-channel scales"
check dw-scale-control "awk -v a=$wc 'BEGIN { exit !(a > 0.2) }'" "worst channel rel-L2 $wc with one calibrated per-tensor scale"
exit 0
