#!/bin/sh
# tests/cli/svg.sh: end-to-end checks of the report5 writers outside C.
#   1. runs build/test-report5's "write" tests, which leave charts and a trace in
#      $BUILD/report5/;
#   2. parses every chart as XML (python xml.etree) and checks its root is <svg>;
#   3. loads the trace with python json and checks its events;
#   4. renders every chart to PNG with rsvg-convert (Debian librsvg2-bin; SKIP
#      when it is not installed);
#   5. runs tools/gpu_calibrate.py --cpu on a two-layer model and checks the
#      calibration file it writes (SKIP without torch/onnx).
# Prints PASS/FAIL/SKIP lines for tests/run.sh.
BUILD=${BUILD:-build}
PY=/usr/bin/python3
OUT="$BUILD/report5"
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

if [ ! -x "$BUILD/test-report5" ]; then fail cli-svg-1.1 "no $BUILD/test-report5"; exit 1; fi
rm -rf "$OUT"
"$BUILD/test-report5" report5-write >/dev/null 2>&1 || { fail cli-svg-1.1 "test-report5 write tests failed"; exit 1; }
pass cli-svg-1.1

n=0
for f in "$OUT"/*.svg; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    if msg=$($PY -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
assert len(list(r.iter())) > 20, "too few elements"' "$f" 2>&1); then pass "cli-svg-2.$n-xml $(basename "$f")"
    else fail "cli-svg-2.$n-xml $(basename "$f")" "$(echo "$msg" | tail -1)"; fi
done
[ "$n" -ge 5 ] && pass cli-svg-2.0-count || fail cli-svg-2.0-count "expected >= 5 charts, found $n"

if msg=$($PY -c 'import json, sys
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
names = {e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
assert {"MXU", "vector", "DMA", "host link"} <= names, names
x = [e for e in ev if e["ph"] == "X"]
assert len(x) == 6 and all(e["dur"] >= 0 and "ts" in e for e in x), x
st = [e for e in ev if e["ph"] == "i"]
assert len(st) == 2 and all(e["cat"] == "stall" for e in st), st
mm = [e for e in x if e["name"] == "MatrixMultiply"][0]
assert abs(mm["dur"] - 256 / 700e6 * 1e6) < 1e-6, mm' "$OUT/trace.json" 2>&1); then pass cli-svg-3.1-trace-json
else fail cli-svg-3.1-trace-json "$(echo "$msg" | tail -1)"; fi

if command -v rsvg-convert >/dev/null 2>&1; then
    n=0
    for f in "$OUT"/*.svg; do
        n=$((n + 1))
        png="${f%.svg}.png"
        if rsvg-convert -o "$png" "$f" 2>/dev/null && [ -s "$png" ]; then pass "cli-svg-4.$n-png $(basename "$png")"
        else fail "cli-svg-4.$n-png $(basename "$f")" "rsvg-convert failed"; fi
    done
else
    skip cli-svg-4.0-png "rsvg-convert not installed (Debian librsvg2-bin)"
fi

if $PY -c 'import torch, onnx' 2>/dev/null; then
    if msg=$($PY tools/gpu_calibrate.py --selftest-model "$OUT/tiny.onnx" 2>&1 &&
             $PY tools/gpu_calibrate.py --cpu --batch 4 --repeats 5 --gpu-name cpu \
                 -o "$OUT/tiny.calib.csv" "$OUT/tiny.onnx" 2>&1 &&
             $PY -c 'import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "# tpusim-calibration v1", lines[0]
assert lines[1] == "model,node,op,batch,seconds,gpu,date", lines[1]
rows = [l.split(",") for l in lines[2:] if l and not l.startswith("#")]
ops = sorted(r[2] for r in rows)
assert ops == ["Gemm", "MatMul", "Relu"], ops
assert all(r[0] == "tiny" and r[3] == "4" and r[5] == "cpu" and float(r[4]) > 0 for r in rows), rows' "$OUT/tiny.calib.csv" 2>&1); then
        pass cli-svg-5.1-calibrate-cpu
    else
        fail cli-svg-5.1-calibrate-cpu "$(echo "$msg" | tail -1)"
    fi
else
    skip cli-svg-5.1-calibrate-cpu "no torch/onnx for $PY"
fi
