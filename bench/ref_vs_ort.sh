#!/bin/sh
# bench/ref_vs_ort.sh [--repeat N] [--no-update]: tpusim's reference executor
# against ONNX Runtime on resnet18, batch 1 and batch 8, one thread each.
#
# Both run in this one invocation on the same inputs: batch 1 is
# BUILD/models/resnet18_op13_b1 (PyTorch's test set), batch 8 is the
# dynamic-batch export fed a seeded batch of 8 (expected outputs from ORT).
#   ORT:    node bench/ort_run.js MODEL DATA --repeat N --json F (CPU EP, 1+1 threads)
#   tpusim: tpusim run MODEL --chip ref --data DATA --threads 1 --repeat N --json F
# ORT does one untimed warm-up run, then N timed runs; tpusim times all N runs
# (the first one included, so compare best times). Prints a table of best and
# mean milliseconds per run, the ratio ref/ORT of the best runs (goal <= 1.5)
# and tpusim's rel-L2 against the expected outputs, and replaces the
# "Reference executor vs ONNX Runtime" section of BENCHMARKS.md (between its
# markers) unless --no-update.
# Environment: TPUSIM (default build/tpusim), BUILD (default build).
NAME=ref_vs_ort.sh REPEAT=5
. "$(dirname "$0")/lib.inc"
[ -x "$TPUSIM" ] || die "$TPUSIM not built (make)"
sh tools/npm_install.sh "$BUILD" || die "onnxruntime-node not available"
export TPUSIM_ORT="$BUILD/ort/node_modules"
if [ ! -f "$BUILD/models/manifest.json" ]; then
    "$PY" tools/export_models.py "$BUILD/models" --only resnet18 >/dev/null 2>&1 ||
        die "tools/export_models.py failed"
fi
W="$BUILD/bench"
mkdir -p "$W/resnet18_b8/test_data_set_0" || exit 1

# Batch 8 input (seeded) and ORT's outputs for it as the expected outputs.
b8="$W/resnet18_b8/test_data_set_0"
if [ ! -f "$b8/output_0.pb" ]; then
    "$PY" - "$b8/input_0.pb" <<'EOF' || die "cannot write the batch-8 input"
import sys
import numpy as np
from onnx import numpy_helper
x = np.random.default_rng(8).standard_normal((8, 3, 224, 224)).astype(np.float32)
open(sys.argv[1], "wb").write(numpy_helper.from_array(x, name="input").SerializeToString())
EOF
    node bench/ort_run.js "$BUILD/models/resnet18_op13_dyn/model.onnx" "$b8" --out "$W/resnet18_b8/ort_out" \
        >/dev/null && cp "$W/resnet18_b8/ort_out/output_0.pb" "$b8/" || die "ORT failed on batch 8"
fi

rows="$W/rows.txt"
: >"$rows"
for batch in 1 8; do
    if [ $batch = 1 ]; then
        model="$BUILD/models/resnet18_op13_b1/model.onnx"; data="$BUILD/models/resnet18_op13_b1/test_data_set_0"
    else
        model="$BUILD/models/resnet18_op13_dyn/model.onnx"; data="$b8"
    fi
    node bench/ort_run.js "$model" "$data" --repeat "$REPEAT" --threads 1 --json "$W/ort_b$batch.json" \
        >"$W/ort_b$batch.log" 2>&1 || die "ORT failed at batch $batch: $(tail -n 1 "$W/ort_b$batch.log")"
    # Exit 1 (a per-element mismatch at the float32 noise floor, see
    # tests/models/xfail-models.txt) still gives timings; the table shows rel-L2.
    rm -f "$W/ref_b$batch.json"
    OPENBLAS_VERBOSE=2 OPENBLAS_NUM_THREADS=1 "$TPUSIM" run "$model" --chip ref --data "$data" --threads 1 \
        --repeat "$REPEAT" --json "$W/ref_b$batch.json" >"$W/ref_b$batch.log" 2>&1
    rc=$?
    [ $rc -le 1 ] && [ -f "$W/ref_b$batch.json" ] ||
        die "tpusim run failed at batch $batch: $(tail -n 2 "$W/ref_b$batch.log" | tr '\n' ' ')"
    echo "$batch $W/ref_b$batch.json $W/ort_b$batch.json" >>"$rows"
