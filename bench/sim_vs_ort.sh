#!/bin/sh
# bench/sim_vs_ort.sh [--repeat N] [--no-update]: the bit-exact int8 simulation
# of ResNet-18 at batch 8 (`run --chip tpu-v1 --host-ops`, lowering, packing,
# cycle-level MXU simulation, host ops, verification) against ONNX Runtime
# fp32 on the same 8 images, one thread each, in one invocation. Wall time of
# the whole tpusim command (best of N) against ORT's best session.run of the
# batch. The chip's outputs are verified against ORT's (written as the data
# set's output_0.pb), so no reference-executor pass is inside the timing.
# Replaces the "Chip simulation vs ONNX Runtime" section of BENCHMARKS.md
# (between its markers) unless --no-update. Needs build/models (make models or
# /usr/bin/python3 tools/export_models.py build/models) and build/ort
# (sh tools/npm_install.sh). Environment: TPUSIM, BUILD.
NAME=sim_vs_ort.sh REPEAT=3
. "$(dirname "$0")/lib.inc"
M="$BUILD/models/resnet18_op13_dyn/model.onnx"
[ -x "$TPUSIM" ] || die "$TPUSIM not built (make)"
[ -f "$M" ] || die "no $M (/usr/bin/python3 tools/export_models.py $BUILD/models)"
[ -d "$BUILD/ort/node_modules/onnxruntime-node" ] || die "no ORT in $BUILD/ort (sh tools/npm_install.sh)"
export TPUSIM_ORT="$BUILD/ort/node_modules"
W="$BUILD/bench/sim_vs_ort"
rm -rf "$W" && mkdir -p "$W/in" "$W/data" || exit 1

# 8 seeded images in [-1, 1)
"$PY" - "$W/in/input_0.pb" <<'PYEOF' || die "cannot write the input"
import sys, numpy as np
from onnx import numpy_helper
x = np.random.default_rng(8).uniform(-1, 1, (8, 3, 224, 224)).astype(np.float32)
open(sys.argv[1], "wb").write(numpy_helper.from_array(x, "input").SerializeToString())
PYEOF

node bench/ort_run.js "$M" "$W/in" --repeat "$REPEAT" --threads 1 --out "$W/data" --json "$W/ort.json" \
    >"$W/ort.log" 2>&1 || die "ORT failed: $(tail -n 1 "$W/ort.log")"
best=""
i=0
while [ $i -lt "$REPEAT" ]; do
    t0=$(date +%s.%N)
    OPENBLAS_NUM_THREADS=1 "$TPUSIM" run "$M" --chip tpu-v1 --host-ops --batch 8 --data "$W/data" \
        --json "$W/sim.json" >"$W/sim.log" 2>&1 || die "tpusim failed: $(tail -n 2 "$W/sim.log" | tr '\n' ' ')"
    t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 $best" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
    i=$((i + 1))
done

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
"$PY" - "$W" "$best" "$REPEAT" "$UPDATE" "${cpu:-unknown}" "$(nproc)" "$(date -u +%Y-%m-%d)" \
    "$(git rev-parse --short HEAD 2>/dev/null)" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" <<'PYEOF'
import json, re, sys
w, best, repeat, update, cpu, cores, date, rev, load = sys.argv[1:10]
ort = json.load(open(w + "/ort.json"))
sim = json.load(open(w + "/sim.json"))
log = open(w + "/sim.log").read()
cos = re.findall(r"cosine ([0-9.]+)", log)
sim_ms, ort_ms = 1e3 * float(best), ort["ort_ms_best"]
cycles = sim.get("cycles", 0)
table = "\n".join([
    "| what | best ms (batch 8) | ratio to ORT |", "|---|---:|---:|",
    "| ONNX Runtime 1.30 fp32, CPU EP, 1 thread (session.run) | %.1f | 1.00 |" % ort_ms,
    "| tpusim run --chip tpu-v1 --host-ops --batch 8 (whole command, int8 bit-exact) | %.1f | %.2f |"
    % (sim_ms, sim_ms / ort_ms)])
print(table)
print("simulated cycles %s, chip vs ORT cosine %s" % (cycles, ",".join(cos) or "n/a"))
if update != "yes":
    sys.exit(0)
section = f"""<!-- sim_vs_ort:begin (written by bench/sim_vs_ort.sh; do not edit by hand) -->
## Chip simulation vs ONNX Runtime

Command: `sh bench/sim_vs_ort.sh --repeat {repeat}`. ResNet-18 (tools/export_models.py,
dynamic batch, opset 13) on 8 seeded random images; tpusim simulates the int8
tpu-v1 bit-exactly (every Gemm/Conv lowered and run on the cycle-level MXU model,
other ops on the host, outputs verified against ORT's: cosine {",".join(cos) or "n/a"});
its time is the whole command's wall time (load, lowering, packing, simulation,
host ops, verification), best of {repeat}, one thread. ORT: best of {repeat}
session.run calls after a warm-up, intra-op 1 / inter-op 1. Simulated: {cycles:,} cycles.
Machine: {cpu}, {cores} cores, shared (load average {load} at the end).
Date: {date}. Commit: {rev}.

{table}
<!-- sim_vs_ort:end -->"""
b = open("BENCHMARKS.md").read()
m = re.search(r"<!-- sim_vs_ort:begin.*?<!-- sim_vs_ort:end -->", b, re.S)
b = b[:m.start()] + section + b[m.end():] if m else b.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(b)
print("BENCHMARKS.md updated")
PYEOF
