#!/usr/bin/python3
"""tools/quant_emulate.py MODEL.onnx INPUT_DIR [--input FILE.pb] [--dw-per-channel] [--asym] [--wide]:
how much of a chip run's error is the arithmetic itself.

Runs an ONNX CNN graph in torch (its own conv2d, not tpusim's code) in fp64 (the
reference), fp32, with every Conv/Gemm/MatMul's activation input and weights
rounded to bf16 (fp32 accumulation, fp32 bias: the bf16 chips' MXU), and with
int8 symmetric quantisation as tpusim's int8 chips do it (activations per
tensor by max |x| at run time, weights per output channel), printing rel-L2 and
cosine against fp64 and the error after selected convs. --dw-per-channel also
runs int8 with per-channel activation scales on grouped (depthwise) convs
only, the scheme a per-channel host quantiser would give (exact on the chip's
block-diagonal layout: each output column sees one input channel's scale).
--asym also runs int8 with asymmetric activations (uint8 with a zero point over
[min, max] per tensor, as TFLite and ONNX's QLinear ops do; the TPU v1 MXU takes
unsigned operands), with and without --dw-per-channel's depthwise scales.
--wide asks what 16-bit operands would give (TPU v1: 8b x 16b at half speed,
16b x 16b at quarter speed): every MXU op with 16-bit activations, 16-bit
weights, or both (symmetric, 32767 levels), then, from int8, each MXU op made
16-bit in turn and the ops added in order of benefit until cosine >= 0.99.

Ops: Conv, ConvTranspose, Gemm, MatMul, Relu, Clip, Sigmoid, HardSigmoid, Add,
Sub, Mul, Div, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool,
Flatten, Reshape, Concat, Resize (nearest), Softmax, Shape, Cast, Slice, Pow,
Sqrt, ReduceMean, Transpose, Squeeze, Unsqueeze, Constant (MobileNetV2 / ResNet
exports, PaddleOCR det, rec and cls). A MatMul of two activations is rounded on
both sides the same way (bf16; int8 per tensor / per column). The input: --input FILE.pb, else a
seeded uniform [-1, 1) image of shape (1, 3, 224, 224); it is written as
INPUT_DIR/input_0.pb so `tpusim run MODEL --chip C --host-ops --data INPUT_DIR`
can be compared with it (docs/compiler.md, "MobileNetV2 accuracy").
"""
import argparse, os, sys
import numpy as np, onnx, torch, torch.nn.functional as F
from onnx import numpy_helper

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("model"); ap.add_argument("input_dir")
ap.add_argument("--input", help="input tensor .pb (default: seeded uniform 1x3x224x224)")
ap.add_argument("--dw-per-channel", action="store_true")
ap.add_argument("--asym", action="store_true")
ap.add_argument("--wide", action="store_true")
args = ap.parse_args()
m = onnx.load(args.model); g = m.graph
init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in g.initializer}
if args.input:
    x = numpy_helper.to_array(onnx.load_tensor(args.input)).astype(np.float32)
else:
    x = np.random.default_rng(3).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
os.makedirs(args.input_dir, exist_ok=True)
open(os.path.join(args.input_dir, "input_0.pb"), "wb").write(
    numpy_helper.from_array(x, g.input[0].name).SerializeToString())
MXU = ("Conv", "Gemm", "MatMul")


def bf(t): return t.to(torch.bfloat16).to(t.dtype)


def q8(t, s):
    return torch.clamp(torch.round(t / s), -127, 127) * s


def qx_tensor(t):                            # int8, per tensor, max |x| at run time
    s = t.abs().max() / 127
    return q8(t, s) if s > 0 else t


def qx_channel(t):                           # int8, per channel (dim 1)
    s = t.abs().amax(dim=[d for d in range(t.dim()) if d != 1], keepdim=True) / 127
    return q8(t, torch.where(s > 0, s, torch.ones_like(s)))


def qw_columns(w, op, a, levels=127):        # int8, per output channel / column
    if op == "Conv":
        d, ax = w.reshape(w.shape[0], -1), 1
    else:
        d, ax = w, (1 if op == "Gemm" and a.get("transB", 0) else 0) if w.dim() == 2 else -2
    s = d.abs().amax(dim=ax, keepdim=True) / levels
    s = torch.where(s > 0, s, torch.ones_like(s))
    return (torch.clamp(torch.round(d / s), -levels, levels) * s).reshape(w.shape)


