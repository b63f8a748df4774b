#!/usr/bin/python3
"""bench/tpu-v1-paper/make_apps.py: rebuilds the six production apps of the TPU v1
paper (Jouppi et al., ISCA 2017, Table 1) as ONNX models, from the layer counts,
weight totals and batch sizes of Table 1. Every assumption is in README.md.

  /usr/bin/python3 bench/tpu-v1-paper/make_apps.py [-o build/tpu-v1-paper] [--only mlp0,cnn0]
        [--batch N | --symbolic-batch] [--summary-only] [--markdown]

Writes OUT/<app>.onnx (fp32 weights that are exact int8 multiples of a power-of-two
scale, seeded), then prints, per app, what the *written file* contains — layer counts
by kind, weights, MACs per inference, MACs per weight byte at the batch — next to
Table 1, and the memory-bound roofline TOPS (REFERENCE §1.8) next to the paper's
measured TOPS (Table 3 row 9). --summary-only skips writing weights (fast).

Layers: every ONNX node is named "L<k>.<kind>.<what>"; a layer is the set of
nodes sharing "L<k>", and its kind is fc / conv / vector / pool. Nonlinearities that
follow an FC or conv belong to that layer (the TPU's Activate step); Concat and
Flatten are data movement inside a layer, not layers.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference, TensorProto

# Table 1 (REFERENCE §1.3) and Table 3 row 9 (§1.5)
TABLE1 = {
    #        FC  conv vector pool  weights      ops/weight-byte batch  measured TOPS
    "mlp0":  (5,  0,   0,    0,   20e6,        200,   200,   12.3),
    "mlp1":  (4,  0,   0,    0,   5e6,         168,   168,   9.7),
    "lstm0": (24, 0,   34,   0,   52e6,        64,    64,    3.7),
    "lstm1": (37, 0,   19,   0,   34e6,        96,    96,    2.8),
    "cnn0":  (0,  16,  0,    0,   8e6,         2888,  8,     86.0),
    "cnn1":  (4,  72,  0,    13,  100e6,       1750,  32,    14.1),
}
PEAK_TOPS, DDR3_BYTES_PER_S = 92.0, 34e9        # REFERENCE §1.1


class Builder:
    """Accumulates nodes, initializers and layer tags for one app."""

    def __init__(self, name, batch, rng, with_weights):
        self.name, self.batch, self.rng, self.with_weights = name, batch, rng, with_weights
        self.nodes, self.inits, self.inputs, self.layer = [], [], [], 0
        self.n_tensors = 0

    def tmp(self, base):
        self.n_tensors += 1
        return "%s_%d" % (base, self.n_tensors)

    def new_layer(self, kind):
        self.layer += 1
        self.kind = kind
        return self.layer

    def node(self, op, ins, what, outs=None, **attrs):
        outs = outs or [self.tmp(what)]
        self.nodes.append(helper.make_node(op, ins, outs, name="L%d.%s.%s" % (self.layer, self.kind, what), **attrs))
        return outs[0]

    def weight(self, shape, fan_in, what):
        """int8 values q in [-127, 127] times a power-of-two scale: exact in fp32 and int8."""
        name = "%s_w%d" % (what, len(self.inits))
        if self.with_weights:
            scale = 2.0 ** np.round(np.log2(1.0 / (40.0 * np.sqrt(fan_in))))
            q = np.clip(np.round(self.rng.standard_normal(shape, dtype=np.float32) * 40), -127, 127)
            self.inits.append(numpy_helper.from_array((q * scale).astype(np.float32), name))
        else:
            self.inits.append(_shape_only(name, shape))
        return name

    def input(self, name, dims):
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [self.batch] + list(dims)))
        return name

    # ---- layer kinds
    def fc(self, x, n_in, n_out, act, what="fc"):
        """Gemm (+ fused nonlinearity). Biases are separate from the Table 1 weight count."""
        w = self.weight([n_in, n_out], n_in, what)
        b = self.weight([n_out], n_in, what + "_b")
        y = self.node("Gemm", [x, w, b], what)
        return self.node(act, [y], what + "_" + act.lower()) if act else y

    def conv(self, x, c_in, c_out, k, what="conv"):
        w = self.weight([c_out, c_in, k, k], c_in * k * k, what)
        b = self.weight([c_out], c_in * k * k, what + "_b")
        p = k // 2
        y = self.node("Conv", [x, w, b], what, kernel_shape=[k, k], pads=[p, p, p, p])
        return self.node("Relu", [y], what + "_relu")

    def build(self, outputs):
        g = helper.make_graph(self.nodes, self.name, self.inputs, [], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="tpusim make_apps.py")
        known = {vi.name: vi for vi in shape_inference.infer_shapes(m, strict_mode=True).graph.value_info}
        m.graph.output.extend(known[o] for o in outputs)     # outputs typed by ONNX's own inference
        return m


def _shape_only(name, shape):
    """An initializer stand-in with the right dims and no values (summary mode only)."""
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(shape)
    return t


# ---------------------------------------------------------------- the apps

def mlp(b, widths):
    x = b.input("x", [widths[0]])
    for i in range(len(widths) - 1):
        b.new_layer("fc")
        last = i == len(widths) - 2
        x = b.fc(x, widths[i], widths[i + 1], None if last else "Relu", "fc%d" % (i + 1))
    return [x]


def lstm_cell(b, x, n_in, hid, cell, vector_grouping):
    """One LSTM step: 4 gate FC layers on [x; h_prev], then the state update as
    vector layers. vector_grouping 'node' makes every elementwise node its own
    layer (5 per cell); 'update' groups them as c'=f*c+i*g and h'=o*tanh(c') (2)."""
    h_prev = b.input("h%d_prev" % cell, [hid])
    c_prev = b.input("c%d_prev" % cell, [hid])
    gates = {}
    for gname, act in (("i", "Sigmoid"), ("f", "Sigmoid"), ("g", "Tanh"), ("o", "Sigmoid")):
        b.new_layer("fc")
        if gname == "i":
            xh = b.node("Concat", [x, h_prev], "c%d_xh" % cell, axis=1)   # data movement, part of this layer
        gates[gname] = b.fc(xh, n_in + hid, hid, act, "c%d_gate_%s" % (cell, gname))
    if vector_grouping == "node":
        b.new_layer("vector"); fc_ = b.node("Mul", [gates["f"], c_prev], "c%d_f_c" % cell)
        b.new_layer("vector"); ig = b.node("Mul", [gates["i"], gates["g"]], "c%d_i_g" % cell)
        b.new_layer("vector"); c = b.node("Add", [fc_, ig], "c%d_c" % cell)
        b.new_layer("vector"); tc = b.node("Tanh", [c], "c%d_tanh_c" % cell)
        b.new_layer("vector"); h = b.node("Mul", [gates["o"], tc], "c%d_h" % cell)
    else:
        b.new_layer("vector")
        c = b.node("Add", [b.node("Mul", [gates["f"], c_prev], "c%d_f_c" % cell),
                           b.node("Mul", [gates["i"], gates["g"]], "c%d_i_g" % cell)], "c%d_c" % cell)
        b.new_layer("vector")
        h = b.node("Mul", [gates["o"], b.node("Tanh", [c], "c%d_tanh_c" % cell)], "c%d_h" % cell)
    return h


def lstm0(b):
    """6 stacked cells, hidden 1000, first input 2000; residual Adds into cells 3-6
    (GNMT-style) are 4 more vector layers: 24 FC, 6x5+4 = 34 vector."""
    hid, x = 1000, b.input("x", [2000])
    for cell in range(1, 7):
        h = lstm_cell(b, x, 2000 if cell == 1 else hid, hid, cell, "node")
        if cell >= 3:
            b.new_layer("vector")
            h = b.node("Add", [h, x], "c%d_residual" % cell)
        x = h
    return [x]


def lstm1(b):
    """9 stacked cells, hidden 680, input 680, then an output FC 680 -> 1040 and a
    Softmax vector layer: 9x4+1 = 37 FC, 9x2+1 = 19 vector."""
    hid, x = 680, b.input("x", [680])
    for cell in range(1, 10):
        x = lstm_cell(b, x, hid, hid, cell, "update")
    b.new_layer("fc")
    y = b.fc(x, hid, 1040, None, "out")
    b.new_layer("vector")
    return [b.node("Softmax", [y], "softmax", axis=1)]


def cnn0(b):
    """16 3x3 convs (+ReLU) at 19x19, 104 input planes, 240 channels."""
    x = b.input("x", [104, 19, 19])
    c_in = 104
    for i in range(1, 17):
        b.new_layer("conv")
        x = b.conv(x, c_in, 240, 3, "conv%d" % i)
        c_in = 240
    return [x]


CNN1_POOL_AFTER = {5, 11, 16, 22, 27, 33, 38, 44, 49, 55, 60, 66, 71}   # 13 pools among 72 convs


def cnn1(b):
    """72 3x3 convs (+ReLU) at 19x19 on 48 input planes, 152 channels; 13 3x3
    stride-1 max-pools (keep 19x19); 4 FC: 54872 -> 1536 -> 512 -> 256 -> 1."""
    x = b.input("x", [48, 19, 19])
    c_in = 48
    for i in range(1, 73):
        b.new_layer("conv")
        x = b.conv(x, c_in, 152, 3, "conv%d" % i)
        c_in = 152
        if i in CNN1_POOL_AFTER:
            b.new_layer("pool")
            x = b.node("MaxPool", [x], "pool%d" % i, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    widths = [152 * 19 * 19, 1536, 512, 256, 1]
    for i in range(4):
        b.new_layer("fc")
        if i == 0:
            x = b.node("Flatten", [x], "flatten", axis=1)      # data movement, part of fc1
        x = b.fc(x, widths[i], widths[i + 1], "Relu" if i < 3 else "Tanh", "fc%d" % (i + 1))
    return [x]


APPS = {
    "mlp0": lambda b: mlp(b, [2000] * 6),
    "mlp1": lambda b: mlp(b, [1000, 1250, 1000, 1250, 1000]),
    "lstm0": lstm0,
    "lstm1": lstm1,
    "cnn0": cnn0,
    "cnn1": cnn1,
}


# ---------------------------------------------------------------- measuring the result

def summarize(model, batch):
    """Counts what the model holds: layers by kind, weights, biases, MACs/inference."""
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    inits = {t.name: list(t.dims) for t in model.graph.initializer}
    shapes.update(inits)
    kinds, weights, biases, macs = {}, 0, 0, 0
    for n in model.graph.node:
        layer, kind = n.name.split(".")[:2]
        kinds.setdefault(layer, kind)
        if n.op_type in ("Gemm", "Conv"):
            w = inits[n.input[1]]
            weights += int(np.prod(w))
            biases += int(np.prod(inits[n.input[2]])) if len(n.input) > 2 else 0
            out = shapes[n.output[0]]
            per_out = int(np.prod(w)) // w[0] if n.op_type == "Conv" else w[0]
            macs += int(np.prod(out[1:])) * per_out          # per inference: drop the batch dim
    counts = {k: sum(1 for v in kinds.values() if v == k) for k in ("fc", "conv", "vector", "pool")}
    return counts, weights, biases, macs


def report_rows(name, model, batch):
    fc, conv, vec, pool, w_paper, opb_paper, b_paper, tops_paper = TABLE1[name]
    counts, weights, biases, macs = summarize(model, batch)
    opb = macs * batch / weights                     # MACs per int8 weight byte per batch
    roof = min(PEAK_TOPS, 2 * DDR3_BYTES_PER_S * opb / 1e12)
    ok = (counts["fc"], counts["conv"], counts["vector"], counts["pool"]) == (fc, conv, vec, pool)
    return dict(app=name, fc=counts["fc"], conv=counts["conv"], vector=counts["vector"], pool=counts["pool"],
                layers=sum(counts.values()), layers_paper=fc + conv + vec + pool, counts_ok=ok,
                weights=weights, weights_paper=w_paper, biases=biases, macs=macs, batch=batch, batch_paper=b_paper,
                opb=opb, opb_paper=opb_paper, roof=roof, tops_paper=tops_paper)


def print_table(rows, markdown):
    hdr = ["app", "FC/conv/vec/pool", "layers (T1)", "weights M (T1)", "err %", "biases k", "MACs/inf M",
           "batch", "MAC/wbyte (T1)", "roofline TOPS", "paper TOPS"]
    lines = []
    for r in rows:
        lines.append([r["app"], "%d/%d/%d/%d%s" % (r["fc"], r["conv"], r["vector"], r["pool"], "" if r["counts_ok"] else " MISMATCH"),
                      "%d (%d)" % (r["layers"], r["layers_paper"]),
                      "%.3f (%g)" % (r["weights"] / 1e6, r["weights_paper"] / 1e6),
                      "%+.3f" % (100 * (r["weights"] / r["weights_paper"] - 1)),
                      "%.1f" % (r["biases"] / 1e3), "%.1f" % (r["macs"] / 1e6), "%d" % r["batch"],
                      "%.0f (%d)" % (r["opb"], r["opb_paper"]), "%.1f" % r["roof"], "%.1f" % r["tops_paper"]])
    if markdown:
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for l in lines:
            print("| " + " | ".join(l) + " |")
    else:
        w = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(hdr)]
        print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr)))
        for l in lines:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(l)))


