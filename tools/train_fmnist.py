#!/usr/bin/python3
"""tools/train_fmnist.py [--epochs N] [--out DIR]: the Fashion-MNIST demo model.

Trains a small CNN (conv 3x3 x16 - relu - maxpool 2 - conv 3x3 x32 - relu -
maxpool 2 - fc 10) on Debian's dataset-fashion-mnist with torch, seeded and
single-process, then writes (default DIR tests/models):
  fmnist_cnn.onnx                        opset 13, dynamic batch axis
  fmnist/test_data_set_0/input_0.pb      the first 256 test images [256,1,28,28]
  fmnist/test_data_set_0/output_0.pb     PyTorch's fp32 logits for them [256,10]
  fmnist/labels.pb                       their labels, int64 [256]
  fmnist/accuracy.json                   fp32 accuracy on the full 10,000 test set
Input pixels are scaled to [0,1] (as tools/fmnist_to_pb.py writes them).
Run with /usr/bin/python3. The model is the demo's input; the test set makes
tests/cli/models.sh check the reference executor on it.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_to_pb  # noqa: E402

SEED = 7
N_SUBSET = 256


class FmnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--out", default="tests/models")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    xtr, ytr = (torch.from_numpy(a) for a in fmnist_to_pb.load("train"))
    xte, yte = (torch.from_numpy(a) for a in fmnist_to_pb.load("t10k"))

    model = FmnistCnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, epochs=args.epochs,
                                                steps_per_epoch=(len(xtr) + 127) // 128)
    gen = torch.Generator().manual_seed(SEED)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            loss = nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print("epoch %d  loss %.4f  test acc %.4f  (%.0f s)" %
              (epoch + 1, total / len(xtr), accuracy(model, xte, yte), time.time() - t0))

    model.eval()
    acc = accuracy(model, xte, yte)
    out = args.out
    ds = os.path.join(out, "fmnist", "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    path = os.path.join(out, "fmnist_cnn.onnx")
    torch.onnx.export(model, (xte[:1],), path, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path), full_check=True)
    xs, ys = xte[:N_SUBSET], yte[:N_SUBSET]
    with torch.no_grad():
        logits = model(xs)
    fmnist_to_pb.write_pb(os.path.join(ds, "input_0.pb"), xs.numpy(), "input")
    fmnist_to_pb.write_pb(os.path.join(ds, "output_0.pb"), logits.numpy(), "logits")
    fmnist_to_pb.write_pb(os.path.join(out, "fmnist", "labels.pb"), ys.numpy(), "labels")
    info = {"model": "fmnist_cnn.onnx", "dtype": "float32", "test_images": len(xte),
            "test_accuracy": round(acc, 4),
            "subset_images": N_SUBSET,
            "subset_accuracy": round((logits.argmax(1) == ys).float().mean().item(), 4),
            "epochs": args.epochs, "seed": SEED, "torch": torch.__version__,
            "input": "float32 [N,1,28,28], pixels / 255", "classes": fmnist_to_pb.CLASSES}
    with open(os.path.join(out, "fmnist", "accuracy.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print("wrote %s (%d bytes), %s, accuracy %.4f on %d test images" %
          (path, os.path.getsize(path), ds, acc, len(xte)))


if __name__ == "__main__":
    main()
