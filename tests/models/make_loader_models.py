#!/usr/bin/python3
"""tests/models/make_loader_models.py: small models that exercise the loader.

  ext/model.onnx + ext/weights.bin  an initializer in external data (mmap'd)
  squeeze_opset11.onnx              Squeeze/Unsqueeze with axes as attributes
  clip_opset6.onnx                  Clip with min/max attributes
  constant_weights.onnx             every weight in a Constant node (paddle2onnx style)
Run with Debian's python3 (python3-onnx); the outputs are committed.
"""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def vi(name, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "loader", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="tpusim-tests")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


w = numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(4, 16) / 8, "w")
m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
          [vi("x", [2, 4])], [vi("y", [2, 16])], [w])
os.makedirs(os.path.join(HERE, "ext"), exist_ok=True)
onnx.save_model(m, os.path.join(HERE, "ext", "model.onnx"), save_as_external_data=True,
                all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)

onnx.save(model([helper.make_node("Squeeze", ["x"], ["s"], name="sq", axes=[0, 2]),
                 helper.make_node("Unsqueeze", ["s"], ["y"], name="unsq", axes=[1])],
                [vi("x", [1, 3, 1, 5])], [vi("y", [3, 1, 5])], opset=11),
          os.path.join(HERE, "squeeze_opset11.onnx"))
onnx.save(model([helper.make_node("Clip", ["x"], ["y"], name="clip", min=-0.5, max=0.25)],
                [vi("x", [6])], [vi("y", [6])], opset=6),
          os.path.join(HERE, "clip_opset6.onnx"))
wc = helper.make_node("Constant", [], ["wc"], name="const_w",
                      value=numpy_helper.from_array(np.full((3, 2), 0.5, np.float32)))
bc = helper.make_node("Constant", [], ["bc"], name="const_b", value_floats=[1.0, -1.0])
onnx.save(model([wc, bc, helper.make_node("Gemm", ["x", "wc", "bc"], ["y"], name="gemm")],
                [vi("x", [1, 3])], [vi("y", [1, 2])]),
          os.path.join(HERE, "constant_weights.onnx"))
print("wrote tests/models/ loader models")
