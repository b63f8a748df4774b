#!/bin/sh
# tests/cli/chip_calib.sh: int8 calibration of `run --chip` — the report says
# which method and source were used; calibrated scales are really applied
# (calibrating on inputs 100x too small clips activations: cosine falls
# outside the bound, exit 1); bad calibration folders exit 2 naming the file.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx
D=$M/fmnist/test_data_set_0

expect chip-calib-default 0 "quantisation: int8 min/max on the run's own inputs" "$T" run $F --chip tpu-v1 --host-ops --batch 2
expect chip-calib-percentile 0 "quantisation: int8 percentile 99.99 of \|x\| on the run's own inputs.*|ok \(cosine" \
    "$T" run $F --chip tpu-v1 --host-ops --batch 2 --calib-method percentile
expect chip-calib-random 0 "quantisation: int8 min/max over 3 seeded random inputs \(--calib-random\)" \
    "$T" run $F --chip tpu-v1 --host-ops --batch 2 --calib-random 3
expect chip-calib-dir 0 "quantisation: int8 min/max over 1 input set\(s\) of --calib $M/fmnist" \
    "$T" run $F --chip tpu-v1 --host-ops --data $D --calib $M/fmnist
expect chip-calib-bf16 0 "quantisation: bf16: no calibration" "$T" run $F --chip tpu-v5e --host-ops --batch 2 --calib-random 2
expect chip-calib-json 0 "" "$T" run $F --chip tpu-v1 --host-ops --batch 2 --calib-random 2 --json "$tmp/k.json"
check chip-calib-json-key 'grep -q "\"calibration\": \"int8 min/max over 2 seeded random inputs" "$tmp/k.json"' \
    "no calibration key in the JSON"
expect chip-calib-bad-method 2 "--calib-method must be minmax or percentile" "$T" run $F --chip tpu-v1 --calib-method avg
expect chip-calib-both 2 "not both" "$T" run $F --chip tpu-v1 --calib $M/fmnist --calib-random 2
expect chip-calib-missing 2 "--calib $tmp/none: cannot open the folder" "$T" run $F --chip tpu-v1 --host-ops --calib "$tmp/none"
mkdir -p "$tmp/empty"
expect chip-calib-empty 2 "no input_0.pb in it nor in its subfolders" "$T" run $F --chip tpu-v1 --host-ops --calib "$tmp/empty"

if /usr/bin/python3 - "$D/input_0.pb" "$tmp" <<'PY' 2>/dev/null
import os, sys
import numpy as np, onnx
from onnx import numpy_helper
x = numpy_helper.to_array(onnx.load_tensor(sys.argv[1]))
for d in ("small", "bad"): os.makedirs(os.path.join(sys.argv[2], d), exist_ok=True)
onnx.save_tensor(numpy_helper.from_array((x[:16] * 0.01).astype(np.float32), "input"),
                 os.path.join(sys.argv[2], "small", "input_0.pb"))
onnx.save_tensor(numpy_helper.from_array(np.zeros((2, 3), np.float32), "input"),
                 os.path.join(sys.argv[2], "bad", "input_0.pb"))
PY
then
    expect chip-calib-applied 1 "OUTSIDE \(cosine >= 0\.99\)" "$T" run $F --chip tpu-v1 --host-ops --data $D --calib "$tmp/small"
    expect chip-calib-bad-shape 2 "^tpusim: --calib: $tmp/bad/input_0.pb: .*tensor 'input': input has shape \[batch,1,28,28\], the value given has \[2,3\]" \
        "$T" run $F --chip tpu-v1 --host-ops --batch 4 --calib "$tmp/bad"
else
    echo "SKIP chip-calib-applied: /usr/bin/python3 with onnx not available"
fi
exit 0