def qx_asym(t):                              # uint8 over [min, max], a zero point
    lo, hi = min(float(t.min()), 0.0), max(float(t.max()), 0.0)
    if hi <= lo: return t
    s = (hi - lo) / 255
    z = round(-lo / s)
    return (torch.clamp(torch.round(t / s) + z, 0, 255) - z) * s


def qx_asym_channel(t):                      # the same per channel (dim 1)
    dims = [d for d in range(t.dim()) if d != 1]
    lo = torch.clamp(t.amin(dim=dims, keepdim=True), max=0)
    hi = torch.clamp(t.amax(dim=dims, keepdim=True), min=0)
    s = (hi - lo) / 255
    s = torch.where(s > 0, s, torch.ones_like(s))
    z = torch.round(-lo / s)
    return (torch.clamp(torch.round(t / s) + z, 0, 255) - z) * s


def q16(t, s):
    return torch.clamp(torch.round(t / s), -32767, 32767) * s


def qx16(t):                                 # 16-bit, per tensor
    s = t.abs().max() / 32767
    return q16(t, s) if s > 0 else t


def qw16(w, op, a):                          # 16-bit, per output channel / column
    return qw_columns(w, op, a, 32767)


WIDE = {"x": set(), "w": set()}              # --wide: MXU op indices made 16-bit
mxu_k = [0]                                  # the MXU op being run, in graph order


def quantisers(mode, op, a):
    """(activation, weight) rounding for an MXU node in this mode."""
    ident = lambda t: t
    if mode in ("f64", "f32"): return ident, ident
    if mode == "wide":                       # int8 except the ops in WIDE
        k = mxu_k[0]
        mxu_k[0] += 1
        qx, qw = quantisers("i8dw" if args.dw_per_channel else "i8", op, a)
        return (qx16 if k in WIDE["x"] else qx), ((lambda w: qw16(w, op, a)) if k in WIDE["w"] else qw)
    if mode in ("asym", "asymdw"):
        dw = mode == "asymdw" and op == "Conv" and a.get("group", 1) > 1
        return qx_asym_channel if dw else qx_asym, lambda w: qw_columns(w, op, a)
    if mode == "bf16": return bf, bf
    if mode == "x": return bf, ident
    if mode == "w": return ident, bf
    qx = qx_channel if mode == "i8dw" and op == "Conv" and a.get("group", 1) > 1 else qx_tensor
    qw = lambda w: qw_columns(w, op, a)
    if mode == "i8w": return ident, qw
    if mode == "i8x": return qx, ident
    return qx, qw


def pads2(a):
    p = a.get("pads", [0, 0, 0, 0])
    return (p[0], p[1])


