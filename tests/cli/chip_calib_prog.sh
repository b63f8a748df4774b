#!/bin/sh
# tests/cli/chip_calib_prog.sh: int8 scales calibrated at compile time.
# `tpusim compile --calib DIR | --calib-random N` saves the calibrated scales in
# the program file (SCAL section, compile/calib.c + compile/prog_file.c) and
# `run prog.tpu` uses them as they are: the same outputs as `run --calib`;
# scales calibrated on inputs 100x too small stay too small on run (exit 1, so
# the run does not calibrate again); crafted SCAL lines (another node, an index
# out of range, a scale <= 0, no how= line) are format errors (exit 2); a bf16
# chip saves none.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx
D=$M/fmnist/test_data_set_0
line() { grep -E "^  output 'logits'" "$1"; }

expect calib-prog-compile-dir 0 "calibrated int8 scales saved" \
    "$T" compile $F --chip tpu-v1 --host-ops --calib $M/fmnist -o "$tmp/c.tpu"
expect calib-prog-run-dir 0 "quantisation: int8 min/max over 1 input set\(s\) of --calib $M/fmnist$" \
    "$T" run "$tmp/c.tpu" --data $D
cp "$tmp/all" "$tmp/prog.txt"
"$T" run $F --chip tpu-v1 --host-ops --data $D --calib $M/fmnist >"$tmp/direct.txt" 2>&1
check calib-prog-same-as-run '[ -n "$(line "$tmp/prog.txt")" ] && [ "$(line "$tmp/prog.txt")" = "$(line "$tmp/direct.txt")" ]' \
    "prog '$(line "$tmp/prog.txt")' vs run --calib '$(line "$tmp/direct.txt")'"
expect calib-prog-random 0 "quantisation: int8 min/max over 2 seeded random inputs \(--calib-random\)$" \
    sh -c "'$T' compile $F --chip tpu-v1 --host-ops --batch 2 --calib-random 2 -o '$tmp/r.tpu' && '$T' run '$tmp/r.tpu'"
expect calib-prog-bf16-none 0 "tpu-v5e$" "$T" compile $F --chip tpu-v5e --host-ops --calib-random 2 -o "$tmp/b.tpu"
expect calib-prog-compile-data 2 "compile: --data, --outputs and --json are not saved" \
    "$T" compile $F --chip tpu-v1 --data $D -o "$tmp/d.tpu"

if /usr/bin/python3 - "$D/input_0.pb" "$tmp" <<'PY' 2>/dev/null
import os, sys
import numpy as np, onnx
from onnx import numpy_helper
x = numpy_helper.to_array(onnx.load_tensor(sys.argv[1]))
os.makedirs(os.path.join(sys.argv[2], "small"), exist_ok=True)
onnx.save_tensor(numpy_helper.from_array((x[:16] * 0.01).astype(np.float32), "input"),
                 os.path.join(sys.argv[2], "small", "input_0.pb"))
PY
then
    "$T" compile $F --chip tpu-v1 --host-ops --calib "$tmp/small" -o "$tmp/s.tpu" >/dev/null 2>&1
    expect calib-prog-saved-applied 1 "OUTSIDE \(cosine >= 0\.99\)" "$T" run "$tmp/s.tpu" --data $D
else
    echo "SKIP calib-prog-saved-applied: /usr/bin/python3 with onnx not available"
fi

# Crafted SCAL sections with a valid checksum: refused, exit 2 naming the line.
# scal IN OUT MODE: MODE name (line 2 names another node), index (out of range),
# scale (not > 0), how (no how= line first).
scal() {
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()[:-8]
mode = sys.argv[3]
n = struct.unpack_from("<I", b, 12)[0]
at, out = 16, bytearray(b[:16])
for _ in range(n):
    tag, ln = b[at:at + 4], struct.unpack_from("<Q", b, at + 4)[0]
    data = b[at + 12:at + 12 + ln]
    if tag == b"SCAL":
        lines = data.decode().split("\n")
        i, s, name = lines[1].split("\t")
        if mode == "name": lines[1] = "\t".join([i, s, "nosuch"])
        if mode == "index": lines[1] = "\t".join(["99999", s, name])
        if mode == "scale": lines[1] = "\t".join([i, "-0x1p-3", name])
        if mode == "how": lines[0] = "calibrated"
        data = "\n".join(lines).encode()
    out += tag + struct.pack("<Q", len(data)) + data
    at += 12 + ln
h = 0xcbf29ce484222325
for c in out: h = ((h ^ c) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
open(sys.argv[2], "wb").write(bytes(out) + struct.pack("<Q", h))
PY
}
scal "$tmp/c.tpu" "$tmp/t1.tpu" name
expect calib-prog-scal-name 2 "saved calibration \(SCAL\) line 2: saved for node 'nosuch'" "$T" run "$tmp/t1.tpu" --data $D
scal "$tmp/c.tpu" "$tmp/t2.tpu" index
expect calib-prog-scal-index 2 "SCAL\) line 2: node index out of range" "$T" run "$tmp/t2.tpu" --data $D
scal "$tmp/c.tpu" "$tmp/t3.tpu" scale
expect calib-prog-scal-scale 2 "SCAL\) line 2: scale not a number > 0" "$T" run "$tmp/t3.tpu" --data $D
scal "$tmp/c.tpu" "$tmp/t4.tpu" how
expect calib-prog-scal-how 2 "SCAL\) line 1: no how= line first" "$T" run "$tmp/t4.tpu" --data $D
exit 0
