#!/usr/bin/python3
"""tests/bad/make_bad.py: writes the corrupt and invalid models of tests/bad/.

One file per failure class. tests/bad/expected.txt pairs each file with the
command that must fail on it (exit code 2) and a piece of the message it must
print. Run with Debian's python3 (python3-onnx); the outputs are committed.
"""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, model, check=False):
    if check:
        onnx.checker.check_model(model)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(model.SerializeToString())


def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="tpusim-tests")


def vi(name, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


good = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")],
             [vi("x", [1, 4])], [vi("y", [1, 4])])
save("good_relu.onnx", good, check=True)
raw = good.SerializeToString()

with open(os.path.join(HERE, "empty.onnx"), "wb"):
    pass
with open(os.path.join(HERE, "truncated.onnx"), "wb") as f:
    f.write(raw[: len(raw) // 2])
rng = np.random.default_rng(7)
with open(os.path.join(HERE, "random.onnx"), "wb") as f:
    f.write(bytes([0x0a, 0xff, 0xff, 0x7f]) + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
with open(os.path.join(HERE, "text.onnx"), "w") as f:
    f.write("this is not a model, just some text\n" * 10)

save("cycle.onnx", model([helper.make_node("Add", ["x", "b"], ["a"], name="add_a"),
                          helper.make_node("Relu", ["a"], ["b"], name="relu_b"),
                          helper.make_node("Identity", ["a"], ["y"], name="out")],
                         [vi("x", [2])], [vi("y", [2])]))
save("missing_initializer.onnx", model([helper.make_node("Add", ["x", "w"], ["y"], name="add_w")],
                                       [vi("x", [2])], [vi("y", [2])]))
save("dangling_output.onnx", model([helper.make_node("Relu", ["x"], ["t"], name="relu0")],
                                   [vi("x", [2])], [vi("y", [2])]))
save("unknown_op.onnx", model([helper.make_node("FrobnicateTensor", ["x"], ["y"], name="frob0")],
                              [vi("x", [2])], [vi("y", [2])]))
w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
save("bad_attribute.onnx", model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv0",
                                                   pads=[1, 1, 1])],
                                 [vi("x", [1, 3, 8, 8])], [vi("y", None)], [w]))
save("rank_error.onnx", model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_rank")],
                              [vi("x", [3, 8])], [vi("y", None)], [w]))
save("dtype_mismatch.onnx", model([helper.make_node("Add", ["x", "z"], ["y"], name="add_mixed")],
                                  [vi("x", [2]), vi("z", [2], TensorProto.INT64)], [vi("y", [2])]))
neg = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[-3, 2])
save("negative_dim.onnx", model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")],
                                [vi("x", [2])], [vi("y", [2])], [neg]))
huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20])
save("huge_tensor.onnx", model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")],
                               [vi("x", [2])], [vi("y", [2])], [huge]))
short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 12)
save("short_raw_data.onnx", model([helper.make_node("Add", ["x", "w"], ["y"], name="add0")],
                                  [vi("x", [4])], [vi("y", [4])], [short]))
save("bad_reshape.onnx", model([helper.make_node("Reshape", ["x", "s"], ["y"], name="reshape0")],
                               [vi("x", [2, 3])], [vi("y", None)],
                               [numpy_helper.from_array(np.array([4, 2], np.int64), "s")]))

# Test-data inputs for the good model: one truncated, one of the wrong dtype/shape.
x = numpy_helper.from_array(np.ones((1, 4), np.float32), "x")
os.makedirs(os.path.join(HERE, "data_truncated"), exist_ok=True)
with open(os.path.join(HERE, "data_truncated", "input_0.pb"), "wb") as f:
    f.write(x.SerializeToString()[:-5])
os.makedirs(os.path.join(HERE, "data_wrong_dtype"), exist_ok=True)
with open(os.path.join(HERE, "data_wrong_dtype", "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(np.ones((1, 4), np.int32), "x").SerializeToString())
os.makedirs(os.path.join(HERE, "data_wrong_shape"), exist_ok=True)
with open(os.path.join(HERE, "data_wrong_shape", "input_0.pb"), "wb") as f:
    f.write(numpy_helper.from_array(np.ones((1, 5), np.float32), "x").SerializeToString())
print("wrote tests/bad/")
