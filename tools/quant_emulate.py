#!/usr/bin/python3
"""tools/quant_emulate.py MODEL.onnx INPUT_DIR: how much of a chip run's error is
the arithmetic itself. Runs a batch-1 CNN ONNX graph (Conv, Clip, Add,
GlobalAveragePool, Flatten/Reshape, Gemm, Relu, MaxPool: MobileNetV2 / ResNet exports) in torch
in fp64 (the reference), fp32, with every Conv/Gemm's activation input and
weights rounded to bf16 (fp32 accumulation, fp32 bias: the bf16 chips' MXU), and
with int8 symmetric quantisation as tpusim's int8 chips do it (activations per
tensor by max |x| at run time, weights per output channel), printing rel-L2 and
cosine against fp64 and the error after selected convs. Writes the seeded input
it used as INPUT_DIR/input_0.pb so `tpusim run MODEL --chip C --host-ops --data
INPUT_DIR` can be compared with it (docs/compiler.md, "MobileNetV2 accuracy").
Independent of tpusim's code: torch's conv2d does the arithmetic.
"""
import os, sys, numpy as np, onnx, torch, torch.nn.functional as F
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); g = m.graph
init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
x = np.random.default_rng(3).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
os.makedirs(sys.argv[2], exist_ok=True)
open(os.path.join(sys.argv[2], "input_0.pb"), "wb").write(numpy_helper.from_array(x, g.input[0].name).SerializeToString())
def r(t): return t.to(torch.bfloat16).to(torch.float32)
def run(mode):
    v = dict(init); v[g.input[0].name] = torch.from_numpy(x).double() if mode == "f64" else torch.from_numpy(x)
    if mode == "f64": v = {k: t.double() if t.is_floating_point() else t for k, t in v.items()}
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [v[s] if s else None for s in n.input]
        q = r if mode == "bf16" else (lambda t: t)
        if mode.startswith("i8"):
            def qx(t):
                s = t.abs().max() / 127
                return torch.clamp(torch.round(t / s), -127, 127) * s if s > 0 else t
            def qw(w):
                d = w.reshape(w.shape[0], -1) if n.op_type == "Conv" else w
                ax = 1 if n.op_type == "Conv" else (0 if a.get("transB", 0) else 1)
                s = d.abs().amax(dim=ax, keepdim=True) / 127
                s = torch.where(s > 0, s, torch.ones_like(s))
                return (torch.clamp(torch.round(d / s), -127, 127) * s).reshape(w.shape)
            if mode == "i8w": qx = lambda t: t
            if mode == "i8x": qw = lambda t: t
        elif True: pass
        if not mode.startswith("i8"):
          qx = r if mode in ("bf16", "x") else (lambda t: t); qw = r if mode in ("bf16", "w") else (lambda t: t)
        if n.op_type == "Conv":
            b = i[2] if len(i) > 2 else None
            p = a.get("pads", [0, 0, 0, 0])
            o = F.conv2d(qx(i[0]), qw(i[1]), b, a.get("strides", [1, 1]), (p[0], p[1]), a.get("dilations", [1, 1]), a.get("group", 1))
        elif n.op_type == "Clip": o = torch.clamp(i[0], float(i[1]), float(i[2]))
        elif n.op_type == "Add": o = i[0] + i[1]
        elif n.op_type == "Relu": o = torch.clamp(i[0], min=0)
        elif n.op_type == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            o = F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", 1), (p[0], p[1]), ceil_mode=bool(a.get("ceil_mode", 0)))
        elif n.op_type == "GlobalAveragePool": o = i[0].mean((2, 3), keepdim=True)
        elif n.op_type == "Flatten": o = i[0].flatten(a.get("axis", 1))
        elif n.op_type == "Reshape": o = i[0].reshape([int(d) for d in i[1]])
        elif n.op_type == "Gemm":
            A, B = qx(i[0]), qw(i[1])
            if a.get("transB", 0): B = B.t()
            o = A @ B + i[2]
        elif n.op_type == "Shape": o = torch.tensor(i[0].shape)
        elif n.op_type == "Constant": o = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        else: raise SystemExit("op " + n.op_type)
        v[n.output[0]] = o
        if n.op_type == "Conv": trace.setdefault(mode, []).append(o.double())
    return v[g.output[0].name].double()
trace = {}
ref = run("f64"); f32 = run("f32"); b = run("bf16")
rl = lambda y: float((y - ref).norm() / ref.norm())
print("fp32 vs fp64 rel_l2 %.3g; bf16-inputs+weights vs fp64 rel_l2 %.4f (vs fp32 %.4f)" % (rl(f32), rl(b), float((b - f32).norm() / f32.norm())))
xo = run("x"); wo = run("w")
print("only activations bf16: %.4f; only weights bf16: %.4f" % (rl(xo), rl(wo)))
T = trace
L = len(T["f64"])
for k in sorted({0, L // 10, L // 5, 2 * L // 5, 3 * L // 5, 4 * L // 5, L - 1}):
    a, c = T["f64"][k], T["bf16"][k]
    print("conv %2d output rel_l2 vs fp64 %.4f" % (k, float((c - a).norm() / a.norm())))
i8 = run("i8")
cos = lambda y: float((y * ref).sum() / (y.norm() * ref.norm()))
print("int8 emulation: cosine %.5f rel_l2 %.4f" % (cos(i8), rl(i8)))
for k in sorted({0, L // 10, L // 5, 2 * L // 5, 3 * L // 5, 4 * L // 5, L - 1}):
    a, c = T["f64"][k], T["i8"][k]
    print("int8 conv %2d output rel_l2 vs fp64 %.4f" % (k, float((c - a).norm() / a.norm())))
print("int8 weights only: cosine %.5f rel_l2 %.4f; int8 activations only: cosine %.5f rel_l2 %.4f" % (cos(run("i8w")), rl(run("i8w")), cos(run("i8x")), rl(run("i8x"))))
