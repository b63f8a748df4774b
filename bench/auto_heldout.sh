#!/bin/sh
# bench/auto_heldout.sh: `run --precision auto` with the choice made on inputs
# the verification does not use. The acceptance matrix's auto cells select on
# the cells' own inputs; here the PaddleOCR models select on 4 other seeded
# document images (tools/ocr_input.py --seed 21..24, `--calib DIR`) and are
# verified on the data set's image against ONNX Runtime's output (--data), and
# the seeded-random mobilenet_v2 and resnet18 select on `--calib-random 4`
# (other seeded inputs) and are verified on the run's own seeded input
# against the reference executor. On int8 chips --calib also fixes the
# activation scales from those images (static, instead of each input's own
# max |x| at run time): the deployment case. Prints one row per cell; exits 1
# when a cell is outside its bound or fails. Needs build/ocr and build/models
# (make models). About 10 minutes on 2 cores. Environment: TPUSIM, BUILD,
# PYTHON. Results: BUILD/bench/auto_heldout/.
NAME=auto_heldout.sh
TPUSIM=${TPUSIM:-build/tpusim}
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
die() { echo "$NAME: $*" >&2; exit 2; }
[ -x "$TPUSIM" ] || die "$TPUSIM not built (make)"
W="$BUILD/bench/auto_heldout"
rm -rf "$W" && mkdir -p "$W" || die "cannot make $W"
bad=0
# row LABEL CHIP MODEL ARGS...: one cell, one printed row
row() {
    label=$1 chip=$2 model=$3
    shift 3
    if [ ! -f "$model" ]; then echo "$label $chip: missing $model"; bad=1; return; fi
    log="$W/$label.$chip.log"
    "$TPUSIM" run "$model" --chip "$chip" --host-ops --precision auto "$@" >"$log" 2>&1
    rc=$?
    sel=$(sed -n 's/^precision auto: \([0-9]* of [0-9]* MXU layers widened\).*calibration \([a-z_0-9]* [0-9.e-]*\) (\([^;]*\); margin.*/\1 | calib \2 | \3/p' "$log")
    got=$(sed -n "s/.*output '[^']*' .*\(rel_l2 [0-9.e-]*\), \(cosine [0-9.]*\).*: \(ok\|OUTSIDE\).*/\1 \2 \3/p" "$log" | head -n 1)
    echo "$label | $chip | $sel | verified: $got | exit $rc"
    [ $rc -eq 0 ] || bad=1
}
ocr_shape() { case "$1" in det) echo 160,256 ;; rec) echo 48,320 ;; cls) echo 48,192 ;; esac; }
ocr_norm() { case "$1" in det) echo imagenet ;; *) echo half ;; esac; }
for o in det rec cls; do
    for s in 21 22 23 24; do
        mkdir -p "$W/calib_$o/set$s" &&
        "$PY" tools/ocr_input.py "$W/calib_$o/set$s/input_0.pb" --shape 1,3,$(ocr_shape $o) \
            --norm $(ocr_norm $o) --seed $s >/dev/null 2>&1 || die "tools/ocr_input.py failed"
    done
    d="$BUILD/ocr/ocr_$o"
    for chip in tpu-v1 tpu-v5e; do
        row ocr_$o $chip "$d/model.onnx" --calib "$W/calib_$o" --data "$d/test_data_set_0"
    done
done
row mobilenet_v2_op17 tpu-v1 "$BUILD/models/mobilenet_v2_op17_dyn/model.onnx" --batch 1 --calib-random 4
row mobilenet_v2_op17 tpu-v5e "$BUILD/models/mobilenet_v2_op17_dyn/model.onnx" --batch 1 --calib-random 4
row resnet18_op17 tpu-v5e "$BUILD/models/resnet18_op17_dyn/model.onnx" --batch 1 --calib-random 4
exit $bad
