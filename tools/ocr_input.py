#!/usr/bin/python3
"""tools/ocr_input.py OUT.pb --shape N,C,H,W [--seed S] [--norm imagenet|half]: an OCR-like input.

Writes one float32 TensorProto holding a seeded synthetic "document" image:
a light, slightly noisy background with dark rows of glyph-sized blobs (text
lines), normalised the way PaddleOCR feeds its models: --norm imagenet
((x - mean) / std with ImageNet's per-channel statistics, the detector) or
--norm half ((x - 0.5) / 0.5, the recogniser and the angle classifier).
Used by tools/make_ort_testset.sh to give models we did not make a sensible
input; ONNX Runtime's outputs for it become the expected outputs.
"""
import argparse
import sys

import numpy as np
from onnx import numpy_helper


def synth(shape, seed):
    n, c, h, w = shape
    rng = np.random.default_rng(seed)
    img = 0.92 + 0.03 * rng.standard_normal((n, 1, h, w))
    line_h = max(4, min(h // 2, 24))
    for b in range(n):
        y = int(rng.integers(1, max(2, line_h // 2)))
        while y + line_h <= h:
            x = int(rng.integers(1, max(2, w // 16)))
            while x + line_h // 2 < w:
                gw = int(rng.integers(max(2, line_h // 3), line_h))     # glyph width
                gh = int(rng.integers(line_h // 2, line_h))
                top = y + (line_h - gh)
                ink = 0.1 + 0.2 * rng.random()
                img[b, 0, top:top + gh, x:x + gw] = ink + 0.05 * rng.standard_normal((gh, min(gw, w - x)))
                x += gw + int(rng.integers(1, max(2, line_h // 2)))
            y += line_h + int(rng.integers(line_h // 2, 2 * line_h))
    img = np.clip(img, 0.0, 1.0)
    tint = 1.0 + 0.02 * rng.standard_normal((1, c, 1, 1))
    return np.clip(np.repeat(img, c, axis=1) * tint, 0.0, 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--shape", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--norm", choices=("imagenet", "half"), default="half")
    ap.add_argument("--name", default="x")
    args = ap.parse_args()
    try:
        shape = tuple(int(v) for v in args.shape.split(","))
    except ValueError:
        sys.exit("ocr_input.py: --shape wants N,C,H,W")
    if len(shape) != 4 or min(shape) < 1 or shape[1] != 3:
        sys.exit("ocr_input.py: --shape wants N,3,H,W with positive sizes")
    x = synth(shape, args.seed)
    if args.norm == "imagenet":
        mean = np.array([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
        std = np.array([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
        x = (x - mean) / std
    else:
        x = (x - 0.5) / 0.5
    t = numpy_helper.from_array(x.astype(np.float32), name=args.name)
    with open(args.out, "wb") as f:
        f.write(t.SerializeToString())


if __name__ == "__main__":
    main()
