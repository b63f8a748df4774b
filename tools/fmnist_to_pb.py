#!/usr/bin/python3
"""tools/fmnist_to_pb.py [OUTDIR] [--limit N] [--expected MODEL]: Fashion-MNIST test set as .pb.

Reads the 10,000 test images and labels from Debian's dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist/t10k-*-idx*-ubyte.gz) and writes them in the
ONNX backend-test layout the tpusim CLI reads:
  OUTDIR/test_data_set_0/input_0.pb   float32 [N,1,28,28], pixels scaled to [0,1]
  OUTDIR/labels.pb                    int64 [N], class ids 0..9
(default OUTDIR build/fmnist). With --expected MODEL it also writes
  OUTDIR/test_data_set_0/output_0.pb  MODEL's outputs computed by ONNX Runtime
(bench/ort_run.js), for comparing tpusim's logits with an independent
implementation (tools/compare_pb.py). This is the input side of the Fashion-MNIST
demo; tests/models/fmnist_cnn.onnx (tools/train_fmnist.py) is the model.
Also imported by train_fmnist.py for the idx reader.
"""
import argparse
import gzip
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    """Read an IDX file (gzip'd) into a uint8 numpy array, checking its header."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError("%s: too short for an IDX header" % path)
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08 or not 1 <= ndim <= 4:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    n = int(np.prod(dims))
    body = data[4 + 4 * ndim:]
    if len(body) != n:
        raise ValueError("%s: %d data bytes, header says %d" % (path, len(body), n))
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def load(split):
    """split 'train' or 't10k' -> (float32 images [N,1,28,28] in [0,1], int64 labels [N])."""
    x = read_idx(os.path.join(DATA_DIR, "%s-images-idx3-ubyte.gz" % split))
    y = read_idx(os.path.join(DATA_DIR, "%s-labels-idx1-ubyte.gz" % split))
    if x.shape[0] != y.shape[0] or x.shape[1:] != (28, 28):
        raise ValueError("fashion-mnist %s: images %s, labels %s" % (split, x.shape, y.shape))
    return (x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28), y.astype(np.int64)


def write_pb(path, arr, name):
    from onnx import numpy_helper
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(arr), name=name).SerializeToString())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir", nargs="?", default="build/fmnist")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images")
    ap.add_argument("--expected", metavar="MODEL",
                    help="also write MODEL's outputs from ONNX Runtime as output_0.pb")
    args = ap.parse_args()
    if not os.path.isdir(DATA_DIR):
        sys.exit("fmnist_to_pb.py: %s missing (apt-get install dataset-fashion-mnist)" % DATA_DIR)
    x, y = load("t10k")
    if args.limit > 0:
        x, y = x[:args.limit], y[:args.limit]
    ds = os.path.join(args.outdir, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    write_pb(os.path.join(ds, "input_0.pb"), x, "input")
    write_pb(os.path.join(args.outdir, "labels.pb"), y, "labels")
    print("wrote %s/input_0.pb %s and %s/labels.pb %s" %
          (ds, tuple(x.shape), args.outdir, tuple(y.shape)))
    stale = os.path.join(ds, "output_0.pb")
    if not args.expected and os.path.exists(stale):
        os.remove(stale)                # from an earlier --expected run
    if args.expected:
        ort_out = os.path.join(args.outdir, "ort_out")
        js = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "ort_run.js")
        r = subprocess.run(["node", js, args.expected, ds, "--out", ort_out])
        if r.returncode != 0:
            sys.exit("fmnist_to_pb.py: ONNX Runtime failed on %s" % args.expected)
        shutil.copy(os.path.join(ort_out, "output_0.pb"), os.path.join(ds, "output_0.pb"))
        print("wrote %s/output_0.pb (ONNX Runtime)" % ds)


if __name__ == "__main__":
    main()