def node(n, i, a, mode):
    op = n.op_type
    qx, qw = quantisers(mode, op, a) if op in MXU else (None, None)
    if op == "Conv":
        b = i[2] if len(i) > 2 else None
        return F.conv2d(qx(i[0]), qw(i[1]), b, a.get("strides", [1, 1]), pads2(a),
                        a.get("dilations", [1, 1]), a.get("group", 1))
    if op == "ConvTranspose":                # on the host in tpusim: fp32
        b = i[2] if len(i) > 2 else None
        return F.conv_transpose2d(i[0], i[1], b, a.get("strides", [1, 1]), pads2(a),
                                  groups=a.get("group", 1), dilation=a.get("dilations", [1, 1]))
    if op == "Gemm":
        A, B = qx(i[0]), qw(i[1])
        if a.get("transA", 0): A = A.t()
        if a.get("transB", 0): B = B.t()
        return a.get("alpha", 1.0) * (A @ B) + (a.get("beta", 1.0) * i[2] if len(i) > 2 else 0)
    if op == "MatMul": return qx(i[0]) @ qw(i[1])
    if op == "Relu": return torch.clamp(i[0], min=0)
    if op == "Clip":
        lo = float(i[1]) if len(i) > 1 and i[1] is not None else a.get("min", -float("inf"))
        hi = float(i[2]) if len(i) > 2 and i[2] is not None else a.get("max", float("inf"))
        return torch.clamp(i[0], lo, hi)
    if op == "Sigmoid": return torch.sigmoid(i[0])
    if op == "HardSigmoid": return torch.clamp(a.get("alpha", 0.2) * i[0] + a.get("beta", 0.5), 0, 1)
    if op == "Add": return i[0] + i[1]
    if op == "Sub": return i[0] - i[1]
    if op == "Mul": return i[0] * i[1]
    if op == "Div": return i[0] / i[1]
    if op == "BatchNormalization":
        sh = (1, -1) + (1,) * (i[0].dim() - 2)
        return (i[0] - i[3].reshape(sh)) / torch.sqrt(i[4].reshape(sh) + a.get("epsilon", 1e-5)) * \
            i[1].reshape(sh) + i[2].reshape(sh)
    if op == "MaxPool":
        return F.max_pool2d(i[0], a["kernel_shape"], a.get("strides", 1), pads2(a),
                            ceil_mode=bool(a.get("ceil_mode", 0)))
    if op == "AveragePool":
        return F.avg_pool2d(i[0], a["kernel_shape"], a.get("strides", 1), pads2(a),
                            ceil_mode=bool(a.get("ceil_mode", 0)),
                            count_include_pad=bool(a.get("count_include_pad", 0)))
    if op == "GlobalAveragePool": return i[0].mean((2, 3), keepdim=True)
    if op == "Flatten": return i[0].flatten(a.get("axis", 1))
    if op == "Reshape":
        shape = [int(d) for d in i[1]]
        shape = [i[0].shape[k] if d == 0 else d for k, d in enumerate(shape)]
        return i[0].reshape(shape)
    if op == "Concat":
        if all(not t.is_floating_point() for t in i): return torch.cat([t.long() for t in i], a.get("axis", 0))
        return torch.cat(i, a.get("axis", 0))
    if op == "Resize":
        if a.get("mode", b"nearest") != b"nearest" or len(i) < 3 or i[2] is None or not i[2].numel():
            raise SystemExit("quant_emulate.py: Resize other than nearest with scales")
        return F.interpolate(i[0], scale_factor=[float(s) for s in i[2][2:]], mode="nearest")
    if op == "Softmax": return torch.softmax(i[0], a.get("axis", -1))
    if op == "Pow": return torch.pow(i[0], i[1])
    if op == "Sqrt": return torch.sqrt(i[0])
    if op == "ReduceMean":
        axes = a.get("axes", list(range(i[0].dim())))
        return i[0].mean([int(d) for d in axes], keepdim=bool(a.get("keepdims", 1)))
    if op == "Transpose": return i[0].permute(*a.get("perm", list(range(i[0].dim() - 1, -1, -1))))
    if op == "Squeeze":
        axes = a.get("axes") if len(i) < 2 else [int(d) for d in i[1]]
        t = i[0]
        for ax in sorted([d % t.dim() for d in axes], reverse=True): t = t.squeeze(ax)
        return t
    if op == "Unsqueeze":
        axes = a.get("axes") if len(i) < 2 else [int(d) for d in i[1]]
        t = i[0]
        for ax in sorted(axes): t = t.unsqueeze(ax)
        return t
    if op == "Shape": return torch.tensor(i[0].shape)
    if op == "Cast":
        to = {onnx.TensorProto.FLOAT: torch.float32, onnx.TensorProto.INT64: torch.int64,
              onnx.TensorProto.INT32: torch.int32}.get(a["to"])
        if to is None: raise SystemExit("quant_emulate.py: Cast to type %d" % a["to"])
        return i[0].to(to)
    if op == "Slice":                         # shape arithmetic (PaddleOCR's Reshape targets)
        t = i[0]
        if len(i) == 1:                       # opset < 10: attributes
            i = [t, a["starts"], a["ends"], a.get("axes")]
        axes = [int(d) for d in i[3]] if len(i) > 3 and i[3] is not None else list(range(len(i[1])))
        steps = [int(d) for d in i[4]] if len(i) > 4 and i[4] is not None else [1] * len(axes)
        idx = [slice(None)] * t.dim()
        for ax, st, en, sp in zip(axes, i[1], i[2], steps):
            n_ = t.shape[ax]
            st, en = max(-n_, min(int(st), n_)), max(-n_ - 1, min(int(en), n_))
            idx[ax] = slice(st, en, sp)
        return t[tuple(idx)]
    if op == "Constant": return torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
    raise SystemExit("quant_emulate.py: op %s not emulated" % op)


