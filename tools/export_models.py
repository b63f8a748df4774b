#!/usr/bin/python3
"""tools/export_models.py [OUTDIR] [--only NAME,...]: real PyTorch models for tpusim.

Exports resnet18 and mobilenet_v2 (torchvision, eval mode), a 2-layer
nn.TransformerEncoder (GELU) and a GPT-2-style decoder block (defined below) to ONNX,
each at opset 13 and 17, once with a fixed batch of 1 and once with a dynamic
batch axis. Next to each model.onnx it writes an ONNX-backend-layout test set
(test_data_set_0/input_0.pb, output_0.pb) holding PyTorch's own outputs; the
dynamic-batch models are fed a batch of 3. Every model is checked with
onnx.checker. Weights are seeded random init (no network, so not pretrained),
except mobilenet_v2_fmnist: the same architecture briefly trained on Debian's
Fashion-MNIST here (see mobilenet_v2_fmnist()).

Sits at the start of the model pipeline: tests/cli/models.sh and
bench/ref_vs_ort.sh consume what it writes (default build/models/).
Run with /usr/bin/python3 (Debian's torch 1.13, torchvision 0.14, onnx 1.12).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torchvision
from onnx import numpy_helper

SEED = 20260101
OPSETS = (13, 17)
DYN_BATCH = 3
D_MODEL, N_HEADS, SEQ = 256, 4, 32


class GPT2Block(nn.Module):
    """One GPT-2 decoder block: pre-LayerNorm, causal multi-head
    self-attention (explicit mask), residual, pre-LayerNorm, MLP 4x with GELU
    (tanh approximation, as GPT-2), residual, and a final LayerNorm."""

    def __init__(self, d_model=D_MODEL, n_heads=N_HEADS, seq=SEQ):
        super().__init__()
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.ln_1 = nn.LayerNorm(d_model)
        self.c_attn = nn.Linear(d_model, 3 * d_model)
        self.c_proj = nn.Linear(d_model, d_model)
        self.ln_2 = nn.LayerNorm(d_model)
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.mlp_proj = nn.Linear(4 * d_model, d_model)
        self.ln_f = nn.LayerNorm(d_model)
        causal = torch.tril(torch.ones(seq, seq, dtype=torch.bool))
        self.register_buffer("causal", causal.view(1, 1, seq, seq))

    def attn(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q = q.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        k = k.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        v = v.reshape(b, t, self.n_heads, self.d_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.d_head))
        att = att.masked_fill(~self.causal[:, :, :t, :t], float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        return self.c_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        h = nn.functional.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
        x = x + self.mlp_proj(h)
        return self.ln_f(x)


def make_transformer():
    # GELU (exact, erf form) rather than the default ReLU, so the export holds
    # an Erf; the GPT-2 block covers the tanh form.
    layer = nn.TransformerEncoderLayer(D_MODEL, N_HEADS, dim_feedforward=4 * D_MODEL,
                                       dropout=0.0, activation="gelu", batch_first=True)
    return nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)


# name -> (constructor, per-sample input shape)
def mobilenet_v2_fmnist():
    """mobilenet_v2 (10 classes) after 150 SGD steps on Fashion-MNIST (Debian's
    dataset-fashion-mnist, upscaled to 64x64, grey replicated to 3 channels),
    BatchNorm statistics then re-estimated on 16 training images at 224x224.
    Random init is a poor stand-in for a trained network: it amplifies small
    perturbations layer by layer, so int8 errors that are at the int8 floor
    per layer end far from fp32 (docs/compiler.md); a briefly trained copy of
    the same architecture behaves like the trained models users bring."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fmnist_to_pb
    xtr, ytr = (torch.from_numpy(a) for a in fmnist_to_pb.load("train"))
    gen = torch.Generator().manual_seed(SEED + 7)
    model = torchvision.models.mobilenet_v2(weights=None, num_classes=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

    def images(idx, size):
        x = xtr[idx].float()
        x = x[:, None] if x.dim() == 3 else x
        return nn.functional.interpolate(x, size=size).repeat(1, 3, 1, 1)
    model.train()
    for _ in range(150):
        idx = torch.randint(0, xtr.shape[0], (32,), generator=gen)
        loss = nn.functional.cross_entropy(model(images(idx, 64)), ytr[idx].long())
        opt.zero_grad()
        loss.backward()
        opt.step()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    with torch.no_grad():
        for i in range(2):
            model(images(torch.arange(8 * i, 8 * i + 8), 224))
    return model


MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (3, 224, 224)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), (3, 224, 224)),
    "mobilenet_v2_fmnist": (mobilenet_v2_fmnist, (3, 224, 224)),
    "transformer": (make_transformer, (SEQ, D_MODEL)),
    "gpt2_block": (GPT2Block, (SEQ, D_MODEL)),
}


