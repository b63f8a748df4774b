#!/usr/bin/python3
"""tests/cli/small_models.py DIR: the hand-worked models of tests/cli/ub_plan.sh,
onchip.sh, precision.sh and prog_host_ops.sh, written into DIR (needs Debian's
python3-onnx).

chain.onnx: x[64,256] -> MatMul -> y1[64,512] -> MatMul -> y2[64,128] ->
MatMul -> out[64,256]. fused.onnx: x[1,16,32,32] -> Conv -> Relu -> Conv -> out.
convt.onnx: x[2,6,5,7] -> ConvTranspose (stride 2) -> out[2,4,10,14] (tests/cli/precision.sh).
refused.onnx: x[8,2048] -> MatMul -> Relu -> MatMul -> out[8,32] (tests/cli/onchip.sh).
"""
import sys, numpy as np, onnx
from onnx import helper as h, TensorProto as P, numpy_helper as nh
r = np.random.default_rng(3)
ws = [nh.from_array(r.standard_normal(s).astype(np.float32), n)
      for n, s in (("w1", (256, 512)), ("w2", (512, 128)), ("w3", (128, 256)))]
nodes = [h.make_node("MatMul", ["x", "w1"], ["y1"], name="mm1"),
         h.make_node("MatMul", ["y1", "w2"], ["y2"], name="mm2"),
         h.make_node("MatMul", ["y2", "w3"], ["out"], name="mm3")]
g = h.make_graph(nodes, "chain", [h.make_tensor_value_info("x", P.FLOAT, [64, 256])],
                 [h.make_tensor_value_info("out", P.FLOAT, [64, 256])], initializer=ws)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), sys.argv[1] + "/chain.onnx")
# x[1,16,32,32] -> Conv -> Relu (fused into ACTIVATE) -> Conv -> out: the first
# Conv's result is never stored, so 3 tensors of 16 KiB (int8), at most two
# alive (the Relu's output and the output, at the second Conv): 32 KiB.
cw = [nh.from_array(r.standard_normal((16, 16, 3, 3)).astype(np.float32), n) for n in ("k1", "k2")]
nodes = [h.make_node("Conv", ["x", "k1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
         h.make_node("Relu", ["c1"], ["r1"], name="relu1"),
         h.make_node("Conv", ["r1", "k2"], ["out"], name="conv2", pads=[1, 1, 1, 1])]
g = h.make_graph(nodes, "fused", [h.make_tensor_value_info("x", P.FLOAT, [1, 16, 32, 32])],
                 [h.make_tensor_value_info("out", P.FLOAT, [1, 16, 32, 32])], initializer=cw)
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), sys.argv[1] + "/fused.onnx")
# x[2,6,5,7] -> ConvTranspose (stride 2, pads 1, output_padding 1, bias) -> out:
# the zero-inserted input path (compile/mm_convt.c) under the bf16 and 16-bit splits.
tw = nh.from_array(r.standard_normal((6, 4, 3, 3)).astype(np.float32) / 4, "tw")
tb = nh.from_array(r.standard_normal(4).astype(np.float32), "tb")
nodes = [h.make_node("ConvTranspose", ["x", "tw", "tb"], ["out"], name="convt", strides=[2, 2],
                     pads=[1, 1, 1, 1], output_padding=[1, 1])]
g = h.make_graph(nodes, "convt", [h.make_tensor_value_info("x", P.FLOAT, [2, 6, 5, 7])],
                 [h.make_tensor_value_info("out", P.FLOAT, [2, 4, 10, 14])], initializer=[tw, tb])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), sys.argv[1] + "/convt.onnx")
# x[8,2048] -> MatMul (K 2048, N 16) -> Relu -> MatMul (16 -> 32) -> out: with a
# 4 KiB unified buffer the first MatMul's row does not fit (host), the Relu's does.
w1 = nh.from_array(r.standard_normal((2048, 16)).astype(np.float32) / 45, "w1")
w2 = nh.from_array(r.standard_normal((16, 32)).astype(np.float32) / 4, "w2")
nodes = [h.make_node("MatMul", ["x", "w1"], ["y1"], name="big"),
         h.make_node("Relu", ["y1"], ["r1"], name="relu"),
         h.make_node("MatMul", ["r1", "w2"], ["out"], name="small")]
g = h.make_graph(nodes, "refused", [h.make_tensor_value_info("x", P.FLOAT, [8, 2048])],
                 [h.make_tensor_value_info("out", P.FLOAT, [8, 32])], initializer=[w1, w2])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), sys.argv[1] + "/refused.onnx")