trace = {}


def run(mode):
    mxu_k[0] = 0
    v = dict(init)
    v[g.input[0].name] = torch.from_numpy(x)
    dt = torch.float64 if mode == "f64" else torch.float32
    v = {k: t.to(dt) if t.is_floating_point() else t for k, t in v.items()}
    for n in g.node:
        a = {at.name: onnx.helper.get_attribute_value(at) for at in n.attribute}
        i = [v[s] if s else None for s in n.input]
        o = node(n, i, a, mode)
        if o.is_floating_point(): o = o.to(dt)
        v[n.output[0]] = o
        if n.op_type == "Conv": trace.setdefault(mode, []).append(o.double())
    return v[g.output[0].name].double()


ref = run("f64"); f32 = run("f32"); b = run("bf16")
rl = lambda y: float((y - ref).norm() / ref.norm())
cos = lambda y: float((y * ref).sum() / (y.norm() * ref.norm()))
print("fp32 vs fp64 rel_l2 %.3g; bf16-inputs+weights vs fp64 rel_l2 %.4f (vs fp32 %.4f)" %
      (rl(f32), rl(b), float((b - f32).norm() / f32.norm())))
print("only activations bf16: %.4f; only weights bf16: %.4f" % (rl(run("x")), rl(run("w"))))
T = trace
L = len(T["f64"])
picks = sorted({0, L // 10, L // 5, 2 * L // 5, 3 * L // 5, 4 * L // 5, L - 1})
for k in picks:
    a_, c_ = T["f64"][k], T["bf16"][k]
    print("conv %2d output rel_l2 vs fp64 %.4f" % (k, float((c_ - a_).norm() / a_.norm())))
i8 = run("i8")
print("int8 emulation: cosine %.5f rel_l2 %.4f" % (cos(i8), rl(i8)))
for k in picks:
    a_, c_ = T["f64"][k], T["i8"][k]
    print("int8 conv %2d output rel_l2 vs fp64 %.4f" % (k, float((c_ - a_).norm() / a_.norm())))
print("int8 weights only: cosine %.5f rel_l2 %.4f; int8 activations only: cosine %.5f rel_l2 %.4f" %
      (cos(run("i8w")), rl(run("i8w")), cos(run("i8x")), rl(run("i8x"))))
if args.dw_per_channel:
    d = run("i8dw")
    print("int8 with per-channel activation scales on grouped convs: cosine %.5f rel_l2 %.4f" % (cos(d), rl(d)))
if args.asym:
    for m, what in (("asym", "per tensor"), ("asymdw", "per tensor, per channel on grouped convs")):
        y = run(m)
        print("int8 with asymmetric (uint8, zero point) activations, %s: cosine %.5f rel_l2 %.4f" % (what, cos(y), rl(y)))
if args.wide:
    run("wide")
    n_mxu = mxu_k[0]
    every = set(range(n_mxu))
    for x_, w_, what in ((every, set(), "16-bit activations, int8 weights"),
                         (set(), every, "int8 activations, 16-bit weights"), (every, every, "16-bit both")):
        WIDE["x"], WIDE["w"] = x_, w_
        y = run("wide")
        print("every MXU op with %s: cosine %.5f rel_l2 %.4f" % (what, cos(y), rl(y)))
    gain = []
    for k in range(n_mxu):                   # one op 16-bit (both operands), the rest int8
        WIDE["x"] = WIDE["w"] = {k}
        gain.append((cos(run("wide")), k))
    gain.sort(reverse=True)
    chosen, c = set(), None
    for _, k in gain:                        # add ops, most helpful first, until the bound
        chosen.add(k)
        WIDE["x"] = WIDE["w"] = set(chosen)
        c = cos(run("wide"))
        if c >= 0.99: break
    print("16-bit ops (both operands) added one by one, most helpful alone first: %d of %d MXU ops for "
          "cosine %.5f%s" % (len(chosen), n_mxu, c, "" if c is not None and c >= 0.99 else " (bound not reached)"))
