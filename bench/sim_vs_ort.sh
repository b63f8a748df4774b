#!/bin/sh
# bench/sim_vs_ort.sh [--repeat N] [--rounds R] [--no-update]: the bit-exact
# int8 simulation of ResNet-18 at batch 8 (`run --chip tpu-v1 --host-ops`:
# load, lowering, packing, cycle-level MXU simulation, host ops, verification)
# against ONNX Runtime fp32 on the same 8 images, one thread each. R rounds
# (default 5), each running, one after the other:
#   ORT warm: one node process, best of N session.run after a warm-up (its model
#        load and graph optimisation are outside the timing);
#   tpusim warm: `run --repeat N`, best of N whole runs in one process (each
#        loads the model again; JSON run_seconds_best);
#   tpusim cold: best of N fresh `tpusim run` processes, wall time of the
#        whole command (process start, load, everything);
#   ORT cold: best of N fresh node processes, wall time of the whole command
#        (node start, session creation, one run without a warm-up).
# A round's ratios are its times over its ORT warm time (same minute, same
# machine load), and tpusim cold over ORT cold; the table gives each figure's
# median over the rounds and the range of the ratios. The chip's outputs are
# verified against ORT's (written as the data set's output_0.pb), so no
# reference-executor pass is timed.
# Replaces the "Chip simulation vs ONNX Runtime" section of BENCHMARKS.md
# (between its markers) unless --no-update. Needs build/models (make models or
# /usr/bin/python3 tools/export_models.py build/models) and build/ort
# (sh tools/npm_install.sh). Environment: TPUSIM, BUILD.
NAME=sim_vs_ort.sh REPEAT=7 ROUNDS=${ROUNDS:-5}
. "$(dirname "$0")/lib.inc"
M="$BUILD/models/resnet18_op13_dyn/model.onnx"
[ -x "$TPUSIM" ] || die "$TPUSIM not built (make)"
[ -f "$M" ] || die "no $M (/usr/bin/python3 tools/export_models.py $BUILD/models)"
[ -d "$BUILD/ort/node_modules/onnxruntime-node" ] || die "no ORT in $BUILD/ort (sh tools/npm_install.sh)"
export TPUSIM_ORT="$BUILD/ort/node_modules" OPENBLAS_NUM_THREADS=1
W="$BUILD/bench/sim_vs_ort"
rm -rf "$W" && mkdir -p "$W/in" "$W/data" || exit 1

# 8 seeded images in [-1, 1)
"$PY" - "$W/in/input_0.pb" <<'PYEOF' || die "cannot write the input"
import sys, numpy as np
from onnx import numpy_helper
x = np.random.default_rng(8).uniform(-1, 1, (8, 3, 224, 224)).astype(np.float32)
open(sys.argv[1], "wb").write(numpy_helper.from_array(x, "input").SerializeToString())
PYEOF

