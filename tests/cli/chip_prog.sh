#!/bin/sh
# tests/cli/chip_prog.sh: saved program files (compile/prog_file.c) end to end —
# `compile MODEL --chip C -o p.tpu` then `run p.tpu` gives byte-identical
# outputs, JSON report (cycles, counters, energy, verification) and text
# report to `run MODEL --chip C` with the same options (int8 and bf16, batch,
# calibration, a --data set in chunks); a truncation sweep, a flipped byte and
# bad option mixes exit 2 with a clear message. PASS/FAIL lines for tests/run.sh.
T=${TPUSIM:-build/tpusim}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# same() NAME MODEL CHIP-AND-OPTIONS...: compile, run both ways, compare
same() {
    name=$1; model=$2; shift 2
    d="$out/$name"; mkdir -p "$d/a" "$d/b"
    if ! "$T" compile "$model" "$@" -o "$d/p.tpu" >"$d/c.txt" 2>&1; then
        fail "$name" "compile: $(head -c 300 "$d/c.txt")"; return; fi
    "$T" run "$model" "$@" --outputs "$d/a" --json "$d/a.json" >"$d/a.txt" 2>&1; ra=$?
    "$T" run "$d/p.tpu" --outputs "$d/b" --json "$d/b.json" >"$d/b.txt" 2>&1; rb=$?
    if [ "$ra" != 0 ] || [ "$rb" != 0 ]; then fail "$name" "exit $ra / $rb: $(head -c 300 "$d/b.txt")"; return; fi
    for f in "$d"/a/*.pb; do
        if ! cmp -s "$f" "$d/b/$(basename "$f")"; then fail "$name" "$(basename "$f") differs"; return; fi
    done
    if ! ls "$d"/a/*.pb >/dev/null 2>&1; then fail "$name" "no outputs written"; return; fi
    if ! cmp -s "$d/a.json" "$d/b.json"; then fail "$name" "JSON reports differ"; return; fi
    if ! cmp -s "$d/a.txt" "$d/b.txt"; then fail "$name" "text reports differ"; return; fi
    if ! grep -q '"cycles": *[1-9]' "$d/b.json"; then fail "$name" "no cycles in the report"; return; fi
    pass "$name"
}
same prog-fmnist-tpu-v1-b4 tests/models/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 4
same prog-fmnist-tpu-v5e tests/models/fmnist_cnn.onnx --chip tpu-v5e --host-ops --seed 7
same prog-conv-calib-random tests/models/chip/conv_small.onnx --chip tpu-v1 --calib-random 3 \
    --calib-method percentile --set weight_memory_gb_per_s=60 --array 128x128
same prog-gemm-scalesim tests/models/chip/gemm_small.onnx --chip tpu-v4 --schedule scalesim

# --data with --batch: the data set in chunks, as run MODEL --data DIR --batch N
D=tests/models/fmnist/test_data_set_0
if [ -f "$D/input_0.pb" ]; then
    d="$out/data"; mkdir -p "$d/a" "$d/b"
    "$T" compile tests/models/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 64 -o "$d/p.tpu" >/dev/null &&
    "$T" run tests/models/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 64 --data "$D" \
        --outputs "$d/a" --json "$d/a.json" >/dev/null 2>&1 &&
    "$T" run "$d/p.tpu" --data "$D" --outputs "$d/b" --json "$d/b.json" >/dev/null 2>&1
    if [ $? = 0 ] && cmp -s "$d/a/output_0.pb" "$d/b/output_0.pb" && cmp -s "$d/a.json" "$d/b.json"
    then pass prog-data-chunks; else fail prog-data-chunks "outputs or report differ"; fi
else echo "SKIP prog-data-chunks: no $D"; fi

# Truncation sweep and a flipped byte: exit 2, message names the file
P="$out/prog-fmnist-tpu-v1-b4/p.tpu"
len=$(wc -c <"$P")
bad=""
for n in 0 1 7 8 12 16 20 24 27 28 100 2000 $((len / 2)) $((len - 9)) $((len - 8)) $((len - 1)); do
    head -c "$n" "$P" >"$out/t.tpu"
    "$T" run "$out/t.tpu" >"$out/t.txt" 2>&1; rc=$?
    if [ "$rc" != 2 ] || ! grep -q "t.tpu: .*\(truncated\|not a tpusim program\)" "$out/t.txt"; then
        bad="$bad $n(rc $rc: $(head -c 120 "$out/t.txt"))"; fi
done
if [ -z "$bad" ]; then pass prog-truncation-sweep; else fail prog-truncation-sweep "$bad"; fi
cp "$P" "$out/f.tpu"
printf 'X' | dd of="$out/f.tpu" bs=1 seek=$((len / 3)) conv=notrunc 2>/dev/null
"$T" run "$out/f.tpu" >"$out/f.txt" 2>&1; rc=$?
if [ "$rc" = 2 ] && grep -q "checksum mismatch" "$out/f.txt"; then pass prog-flipped-byte
else fail prog-flipped-byte "rc $rc: $(head -c 200 "$out/f.txt")"; fi

# Options that belong in the file are refused on run; --calib DIR is saved as
# scales (tests/cli/chip_calib_prog.sh), --data is not saved
"$T" run "$P" --batch 2 >"$out/u.txt" 2>&1; rc=$?
if [ "$rc" = 2 ] && grep -q "takes only --data" "$out/u.txt"; then pass prog-run-options
else fail prog-run-options "rc $rc"; fi
"$T" compile tests/models/fmnist_cnn.onnx --chip tpu-v1 --data "$D" -o "$out/c.tpu" >"$out/v.txt" 2>&1; rc=$?
if [ "$rc" = 2 ] && [ ! -e "$out/c.tpu" ]; then pass prog-compile-data
else fail prog-compile-data "rc $rc"; fi
# a model that does not bind is refused at compile time, no file written
"$T" compile tests/models/fmnist_cnn.onnx --chip tpu-v1 --shape nosuch=1 -o "$out/s.tpu" >"$out/s.txt" 2>&1; rc=$?
if [ "$rc" = 2 ] && [ ! -e "$out/s.tpu" ]; then pass prog-compile-bad-shape
else fail prog-compile-bad-shape "rc $rc: $(head -c 200 "$out/s.txt")"; fi

# Crafted files with a valid checksum: the structure checks behind it
craft() {   # craft OUT PYTHON-EXPR-FOR-BODY (sections after the 16-byte header; n = their count)
    /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
def sec(tag, data): return tag + struct.pack("<Q", len(data)) + data
body, n = eval(sys.argv[2]), int(sys.argv[3])
b = b"TPUPROG1" + struct.pack("<II", 1, n) + body
h = 0xcbf29ce484222325
for c in b: h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
open(sys.argv[1], "wb").write(b + struct.pack("<Q", h))
PY
}
bad=""
check_craft() {   # NAME BODY N EXPECTED-MESSAGE
    craft "$out/k.tpu" "$2" "$3" || { bad="$bad $1(python)"; return; }
    "$T" run "$out/k.tpu" >"$out/k.txt" 2>&1; rc=$?
    if [ "$rc" != 2 ] || ! grep -q "$4" "$out/k.txt"; then bad="$bad $1(rc $rc: $(head -c 150 "$out/k.txt"))"; fi
}
check_craft length 'b"CHIP" + struct.pack("<Q", 1 << 40) + b"abc"' 1 "length 1099511627776 past the end"
check_craft missing 'sec(b"CHIP", b"") + sec(b"OPTS", b"batch=1\n")' 2 "no MODL section"
check_craft stray 'sec(b"CHIP", b"") + b"zz"' 1 "stray bytes"
check_craft optkey 'sec(b"CHIP", b"") + sec(b"OPTS", b"warp=9\n") + sec(b"MODL", b"")' 3 "OPTS warp=9 unknown"
check_craft header 'b""' 1 "section 0 header past the end"
if [ -z "$bad" ]; then pass prog-crafted-structure; else fail prog-crafted-structure "$bad"; fi

# The saved per-layer programs (LAYR) are checked against the lowering before
# the run: one changed program byte (checksum recomputed) is refused, naming the layer
P="$out/prog-fmnist-tpu-v1-b4/p.tpu"
/usr/bin/python3 - "$P" "$out/l.tpu" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
at, n = 16, struct.unpack_from("<I", b, 12)[0]
for _ in range(n):
    tag, ln = bytes(b[at:at + 4]), struct.unpack_from("<Q", b, at + 4)[0]
    if tag == b"LAYR":
        nl = struct.unpack_from("<I", b, at + 12)[0]
        b[at + 12 + 12 + nl + 70] ^= 1          # inside layer 0's program
    at += 12 + ln
h = 0xcbf29ce484222325
for c in b[:-8]: h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
struct.pack_into("<Q", b, len(b) - 8, h)
open(sys.argv[2], "wb").write(b)
PY
"$T" run "$out/l.tpu" >"$out/l.txt" 2>&1; rc=$?
n=$("$T" compile tests/models/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 4 -o "$out/m.tpu" | sed -n 's/.*: \([0-9]*\) MXU layer.*/\1/p')
if [ "$rc" = 2 ] && grep -q "saved program of layer 0 .* differs" "$out/l.txt" && [ "${n:-0}" -ge 3 ]
then pass prog-layer-programs-checked
else fail prog-layer-programs-checked "rc $rc layers '$n': $(head -c 200 "$out/l.txt")"; fi

# --batch that does not divide the data set (256 rows in chunks of 50: the last
# chunk of 6 splits a layer into other rows): runs, all rows verified, and the
# program file gives the same report
if [ -f "$D/input_0.pb" ]; then
    d="$out/ragged"; mkdir -p "$d"
    "$T" run tests/models/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 50 --data "$D" --json "$d/a.json" \
        >"$d/a.txt" 2>&1; rc=$?
    "$T" compile tests/models/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 50 -o "$d/p.tpu" >/dev/null 2>&1 &&
    "$T" run "$d/p.tpu" --data "$D" --json "$d/b.json" >"$d/b.txt" 2>&1
    if [ "$rc" = 0 ] && grep -q "(256 rows): ok" "$d/a.txt" && cmp -s "$d/a.json" "$d/b.json" &&
       awk 'match($0, / (mxu|host) +~?[0-9]+ /) { split(substr($0, RSTART, RLENGTH), f, " "); sub(/~/, "", f[2]); s += f[2] }
            /^total:/ { t = $2 } END { exit !(s == t && t > 0) }' "$d/a.txt"
    then pass prog-data-ragged-chunks
    else fail prog-data-ragged-chunks "rc $rc: $(tail -n 1 "$d/a.txt")"; fi
fi
