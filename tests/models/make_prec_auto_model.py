#!/usr/bin/python3
"""tests/models/make_prec_auto_model.py OUT.onnx: a small MLP whose int8 run
misses the cosine >= 0.99 bound in ONE layer (tests/cli/precision_auto.sh).

x [batch, 32] -> Gemm 32x64 + Relu -> Gemm 64x64 + Relu -> Gemm 64x64 + Relu
-> Gemm 64x10. The first layer's unit 0 is dead (bias -100: Relu gives 0 for
inputs in [-1, 1)); the second layer's weight row for that unit holds 10 in
every column while its other weights are ~N(0, 0.1): the symmetric per-column
int8 scale (10 / 127) rounds most of them to 0 or +-1 step, a large error the
outlier (times a zero input) never pays back. 16-bit weights fix it; the other
layers are plain and int8 suits them. Seeded: the same file every time."""
import sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
def w(shape, s):
    return (rng.standard_normal(shape) * s).astype(np.float32)

W1, b1 = w((32, 64), 0.3), w((64,), 0.05)
W1[:, 0] = 0.01
b1[0] = -100.0                       # unit 0 never fires
W2, b2 = w((64, 64), 0.1), w((64,), 0.05)
W2[0, :] = 10.0                      # the outlier row: the scale, never the sum
W3, b3 = w((64, 64), 0.15), w((64,), 0.05)
W4, b4 = w((64, 10), 0.2), w((10,), 0.05)
inits, nodes, x = [], [], "x"
for i, (W, b) in enumerate([(W1, b1), (W2, b2), (W3, b3), (W4, b4)], 1):
    inits += [numpy_helper.from_array(W, "W%d" % i), numpy_helper.from_array(b, "b%d" % i)]
    y = "y" if i == 4 else "g%d" % i
    nodes.append(helper.make_node("Gemm", [x, "W%d" % i, "b%d" % i], [y], name="fc%d" % i))
    if i < 4:
        nodes.append(helper.make_node("Relu", [y], ["r%d" % i], name="relu%d" % i))
        x = "r%d" % i
g = helper.make_graph(nodes, "prec_auto_mlp",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 32])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tpusim-tests")
m.ir_version = 7
onnx.checker.check_model(m)
onnx.save(m, sys.argv[1])