sim() { "$TPUSIM" run "$M" --chip tpu-v1 --host-ops --batch 8 --data "$W/data" "$@"; }
# best_wall CMD...: the shortest wall time (s) of REPEAT runs of CMD (output to $W/cold.log)
best_wall() {
    b=""
    i=0
    while [ $i -lt "$REPEAT" ]; do
        t0=$(date +%s.%N)
        "$@" >"$W/cold.log" 2>&1 || { tail -n 2 "$W/cold.log" >&2; return 1; }
        t1=$(date +%s.%N)
        b=$(echo "$t0 $t1 $b" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
        i=$((i + 1))
    done
    echo "$b"
}
: >"$W/rounds.txt"
r=0
while [ $r -lt "$ROUNDS" ]; do
    node bench/ort_run.js "$M" "$W/in" --repeat "$REPEAT" --threads 1 --out "$W/data" --json "$W/ort.json" \
        >"$W/ort.log" 2>&1 || die "ORT failed: $(tail -n 1 "$W/ort.log")"
    sim --repeat "$REPEAT" --json "$W/warm.json" >"$W/warm.log" 2>&1 ||
        die "tpusim --repeat failed: $(tail -n 2 "$W/warm.log" | tr '\n' ' ')"
    cold=$(best_wall sim --json "$W/sim.json") || die "tpusim failed"
    cp "$W/cold.log" "$W/sim.log"
    ocold=$(best_wall node bench/ort_run.js "$M" "$W/in" --no-warmup --threads 1) || die "ORT (cold) failed"
    "$PY" -c 'import json, sys; o = json.load(open(sys.argv[1])); w = json.load(open(sys.argv[2]))
print("%.3f %.3f %.3f %.3f" % (o["ort_ms_best"], 1e3 * w["run_seconds_best"], 1e3 * float(sys.argv[3]), 1e3 * float(sys.argv[4])))' \
        "$W/ort.json" "$W/warm.json" "$cold" "$ocold" >>"$W/rounds.txt" || die "cannot read the round's JSON"
    echo "round $((r + 1)): ORT warm, tpusim warm, tpusim cold, ORT cold (ms): $(tail -n 1 "$W/rounds.txt")"
    r=$((r + 1))
done

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
"$PY" - "$W" "$REPEAT" "$ROUNDS" "$UPDATE" "${cpu:-unknown}" "$(nproc)" "$(date -u +%Y-%m-%d)" \
    "$(git rev-parse --short HEAD 2>/dev/null)" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" <<'PYEOF'
import json, re, statistics as st, sys
w, repeat, rounds, update, cpu, cores, date, rev, load = sys.argv[1:10]
rows = [tuple(map(float, l.split())) for l in open(w + "/rounds.txt") if l.strip()]
sim = json.load(open(w + "/sim.json"))
log = open(w + "/sim.log").read()
cos = ",".join(re.findall(r"cosine ([0-9.]+)", log)) or "n/a"
cycles = sim.get("cycles", 0)
med = lambda k: st.median(r[k] for r in rows)
ratio = lambda k, base=0: [r[k] / r[base] for r in rows]
def cell(k, base=0):
    q = ratio(k, base)
    return "%.2f (%.2f-%.2f)" % (st.median(q), min(q), max(q))
table = "\n".join([
    "| what (batch 8, one thread) | ms, median of rounds | ratio to ORT: median (range) |", "|---|---:|---:|",
    "| ONNX Runtime 1.30 fp32, CPU EP: session.run, best of %s after a warm-up | %.1f | 1.00 |" % (repeat, med(0)),
    "| tpusim warm: `run --repeat %s`, the whole run in one process (load, lowering, simulation, host ops, verification), best | %.1f | %s |"
    % (repeat, med(1), cell(1)),
    "| tpusim cold: the whole `tpusim run` command in a fresh process, best of %s | %.1f | %s |" % (repeat, med(2), cell(2)),
    "| ONNX Runtime cold: the whole `node bench/ort_run.js --no-warmup` command (node start, session creation, one run), best of %s | %.1f | %s |"
    % (repeat, med(3), cell(3))])
cold = "Cold against cold (tpusim cold / ORT cold): %s." % cell(2, 3)
print(table)
print(cold)
print("simulated cycles %s, chip vs ORT cosine %s" % (cycles, cos))
if update != "yes":
    sys.exit(0)
per_round = "; ".join("%.1f / %.1f / %.1f / %.1f" % r for r in rows)
section = f"""<!-- sim_vs_ort:begin (written by bench/sim_vs_ort.sh; do not edit by hand) -->
## Chip simulation vs ONNX Runtime

Command: `sh bench/sim_vs_ort.sh --repeat {repeat} --rounds {rounds}`. ResNet-18
(tools/export_models.py, dynamic batch, opset 13) on 8 seeded random images;
tpusim simulates the int8 tpu-v1 bit-exactly (every Gemm/Conv lowered and run on
the cycle-level MXU model, other ops on the host, outputs verified against
ORT's: cosine {cos}). Simulated: {cycles:,} cycles. Each of the {rounds} rounds
times ORT warm, tpusim warm, tpusim cold and ORT cold, back to back, so a round's
ratios compare runs made under the same machine load. ORT's warm figure leaves
out its model load and graph optimisation (session creation); tpusim's warm
figure includes its model load, lowering and verification in every run; the
cold figures are whole commands in fresh processes, process start included.
Rounds (ORT warm / tpusim warm / tpusim cold / ORT cold ms): {per_round}.
Machine: {cpu}, {cores} cores, shared (load average {load} at the end).
Date: {date}. Commit: {rev}.

{table}

{cold}
<!-- sim_vs_ort:end -->"""
b = open("BENCHMARKS.md").read()
m = re.search(r"<!-- sim_vs_ort:begin.*?<!-- sim_vs_ort:end -->", b, re.S)
b = b[:m.start()] + section + b[m.end():] if m else b.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(b)
print("BENCHMARKS.md updated")
PYEOF