done

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
cores=$(nproc)
blas_core=$(sed -n 's/^Core: *//p' "$W/ref_b1.log" | head -n 1)
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
ortv=$(node -e "const p = require('path');
    console.log(require(p.resolve(process.argv[1], 'onnxruntime-node/package.json')).version)" "$TPUSIM_ORT" 2>/dev/null)
"$PY" - "$rows" "$REPEAT" "$UPDATE" "${cpu:-unknown}" "$cores" "$(date -u +%Y-%m-%d)" \
    "${ortv:-?}" "${OPENBLAS_CORETYPE:-unset}" "$(git rev-parse --short HEAD 2>/dev/null)" \
    "${blas_core:-unknown}" "${load:-unknown}" <<'EOF'
import json, re, sys
rows, repeat, update, cpu, cores, date, ortv, coretype, rev, blas_core, load = sys.argv[1:12]
lines = ["| batch | tpusim ref best ms | ref mean ms | ORT best ms | ORT mean ms | ref/ORT (best) | ref rel-L2 |",
         "|---:|---:|---:|---:|---:|---:|---:|"]
worst = 0.0
for row in open(rows):
    batch, ref_f, ort_f = row.split()
    ref, ort = json.load(open(ref_f)), json.load(open(ort_f))
    rb, rm = 1e3 * ref["ref_seconds_best"], 1e3 * ref["ref_seconds_per_run"]
    ob, om = ort["ort_ms_best"], ort["ort_ms_mean"]
    worst = max(worst, rb / ob)
    rel = max(o["rel_l2"] for o in ref["outputs"])
    if rel > 1e-4:
        sys.exit("ref_vs_ort.sh: batch %s: tpusim's rel-L2 %.2e exceeds 1e-4" % (batch, rel))
    lines.append("| %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.1e |" % (batch, rb, rm, ob, om, rb / ob, rel))
table = "\n".join(lines)
print(table)
print("ref/ORT worst %.2f (goal <= 1.5): %s" % (worst, "met" if worst <= 1.5 else "NOT met"))
if update != "yes":
    sys.exit(0)
section = f"""<!-- ref_vs_ort:begin (written by bench/ref_vs_ort.sh; do not edit by hand) -->
## Reference executor vs ONNX Runtime (resnet18, 1 thread)

Command: `sh bench/ref_vs_ort.sh --repeat {repeat}` (after `make`). Both run in one
invocation on the same inputs, {repeat} timed runs each (ORT after one warm-up run;
tpusim's first run is timed too, hence the ratio of best times). rel-L2: tpusim's
output against PyTorch's (batch 1) or ORT's (batch 8).
tpusim: `tpusim run MODEL --chip ref --threads 1 --repeat {repeat}` (OPENBLAS_NUM_THREADS=1);
ONNX Runtime: onnxruntime-node {ortv}, CPU EP, intra-op 1 / inter-op 1 threads,
all graph optimisations (`bench/ort_run.js`). Models: `tools/export_models.py`
resnet18 at opset 13 (batch 1: fixed-batch export; batch 8: dynamic-batch export).

Machine: {cpu}, {cores} cores, shared with other jobs (load average {load} at
the end of the run). OPENBLAS_CORETYPE={coretype}; OpenBLAS kernel in use: {blas_core}
(OPENBLAS_VERBOSE=2). Date: {date}. Commit: {rev}.

{table}

Goal ref/ORT <= 1.5: {"met" if worst <= 1.5 else "not met"} (worst {worst:.2f}).
<!-- ref_vs_ort:end -->"""
try:
    text = open("BENCHMARKS.md").read()
except FileNotFoundError:
    text = "# tpusim benchmarks\n"
pat = re.compile(r"<!-- ref_vs_ort:begin.*?<!-- ref_vs_ort:end -->", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(text)
print("updated BENCHMARKS.md")
EOF
