#!/usr/bin/python3
"""tools/onnx_summary.py [--markdown] MODEL...: what an ONNX model is.

For each model prints its file size, producer, opsets, graph inputs and
outputs (with symbolic dims), the number of parameters (initializers and
Constant-node values), and a
histogram of its node op types. --markdown prints one table row per model
(for BENCHMARKS.md). Used to survey models tpusim did not make.
"""
import argparse
import collections
import os

import numpy as np
import onnx


def dims(vi):
    return [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]


def summary(path):
    m = onnx.load(path)
    inits = {t.name for t in m.graph.initializer}
    hist = collections.Counter(n.op_type for n in m.graph.node)
    n_params = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
    for n in m.graph.node:          # some exporters keep weights in Constant nodes
        if n.op_type == "Constant":
            n_params += sum(int(np.prod(a.t.dims)) for a in n.attribute if a.name == "value")
    return {
        "file": path, "bytes": os.path.getsize(path),
        "producer": "%s %s" % (m.producer_name, m.producer_version),
        "opsets": ", ".join("%s:%d" % (o.domain or "ai.onnx", o.version) for o in m.opset_import),
        "inputs": [(i.name, dims(i)) for i in m.graph.input if i.name not in inits],
        "outputs": [(o.name, dims(o)) for o in m.graph.output],
        "n_nodes": len(m.graph.node), "n_params": n_params, "ops": hist.most_common(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    if args.markdown:
        print("| model | size | opset | inputs | nodes | params | op histogram |")
        print("|---|---:|---|---|---:|---:|---|")
    for p in args.models:
        s = summary(p)
        io = "; ".join("%s %s" % (n, d) for n, d in s["inputs"])
        ops = ", ".join("%s %d" % kv for kv in s["ops"])
        if args.markdown:
            print("| %s | %.2f MB | %s | %s | %d | %.2f M | %s |" %
                  (os.path.basename(p), s["bytes"] / 1e6, s["opsets"], io, s["n_nodes"],
                   s["n_params"] / 1e6, ops))
        else:
            print("%s: %.2f MB, %s, opset %s, %d nodes, %.2f M params" %
                  (p, s["bytes"] / 1e6, s["producer"], s["opsets"], s["n_nodes"],
                   s["n_params"] / 1e6))
            print("  inputs:  %s" % io)
            print("  outputs: %s" % "; ".join("%s %s" % (n, d) for n, d in s["outputs"]))
            print("  ops:     %s" % ops)


if __name__ == "__main__":
    main()
