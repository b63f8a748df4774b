#!/usr/bin/python3
# tests/models/chip/make_chip_models.py: writes the tiny single-layer ONNX
# models the chip tests run (tests/test-chip.c, tests/cli/chip*.sh).
# Run with /usr/bin/python3 (needs onnx and numpy); deterministic (seed 7).
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

rng = np.random.default_rng(7)

def save(name, nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, name, inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="tpusim-tests")
    onnx.checker.check_model(m)
    onnx.save(m, name + ".onnx")

def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

def const(name, shape):
    return numpy_helper.from_array(rng.uniform(-1, 1, shape).astype(np.float32), name)

# The acceptance GEMM: A[256x2048] x B[2048x2048]; B is a graph input so the file stays tiny.
save("gemm_256x2048x2048", [helper.make_node("Gemm", ["A", "B"], ["Y"], name="gemm")],
     [vi("A", [256, 2048]), vi("B", [2048, 2048])], [vi("Y", [256, 2048])], [])
# Gemm with transB, alpha/beta and a bias row.
save("gemm_small", [helper.make_node("Gemm", ["A", "W", "C"], ["Y"], name="fc", transB=1, alpha=0.5, beta=2.0)],
     [vi("A", [8, 20])], [vi("Y", [8, 12])], [const("W", [12, 20]), const("C", [12])])
# K over three 256-row tiles, N over two 256-column tiles (ragged both ways on 256x256).
# W is a graph input (seeded values at run time) to keep the file tiny.
save("gemm_ragged", [helper.make_node("Gemm", ["A", "W"], ["Y"], name="fc_ragged")],
     [vi("A", [37, 600]), vi("W", [600, 300])], [vi("Y", [37, 300])], [])
# MatMul with batch dims on A.
save("matmul_small", [helper.make_node("MatMul", ["A", "W"], ["Y"], name="mm")],
     [vi("A", [2, 3, 40])], [vi("Y", [2, 3, 70])], [const("W", [40, 70])])
# Conv: stride 2, padding 1, bias.
save("conv_small", [helper.make_node("Conv", ["X", "W", "B"], ["Y"], name="conv", strides=[2, 2], pads=[1, 1, 1, 1])],
     [vi("X", [2, 3, 10, 10])], [vi("Y", [2, 8, 5, 5])], [const("W", [8, 3, 3, 3]), const("B", [8])])
# Conv: groups 2, dilation 2, asymmetric padding.
save("conv_group", [helper.make_node("Conv", ["X", "W"], ["Y"], name="conv_g", group=2, dilations=[2, 2], pads=[1, 0, 2, 1])],
     [vi("X", [1, 4, 9, 9])], [vi("Y", [1, 6, 8, 6])], [const("W", [6, 2, 3, 3])])
# A Relu after the Gemm (fused into ACTIVATE; before that: not supported on the chip).
save("gemm_relu", [helper.make_node("Gemm", ["A", "W"], ["H"], name="fc"), helper.make_node("Relu", ["H"], ["Y"], name="act")],
     [vi("A", [4, 8])], [vi("Y", [4, 8])], [const("W", [8, 8])])
# Sigmoid after a Gemm with a bias row: ACTIVATE fuses it on bf16 chips; on
# int8 chips it has no chip lowering (run without --host-ops: an error naming it).
save("gemm_sigmoid", [helper.make_node("Gemm", ["A", "W", "C"], ["H"], name="fc"),
                      helper.make_node("Sigmoid", ["H"], ["Y"], name="act")],
     [vi("A", [5, 9])], [vi("Y", [5, 7])], [const("W", [9, 7]), const("C", [7])])
# Clip in the opset < 11 attribute form (as PaddleOCR's exports have it) after a Gemm: fused into ACTIVATE.
save("gemm_clip_attr", [helper.make_node("Gemm", ["A", "W", "C"], ["H"], name="fc"),
                        helper.make_node("Clip", ["H"], ["Y"], name="act", min=-0.25, max=0.5)],
     [vi("A", [4, 16])], [vi("Y", [4, 8])], [const("W", [16, 8]), const("C", [8])], opset=9)
# Host elementwise ops written over a dying input (compile/run.c output_over_input):
# the Add over the conv's result, the Relu over the Add's; Sigmoid must not
# overwrite B (a graph output); Neg must not overwrite C3 (the Sub after reads it).
save("residual_host", [helper.make_node("Conv", ["X", "W1"], ["C1"], name="conv1", pads=[1, 1, 1, 1]),
                       helper.make_node("Add", ["C1", "X"], ["A"], name="add"),
                       helper.make_node("Relu", ["A"], ["Y1"], name="relu"),
                       helper.make_node("Conv", ["X", "W2"], ["C2"], name="conv2", pads=[1, 1, 1, 1]),
                       helper.make_node("Mul", ["C2", "X"], ["B"], name="mul"),
                       helper.make_node("Sigmoid", ["B"], ["Y2"], name="sig"),
                       helper.make_node("Conv", ["X", "W3"], ["C3"], name="conv3", pads=[1, 1, 1, 1]),
                       helper.make_node("Neg", ["C3"], ["D"], name="neg"),
                       helper.make_node("Sub", ["D", "C3"], ["Y3"], name="sub3")],
     [vi("X", [2, 8, 5, 5])], [vi("Y1", [2, 8, 5, 5]), vi("B", [2, 8, 5, 5]), vi("Y2", [2, 8, 5, 5]),
                               vi("Y3", [2, 8, 5, 5])],
     [const("W1", [8, 8, 3, 3]), const("W2", [8, 8, 3, 3]), const("W3", [8, 8, 3, 3])])