# Table 4 (REFERENCE 1.6): MLP0 on the TPU, 99th-percentile response incl. host time
TABLE4_TPU = {200: (7.0, 225000), 250: (10.0, 280000)}


def print_table4(markdown):
    """MLP0 per-batch time from the paper's own roofline (weights streamed from DDR3
    once per batch, or the 92 TOPS peak), no host time: an upper bound on IPS until
    the simulator's numbers replace it."""
    weights, macs = 20e6, 20e6
    hdr = ["batch", "roofline ms/batch", "roofline IPS", "paper 99th-pct ms", "paper IPS"]
    rows = []
    for batch in (16, 32, 64, 128, 200, 250, 512, 1024, 2048):
        t = max(weights / DDR3_BYTES_PER_S, 2 * macs * batch / (PEAK_TOPS * 1e12))
        ms, ips = TABLE4_TPU.get(batch, ("", ""))
        rows.append(["%d" % batch, "%.3f" % (t * 1e3), "%.0f" % (batch / t), str(ms), str(ips)])
    print()
    if markdown:
        print("| " + " | ".join(hdr) + " |")
        print("|" + "---|" * len(hdr))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        print("MLP0 on tpu-v1, roofline bound (no host time) vs Table 4")
        for r in [hdr] + rows:
            print("  ".join(c.ljust(len(h)) for c, h in zip(r, hdr)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", default="build/tpu-v1-paper")
    ap.add_argument("--only", help="comma-separated apps (default: all six)")
    ap.add_argument("--batch", type=int, help="batch dim for every app (default: Table 1's)")
    ap.add_argument("--symbolic-batch", action="store_true", help="batch dim 'N' (ops/weight-byte uses Table 1's)")
    ap.add_argument("--summary-only", action="store_true", help="print the table; write no models")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--seed", type=int, default=2017)
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(APPS)
    for n in names:
        if n not in APPS:
            sys.exit("unknown app '%s' (known: %s)" % (n, ", ".join(APPS)))
    if not args.summary_only:
        os.makedirs(args.out, exist_ok=True)
    rows = []
    for i, name in enumerate(names):
        batch = args.batch or TABLE1[name][6]
        rng = np.random.default_rng([args.seed, list(APPS).index(name)])
        b = Builder(name, batch, rng, not args.summary_only)
        outs = APPS[name](b)
        model = b.build(outs)
        if args.symbolic_batch:
            for vi in model.graph.input:
                vi.type.tensor_type.shape.dim[0].dim_param = "N"
        rows.append(report_rows(name, model, batch))
        if not args.summary_only:
            onnx.checker.check_model(model) if model.ByteSize() < 2 ** 31 else None
            path = os.path.join(args.out, name + ".onnx")
            onnx.save(model, path)
            print("wrote %s (%.0f MB)" % (path, os.path.getsize(path) / 1e6), file=sys.stderr)
    print_table(rows, args.markdown)
    if "mlp0" in names:
        print_table4(args.markdown)
    if not all(r["counts_ok"] for r in rows):
        sys.exit("layer counts differ from Table 1")


if __name__ == "__main__":
    main()
