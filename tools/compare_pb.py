#!/usr/bin/python3
"""tools/compare_pb.py EXPECTED_DIR GOT_DIR [--max-rel-l2 X] [--labels FILE]: compare outputs.

Compares every EXPECTED_DIR/output_N.pb (ONNX TensorProto) with GOT_DIR/output_N.pb:
the shapes must match, and the relative L2 error ||got - want|| / ||want||
(computed in float64) must be at most X (default 1e-4). Prints one line per
output with max abs err, rel-L2 and how many elements fall outside the
per-element test rtol 1e-3 / atol 1e-7 (for information only). With --labels
(an int64 TensorProto) it also prints the top-1 accuracy of output 0 against
those labels.
Exit 0 when all outputs are within X, 1 when one is not, 2 when a file is
missing or unreadable. Used by tests/cli/models.sh; run with /usr/bin/python3.
"""
import argparse
import glob
import math
import os
import sys

import numpy as np
from onnx import load_tensor, numpy_helper


def load(path):
    return numpy_helper.to_array(load_tensor(path))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("expected")
    ap.add_argument("got")
    ap.add_argument("--max-rel-l2", type=float, default=1e-4)
    ap.add_argument("--labels")
    args = ap.parse_args()
    files = sorted(glob.glob(os.path.join(args.expected, "output_*.pb")),
                   key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
    if not files:
        print("compare_pb.py: no output_N.pb in %s" % args.expected)
        return 2
    worst = 0.0
    for f in files:
        g = os.path.join(args.got, os.path.basename(f))
        try:
            want, got = load(f), load(g)
        except Exception as e:           # missing or unreadable: a usage-level failure
            print("compare_pb.py: %s: %s" % (g, e))
            return 2
        name = os.path.basename(f)
        if want.shape != got.shape:
            print("%s: shape %s, expected %s" % (name, got.shape, want.shape))
            return 1
        w, a = want.astype(np.float64), got.astype(np.float64)
        diff = a - w
        max_abs = float(np.max(np.abs(diff))) if diff.size else 0.0
        den = float(np.linalg.norm(w))
        rel = float(np.linalg.norm(diff)) / den if den > 0 else float(np.linalg.norm(diff))
        if not np.all(np.isfinite(a) == np.isfinite(w)) or math.isnan(rel):
            rel = math.inf
        worst = max(worst, rel)
        # Informational: how many elements fail the CLI's per-element test
        # |got - want| <= 1e-7 + 1e-3 |want| (ONNX's backend-test default).
        n_off = int(np.sum(~(np.abs(diff) <= 1e-7 + 1e-3 * np.abs(w))))
        print("%s %s: max abs err %.3e  rel-L2 %.3e  %d of %d elements outside rtol 1e-3 atol 1e-7" %
              (name, list(want.shape), max_abs, rel, n_off, w.size))
    if args.labels:
        labels = load(args.labels)
        logits = load(os.path.join(args.got, "output_0.pb"))
        if logits.ndim == 2 and logits.shape[0] == labels.shape[0]:
            acc = float(np.mean(np.argmax(logits, axis=1) == labels))
            print("top-1 accuracy %.4f on %d labelled inputs" % (acc, labels.shape[0]))
    if worst > args.max_rel_l2:
        print("rel-L2 %.3e exceeds %.1e" % (worst, args.max_rel_l2))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