def calibrate_bn(model, shape):
    """Random init leaves BatchNorm's running statistics at mean 0, variance 1,
    which lets activations shrink layer by layer (mobilenet_v2's logits end up
    near 1e-9). Set them from a few seeded random batches instead, so the
    exported model computes values of a realistic magnitude."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None           # cumulative average over the batches
    gen = torch.Generator().manual_seed(SEED + 1)
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn((8,) + shape, generator=gen))


def build(name):
    ctor, shape = MODELS[name]
    torch.manual_seed(SEED)
    model = ctor()
    if name == "transformer":
        # nn.MultiheadAttention's default init leaves the biases at zero; give
        # them values so the exported bias adds are exercised.
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if pname.endswith("bias"):
                    p.uniform_(-0.1, 0.1)
    if name in ("resnet18", "mobilenet_v2"):
        calibrate_bn(model, shape)
    model.eval()
    return model, shape


def write_pb(path, arr, name):
    t = numpy_helper.from_array(np.ascontiguousarray(arr), name=name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def export_one(name, model, shape, opset, dynamic, outdir):
    tag = "%s_op%d_%s" % (name, opset, "dyn" if dynamic else "b1")
    d = os.path.join(outdir, tag)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    batch = DYN_BATCH if dynamic else 1
    gen = torch.Generator().manual_seed(SEED + opset * 10 + batch)
    x = torch.randn((batch,) + shape, generator=gen)
    path = os.path.join(d, "model.onnx")
    kw = {}
    if dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "output": {0: "batch"}}
    # Export from a batch-1 trace for both forms, so the dynamic model's batch
    # of 3 is a genuinely different size from the one it was traced with.
    x1 = torch.randn((1,) + shape, generator=torch.Generator().manual_seed(SEED))
    torch.onnx.export(model, (x1,), path, opset_version=opset, input_names=["input"],
                      output_names=["output"], do_constant_folding=True, **kw)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    with torch.no_grad():
        y = model(x)
    write_pb(os.path.join(ds, "input_0.pb"), x.numpy(), "input")
    write_pb(os.path.join(ds, "output_0.pb"), y.numpy(), "output")
    m = onnx.load(path)
    ops = sorted({n.op_type for n in m.graph.node})
    info = {"name": tag, "model": name, "opset": opset, "dynamic_batch": dynamic,
            "test_batch": batch, "input_shape": list(x.shape), "output_shape": list(y.shape),
            "bytes": os.path.getsize(path), "n_nodes": len(m.graph.node), "ops": ops}
    print("wrote %-28s %6.1f MB  %4d nodes  in %s out %s" %
          (os.path.join(d, "model.onnx"), info["bytes"] / 1e6, info["n_nodes"],
           tuple(x.shape), tuple(y.shape)))
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?", default="build/models")
    ap.add_argument("--only", default="", help="comma-separated model names (%s)" %
                    ",".join(MODELS))
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit("export_models.py: unknown model '%s' (have %s)" % (n, ", ".join(MODELS)))
    torch.set_num_threads(2)
    os.makedirs(args.outdir, exist_ok=True)
    t0 = time.time()
    infos = []
    for n in names:
        model, shape = build(n)
        for opset in OPSETS:
            for dynamic in (False, True):
                infos.append(export_one(n, model, shape, opset, dynamic, args.outdir))
    with open(os.path.join(args.outdir, "manifest.json"), "w") as f:
        json.dump({"seed": SEED, "torch": torch.__version__, "onnx": onnx.__version__,
                   "models": infos}, f, indent=1)
    print("export_models.py: %d models in %s (%.0f s)" % (len(infos), args.outdir,
                                                        time.time() - t0))


if __name__ == "__main__":
    main()
