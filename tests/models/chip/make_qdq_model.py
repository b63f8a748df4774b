#!/usr/bin/python3
# tests/models/chip/make_qdq_model.py: writes conv_qdq.onnx, a pre-quantised
# (QDQ) convolution for tests/cli/chip_qdq.sh: x -> QuantizeLinear(0.01, int8 0)
# -> DequantizeLinear -> Conv(DequantizeLinear(int8 weights, one scale per
# output channel, zero points 0), fp32 bias). Every weight channel holds a
# +-127, so the chip's per-channel weight scale is the model's. Input values in
# [-1, 1] quantise to |q| <= 100: a run-time max |x| scale (1/127) differs from
# the model's 0.01. Run with /usr/bin/python3 (onnx, numpy); deterministic.
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

rng = np.random.default_rng(11)
wq = rng.integers(-127, 128, (16, 8, 3, 3)).astype(np.int8)
for c in range(16):
    wq[c].flat[c % 72] = 127 if c % 2 else -127
ws = (0.002 + 0.001 * rng.random(16)).astype(np.float32)
inits = [
    numpy_helper.from_array(np.array(0.01, np.float32), "xs"),
    numpy_helper.from_array(np.array(0, np.int8), "xz"),
    numpy_helper.from_array(wq, "wq"),
    numpy_helper.from_array(ws, "ws"),
    numpy_helper.from_array(np.zeros(16, np.int8), "wz"),
    numpy_helper.from_array(rng.uniform(-0.1, 0.1, 16).astype(np.float32), "b"),
]
nodes = [
    helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"], name="q_x"),
    helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"], name="dq_x"),
    helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], name="dq_w", axis=0),
    helper.make_node("Conv", ["xd", "wd", "b"], ["y"], name="conv", pads=[1, 1, 1, 1]),
]
g = helper.make_graph(nodes, "conv_qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8, 10, 10])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16, 10, 10])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tpusim-tests")
onnx.checker.check_model(m)
onnx.save(m, "conv_qdq.onnx")
