#!/usr/bin/python3
"""tools/gpu_calibrate.py: measures an ONNX model's per-node times on a real
NVIDIA GPU (or, with --cpu, on this CPU) and writes the calibration file that
src/report/gpu_model.c reads to replace its modelled per-node times.

  /usr/bin/python3 tools/gpu_calibrate.py MODEL.onnx --batch 64 --gpu-name h100 -o mlp0.h100.csv
  /usr/bin/python3 tools/gpu_calibrate.py MODEL.onnx --cpu --gpu-name cpu -o model.cpu.csv

Engines (--engine, default auto = ort if importable, else torch):
  ort    ONNX Runtime with its profiler (CUDAExecutionProvider, or the CPU one with
         --cpu): each node's "<name>_kernel_time" events, median over --repeats runs.
  torch  a small ONNX interpreter over PyTorch ops: every node runs as the torch
         op(s) it maps to, on cuda or cpu, timed on its own (CUDA events around the
         node on a GPU, perf_counter_ns on the CPU) after --warmup runs; median over
         --repeats. Per-node times therefore include one kernel launch per node and
         no cross-node fusion, like the roofline model's per-node launch overhead.
         Ops outside the table below are an error that names the node.

Output format (documented in src/report/gpu_model.h):
  # tpusim-calibration v1
  model,node,op,batch,seconds,gpu,date
  # engine=torch device=cpu precision=fp32 repeats=20 ...
  mlp0,fc1,Gemm,200,0.000123,h100,2026-11-22

Node names are the ONNX names, or "node_<index>" for unnamed nodes, as the tpusim
loader names them. --selftest-model PATH writes a tiny MatMul+Gemm+Relu model that
tests/cli/svg.sh uses to test the CPU path.

Status: the CUDA paths (ort CUDA EP, torch on cuda) have not been run on a GPU in
this project yet; only the CPU torch path is tested here.
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto


def node_names(model):
    return [n.name if n.name else "node_%d" % i for i, n in enumerate(model.graph.node)]


def bind_inputs(model, batch, rng, dtype):
    """Random inputs for the graph inputs that are not initializers; batch binds dim 0."""
    inits = {t.name for t in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dims = []
        for k, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                if k == 0 and batch is not None and d.dim_value != batch:
                    sys.exit("%s: input '%s' has a fixed batch %d, not %d" % (model_path, vi.name, d.dim_value, batch))
                dims.append(d.dim_value)
            elif k == 0:
                dims.append(batch if batch is not None else 1)
            else:
                sys.exit("%s: input '%s' dim %d is symbolic; only dim 0 (batch) may be" % (model_path, vi.name, k))
        if tt.elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16):
            feeds[vi.name] = rng.standard_normal(dims).astype(np.float32)
        elif tt.elem_type == TensorProto.INT64:
            feeds[vi.name] = rng.integers(0, 2, size=dims).astype(np.int64)
        else:
            sys.exit("%s: input '%s' has element type %d, not supported" % (model_path, vi.name, tt.elem_type))
    return feeds


# ---------------------------------------------------------------- ONNX Runtime engine

def measure_ort(model, path, feeds, args):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.enable_profiling = True
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL   # keep 1 node = 1 kernel
    prov = ["CPUExecutionProvider"] if args.cpu else ["CUDAExecutionProvider"]
    sess = ort.InferenceSession(path, so, providers=prov)
    if not args.cpu and "CUDAExecutionProvider" not in sess.get_providers():
        sys.exit("onnxruntime has no CUDAExecutionProvider here; use --cpu or --engine torch")
    for _ in range(args.warmup):
        sess.run(None, feeds)
    t_start = time.perf_counter()
    for _ in range(args.repeats):
        sess.run(None, feeds)
    prof = sess.end_profiling()
    with open(prof) as f:
        events = json.load(f)
    os.unlink(prof)
    names = node_names(model)
    times = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            idx = e.get("args", {}).get("node_index")       # ORT names unnamed nodes its own way
            key = names[int(idx)] if idx is not None and int(idx) < len(names) else e["name"][: -len("_kernel_time")]
            times.setdefault(key, []).append(e["dur"] * 1e-6)
    # the warm-up runs are in the profile too: keep the last `repeats` samples
    ops = {n: node.op_type for n, node in zip(names, model.graph.node)}
    return {n: (ops.get(n, "?"), statistics.median(v[-args.repeats:])) for n, v in times.items() if n in ops}


# ---------------------------------------------------------------- torch engine

def torch_ops(torch):
    F = torch.nn.functional

    def attr(node, name, default=None):
        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def gemm(n, a, b, c=None):
        if attr(n, "transA", 0): a = a.t()
        if attr(n, "transB", 0): b = b.t()
        y = attr(n, "alpha", 1.0) * (a @ b)
        return y + attr(n, "beta", 1.0) * c if c is not None else y

    def conv(n, x, w, b=None):
        k = len(w.shape) - 2
        if k != 2:
            raise NotImplementedError("Conv with %d spatial dims (only 2 supported)" % k)
        pads = attr(n, "pads", [0] * 2 * k)
        if attr(n, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise NotImplementedError("Conv auto_pad")
        if list(pads[:k]) != list(pads[k:]):
            x = F.pad(x, [p for i in reversed(range(k)) for p in (pads[i], pads[i + k])])
            pads = [0] * 2 * k
        return F.conv2d(x, w, b, stride=attr(n, "strides", [1] * k), padding=list(pads[:k]),
                        dilation=attr(n, "dilations", [1] * k), groups=attr(n, "group", 1))

    def pool(fn):
        def run(n, x):
            k = attr(n, "kernel_shape")
            p = attr(n, "pads", [0] * 2 * len(k))
            return fn(x, k, stride=attr(n, "strides", k), padding=list(p[:len(k)]))
        return run

    def reshape(n, x, shape):
        s = [int(v) for v in shape.tolist()]
        s = [x.shape[i] if v == 0 and not attr(n, "allowzero", 0) else v for i, v in enumerate(s)]
        return x.reshape(s)

    def softmax(n, x):
        return torch.softmax(x, dim=attr(n, "axis", -1))

    def bn(n, x, s, b, m, v):
        return F.batch_norm(x, m, v, s, b, False, 0.0, attr(n, "epsilon", 1e-5))

    def flatten(n, x):
        ax = attr(n, "axis", 1)
        return x.reshape(int(np.prod(x.shape[:ax])), -1)

    return {
        "MatMul": lambda n, a, b: a @ b,
        "Gemm": gemm,
        "Conv": conv,
        "Relu": lambda n, x: torch.relu(x),
        "Sigmoid": lambda n, x: torch.sigmoid(x),
        "Tanh": lambda n, x: torch.tanh(x),
        "Add": lambda n, a, b: a + b,
        "Sub": lambda n, a, b: a - b,
        "Mul": lambda n, a, b: a * b,
        "Div": lambda n, a, b: a / b,
        "Softmax": softmax,
        "MaxPool": pool(F.max_pool2d),
        "AveragePool": pool(F.avg_pool2d),
        "GlobalAveragePool": lambda n, x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True),
        "BatchNormalization": bn,
        "Reshape": reshape,
        "Flatten": flatten,
        "Identity": lambda n, x: x,
        "Transpose": lambda n, x: x.permute(*attr(n, "perm", list(reversed(range(x.dim()))))),
        "Concat": lambda n, *xs: torch.cat(xs, dim=attr(n, "axis")),
    }


def measure_torch(model, feeds, args):
    import torch
    dev = torch.device("cpu" if args.cpu else "cuda")
    if not args.cpu and not torch.cuda.is_available():
        sys.exit("torch sees no CUDA device; use --cpu to measure on the CPU")
    fdt = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    table = torch_ops(torch)
    names = node_names(model)
    for n, name in zip(model.graph.node, names):
        if n.op_type not in table:
            sys.exit("%s: node '%s' (%s): op not supported by the torch engine" % (model_path, name, n.op_type))

    def to_dev(a):
        t = torch.from_numpy(np.array(a, copy=True)).to(dev)
        return t.to(fdt) if t.is_floating_point() else t

    consts = {t.name: to_dev(numpy_helper.to_array(t)) for t in model.graph.initializer}
    samples = {name: [] for name in names}
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)

    def run_once(record):
        env = dict(consts)
        env.update({k: to_dev(v) for k, v in feeds.items()})
        for n, name in zip(model.graph.node, names):
            ins = [env[i] if i else None for i in n.input]
            if n.op_type == "Reshape":
                ins[1] = ins[1].cpu()          # shape values are read on the host
            sync()
            if dev.type == "cuda":
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
                out = table[n.op_type](n, *ins)
                e1.record()
                torch.cuda.synchronize()
                dt = e0.elapsed_time(e1) * 1e-3
            else:
                t0 = time.perf_counter_ns()
                out = table[n.op_type](n, *ins)
                dt = (time.perf_counter_ns() - t0) * 1e-9
            env[n.output[0]] = out
            if record:
                samples[name].append(dt)

    with torch.inference_mode():
        for _ in range(args.warmup):
            run_once(False)
        for _ in range(args.repeats):
            run_once(True)
    return {name: (n.op_type, statistics.median(samples[name])) for n, name in zip(model.graph.node, names)}


# ---------------------------------------------------------------- output

def device_desc(args, engine):
    try:
        import torch
        if not args.cpu and torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    import platform
    return platform.processor() or platform.machine()


def write_calib(path, model_name, batch, gpu, times, comment, append):
    date = datetime.date.today().isoformat()
    rows = ["%s,%s,%s,%d,%.9g,%s,%s" % (model_name, name, op, batch, sec, gpu, date)
            for name, (op, sec) in times.items()]
    for field in (model_name, gpu) + tuple(times):
        if "," in field or "\n" in field:
            sys.exit("name %r contains a comma or newline; the calibration format cannot hold it" % field)
    exists = append and os.path.exists(path)
    with open(path, "a" if exists else "w") as f:
        if not exists:
            f.write("# tpusim-calibration v1\nmodel,node,op,batch,seconds,gpu,date\n")
        f.write("# %s\n" % comment)
        f.write("\n".join(rows) + "\n")


def selftest_model(path):
    """x[N,16] -> MatMul(16x32) -> Gemm(32x8, bias) -> Relu -> y[N,8]."""
    rng = np.random.default_rng(1)
    w1 = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((32, 8)).astype(np.float32), "w2")
    b2 = numpy_helper.from_array(rng.standard_normal((8,)).astype(np.float32), "b2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
             helper.make_node("Gemm", ["h", "w2", "b2"], ["z"], name="fc2"),
             helper.make_node("Relu", ["z"], ["y"])]                       # unnamed: node_2
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])], [w1, w2, b2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main():
    global model_path
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("-o", "--output", help="calibration file (default MODEL.GPU.calib.csv)")
    ap.add_argument("--batch", type=int, help="binds the symbolic batch dim (default: the model's, or 1)")
    ap.add_argument("--gpu-name", default="h100", help="target name from data/targets.txt (default h100)")
    ap.add_argument("--cpu", action="store_true", help="measure on the CPU instead of CUDA")
    ap.add_argument("--engine", choices=["auto", "ort", "torch"], default="auto")
    ap.add_argument("--precision", choices=["fp32", "fp16", "bf16"], default=None,
                    help="torch engine: element type (default fp32 on CPU, fp16 on GPU)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--append", action="store_true", help="append to an existing file")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--selftest-model", metavar="PATH", help="write the tiny test model and exit")
    args = ap.parse_args()
    if args.selftest_model:
        selftest_model(args.selftest_model)
        return
    if not args.model:
        ap.error("MODEL is required")
    if args.repeats < 1 or args.warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    model_path = args.model
    model = onnx.load(args.model)
    model_name = os.path.splitext(os.path.basename(args.model))[0]
    if args.precision is None:
        args.precision = "fp32" if args.cpu else "fp16"
    engine = args.engine
    if engine == "auto":
        try:
            import onnxruntime  # noqa: F401
            engine = "ort"
        except ImportError:
            engine = "torch"
    feeds = bind_inputs(model, args.batch, np.random.default_rng(args.seed), args.precision)
    batch = args.batch if args.batch is not None else next(iter(feeds.values())).shape[0] if feeds else 1
    times = measure_ort(model, args.model, feeds, args) if engine == "ort" else measure_torch(model, feeds, args)
    out = args.output or "%s.%s.calib.csv" % (os.path.splitext(args.model)[0], args.gpu_name)
    comment = "engine=%s device=%s precision=%s warmup=%d repeats=%d statistic=median" % (
        engine, device_desc(args, engine).replace(",", " "), "fp32" if engine == "ort" else args.precision,
        args.warmup, args.repeats)
    write_calib(out, model_name, batch, args.gpu_name, times, comment, args.append)
    total = sum(s for _, s in times.values())
    print("%s: %d nodes, %.3f ms total per batch of %d (%s) -> %s" % (model_name, len(times), total * 1e3, batch,
                                                                    comment, out))


model_path = "?"
if __name__ == "__main__":
    main()
