#!/bin/sh
# bench/models_vs_ort.sh [--repeat N] [--no-update]: every model of the suite
# (tools/export_models.py's batch-1 opset-13 exports, the PaddleOCR models, the
# Fashion-MNIST CNN on its 256 test images) on tpusim's reference and on ONNX
# Runtime, one thread each, same inputs, in one invocation. Prints a table of
# best milliseconds per run, the ratio ref/ORT and tpusim's rel-L2 against the
# expected outputs, and replaces the "Every model" section of BENCHMARKS.md
# (between its markers) unless --no-update. Run `make models` first (or let
# tests/cli/models.sh generate the models). Environment: TPUSIM, BUILD.
NAME=models_vs_ort.sh REPEAT=3
. "$(dirname "$0")/lib.inc"
[ -x "$TPUSIM" ] || die "$TPUSIM not built (make)"
[ -d "$BUILD/ort/node_modules/onnxruntime-node" ] || die "no ORT in $BUILD/ort (sh tools/npm_install.sh)"
export TPUSIM_ORT="$BUILD/ort/node_modules"
W="$BUILD/bench/models"
rm -rf "$W" && mkdir -p "$W" || exit 1

{
    for d in "$BUILD"/models/*_op13_b1/ "$BUILD"/ocr/*/; do
        [ -f "$d/test_data_set_0/output_0.pb" ] && echo "$(basename "$d") ${d}model.onnx ${d}test_data_set_0"
    done
    echo "fmnist_cnn_b256 tests/models/fmnist_cnn.onnx tests/models/fmnist/test_data_set_0"
} >"$W/list.txt"
[ "$(wc -l <"$W/list.txt")" -gt 1 ] || die "no models in $BUILD/models (make models)"

: >"$W/rows.txt"
while read -r name model data; do
    mkdir -p "$W/$name.in" "$W/$name.out"
    cp "$data"/input_*.pb "$W/$name.in/"
    node bench/ort_run.js "$model" "$data" --repeat "$REPEAT" --threads 1 --json "$W/$name.ort.json" \
        >"$W/$name.ort.log" 2>&1 || die "ORT failed on $name: $(tail -n 1 "$W/$name.ort.log")"
    OPENBLAS_NUM_THREADS=1 "$TPUSIM" run "$model" --chip ref --data "$W/$name.in" --outputs "$W/$name.out" \
        --threads 1 --repeat "$REPEAT" --json "$W/$name.ref.json" >"$W/$name.ref.log" 2>&1 ||
        die "tpusim failed on $name: $(tail -n 2 "$W/$name.ref.log" | tr '\n' ' ')"
    "$PY" tools/compare_pb.py "$data" "$W/$name.out" --max-rel-l2 1e-4 >"$W/$name.cmp" 2>&1
    echo "$name $W/$name.ref.json $W/$name.ort.json $W/$name.cmp" >>"$W/rows.txt"
done <"$W/list.txt"

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
"$PY" - "$W/rows.txt" "$REPEAT" "$UPDATE" "${cpu:-unknown}" "$(nproc)" "$(date -u +%Y-%m-%d)" \
    "$(git rev-parse --short HEAD 2>/dev/null)" "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" <<'EOF'
import json, re, sys
rows, repeat, update, cpu, cores, date, rev, load = sys.argv[1:9]
lines = ["| model | input | tpusim ref best ms | ORT best ms | ref/ORT | ref rel-L2 |",
         "|---|---|---:|---:|---:|---:|"]
for row in open(rows):
    name, ref_f, ort_f, cmp_f = row.split()
    ref, ort = json.load(open(ref_f)), json.load(open(ort_f))
    rb, ob = 1e3 * ref["ref_seconds_best"], ort["ort_ms_best"]
    rel = max(float(m) for m in re.findall(r"rel-L2 ([0-9.eE+-]+)", open(cmp_f).read()) or ["nan"])
    shape = "; ".join("x".join(str(d) for d in i["dims"]) for i in ort["inputs"])
    lines.append("| %s | %s | %.1f | %.1f | %.1f | %.1e |" % (name, shape, rb, ob, rb / ob, rel))
table = "\n".join(lines)
print(table)
if update != "yes":
    sys.exit(0)
section = f"""<!-- models_vs_ort:begin (written by bench/models_vs_ort.sh; do not edit by hand) -->
## Every model: reference executor vs ONNX Runtime (1 thread)

Command: `sh bench/models_vs_ort.sh --repeat {repeat}` (after `make models`). Best of
{repeat} timed runs each (ORT after one warm-up run), same inputs, one invocation;
tpusim `--threads 1`, ORT CPU EP intra-op 1 / inter-op 1. rel-L2: tpusim's
output against the test set's expected output (PyTorch's; ORT's for ocr_*).
Machine: {cpu}, {cores} cores, shared (load average {load} at the end).
Date: {date}. Commit: {rev}.

{table}
<!-- models_vs_ort:end -->"""
try:
    text = open("BENCHMARKS.md").read()
except FileNotFoundError:
    text = "# tpusim benchmarks\n"
pat = re.compile(r"<!-- models_vs_ort:begin.*?<!-- models_vs_ort:end -->", re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + section + "\n"
open("BENCHMARKS.md", "w").write(text)
print("updated BENCHMARKS.md")
EOF
