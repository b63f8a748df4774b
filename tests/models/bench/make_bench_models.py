#!/usr/bin/python3
"""tests/models/bench/make_bench_models.py: the small models tests/cli/bench.sh
and tests/test-bench.c run `tpusim bench` on. Both have a symbolic batch dim
"N" (bench sweeps the batch). Seeded; run from the repository root:
    /usr/bin/python3 tests/models/bench/make_bench_models.py
  cnn_dyn.onnx  Conv 1->8 3x3 pad 1, Relu, MaxPool 2, Flatten, Gemm 8*14*14 -> 10
  mlp_dyn.onnx  Gemm 128 -> 256, Relu, Gemm 256 -> 64
"""
import os
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)


def init(name, shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)


def save(name, nodes, inits, x_shape, y_shape):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + x_shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"] + y_shape)
    g = helper.make_graph(nodes, name, [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tpusim-tests")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(HERE, name + ".onnx"))


save("cnn_dyn", [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Flatten", ["p1"], ["f1"], name="flatten", axis=1),
    helper.make_node("Gemm", ["f1", "w2", "b2"], ["y"], name="fc", transB=1),
], [init("w1", (8, 1, 3, 3)), init("b1", (8,)), init("w2", (10, 8 * 14 * 14)), init("b2", (10,))],
    [1, 28, 28], [10])

save("mlp_dyn", [
    helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1"),
    helper.make_node("Relu", ["h"], ["r"], name="relu"),
    helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], name="fc2"),
], [init("w1", (128, 256)), init("b1", (256,)), init("w2", (256, 64)), init("b2", (64,))], [128], [64])
