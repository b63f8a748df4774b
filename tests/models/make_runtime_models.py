#!/usr/bin/python3
"""tests/models/make_runtime_models.py: the small models the CLI tests and the demo use.

  tiny_mlp.onnx       x[N,4] -> Gemm -> Relu -> Reshape(to [N,8] via the exporters'
                      Shape/Gather/Unsqueeze/Concat chain) -> Gemm -> Softmax -> y[N,3]
  tiny_mlp/test_data_set_0/     batch 2, expected output computed here with numpy
                                (an oracle independent of tpusim)
  tiny_mlp_bad/       same input, expected output with one element changed (exit 1)
  tiny_mlp_badshape/  an input of shape [2,5] (exit 2)
  unsupported_op.onnx Relu then an op from a custom domain tpusim does not know
Run with Debian's python3 (python3-onnx); the outputs are committed.
"""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261122)


def save_pb(arr, path, name):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())


w1 = rng.uniform(-1, 1, (8, 4)).astype(np.float32)
b1 = rng.uniform(-0.5, 0.5, (8,)).astype(np.float32)
w2 = rng.uniform(-1, 1, (3, 8)).astype(np.float32)
b2 = rng.uniform(-0.5, 0.5, (3,)).astype(np.float32)
inits = [numpy_helper.from_array(a, n) for a, n in
         [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"),
          (np.array(0, np.int64), "zero"), (np.array([0], np.int64), "axes0"),
          (np.array([8], np.int64), "eight")]]
nodes = [
    helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1),
    helper.make_node("Relu", ["h"], ["hr"], name="relu1"),
    helper.make_node("Shape", ["x"], ["xs"], name="shape"),
    helper.make_node("Gather", ["xs", "zero"], ["n"], name="gather", axis=0),
    helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"], name="unsqueeze"),
    helper.make_node("Concat", ["n1", "eight"], ["shp"], name="concat", axis=0),
    helper.make_node("Reshape", ["hr", "shp"], ["h2"], name="reshape"),
    helper.make_node("Gemm", ["h2", "w2", "b2"], ["z"], name="fc2", transB=1),
    helper.make_node("Softmax", ["z"], ["y"], name="softmax", axis=1),
]
g = helper.make_graph(nodes, "tiny_mlp",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tpusim-tests")
m.ir_version = 7
onnx.checker.check_model(m)
onnx.save(m, os.path.join(HERE, "tiny_mlp.onnx"))

x = rng.uniform(-1, 1, (2, 4)).astype(np.float32)
z = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
y = np.exp(z - z.max(axis=1, keepdims=True))
y = (y / y.sum(axis=1, keepdims=True)).astype(np.float32)
save_pb(x, os.path.join(HERE, "tiny_mlp/test_data_set_0/input_0.pb"), "x")
save_pb(y, os.path.join(HERE, "tiny_mlp/test_data_set_0/output_0.pb"), "y")
bad = y.copy()
bad[1, 2] += 0.25
save_pb(x, os.path.join(HERE, "tiny_mlp_bad/input_0.pb"), "x")
save_pb(bad, os.path.join(HERE, "tiny_mlp_bad/output_0.pb"), "y")
save_pb(rng.uniform(-1, 1, (2, 5)).astype(np.float32), os.path.join(HERE, "tiny_mlp_badshape/input_0.pb"), "x")
save_pb(y, os.path.join(HERE, "tiny_mlp_badshape/output_0.pb"), "y")

nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Frobnicate", ["r"], ["y"], name="frob", domain="com.example")]
g = helper.make_graph(nodes, "unsupported",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)],
                      producer_name="tpusim-tests")
m.ir_version = 7
onnx.save(m, os.path.join(HERE, "unsupported_op.onnx"))
