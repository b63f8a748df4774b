#!/bin/sh
# tests/cli/qlinear_prog.sh: QLinearMatMul / QLinearConv with constant weights
# (ONNX's node tests test_qlinearmatmul_2D/_3D and test_qlinearconv, their
# data-set inputs 1..7 baked into initializers by tools/onnx_bake_inputs.py)
# take one lowering path (compile/mm_node.c) everywhere: `check --chip` puts
# node_0 on the MXU, `compile -o` saves its program (1 LAYR entry), `run
# prog.tpu --data` gives byte-identical outputs, --json report and printed
# report to `run MODEL --data` and matches ONNX's expected bytes exactly, and
# `bench` times it on the chip (no host ops) with the run's cycles. SKIP when
# the ONNX test data or python3 is missing.
. tests/cli/lib.inc
D=/usr/share/libonnx-testdata/data/node
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null 2>&1; then echo "SKIP qlinear-prog: no python3"; exit 0; fi
for t in test_qlinearmatmul_2D test_qlinearmatmul_3D test_qlinearconv; do
    if [ ! -f "$D/$t/model.onnx" ]; then echo "SKIP qlinear-prog-$t: no $D/$t"; continue; fi
    q="$tmp/$t"; mkdir -p "$q/data" "$q/a" "$q/b"
    if ! "$PY" tools/onnx_bake_inputs.py "$D/$t/model.onnx" "$q/model.onnx" "$D/$t"/test_data_set_0/input_[1-9].pb \
        >"$q/bake.txt" 2>&1; then fail "qlinear-prog-$t-bake" "$(head -c 200 "$q/bake.txt")"; continue; fi
    cp "$D/$t/test_data_set_0/input_0.pb" "$D/$t/test_data_set_0/output_0.pb" "$q/data/"
    expect "qlinear-prog-$t-check" 0 "node_0 +QLinear[A-Za-z]* +mxu" "$T" check "$q/model.onnx" --chip tpu-v1
    expect "qlinear-prog-$t-compile" 0 ": 1 MXU layer program\(s\)" \
        "$T" compile "$q/model.onnx" --chip tpu-v1 -o "$q/p.tpu"
    expect "qlinear-prog-$t-run-model" 0 "max_abs_error 0, .*ok \(exact" \
        "$T" run "$q/model.onnx" --chip tpu-v1 --data "$q/data" --outputs "$q/a" --json "$q/a.json"
    cp "$tmp/out" "$q/a.txt"
    expect "qlinear-prog-$t-run-prog" 0 "max_abs_error 0, .*ok \(exact" \
        "$T" run "$q/p.tpu" --data "$q/data" --outputs "$q/b" --json "$q/b.json"
    cp "$tmp/out" "$q/b.txt"
    check "qlinear-prog-$t-identical" "cmp -s '$q/a/output_0.pb' '$q/b/output_0.pb' && cmp -s '$q/a.json' '$q/b.json' && cmp -s '$q/a.txt' '$q/b.txt'" \
        "outputs or reports of run MODEL and run prog.tpu differ"
    check "qlinear-prog-$t-mxu-row" "grep -Eq '^node_0 +QLinear[A-Za-z]* +mxu' '$q/b.txt'" "$(grep node_0 "$q/b.txt" | head -c 200)"
    # bench: on the chip, and its device seconds are the run's simulated cycles at 700 MHz
    b=$(sed -n '1s/.*; batch \([0-9]*\)$/\1/p' "$q/a.txt")       # the model's fixed batch
    "$T" bench "$q/model.onnx" --chips tpu-v1 --batch "${b:-1}" --host-model --quiet --no-verify --json "$q/bench.json" >/dev/null 2>&1
    cyc=$(grep -o '"simulated_cycles": [0-9]*' "$q/a.json" | cut -d' ' -f2)
    check "qlinear-prog-$t-bench-on-chip" "grep -q '\"host_ops\": 0,' '$q/bench.json' && grep -q '\"device_seconds\": ' '$q/bench.json'" \
        "$(grep -o '"host_ops": [0-9]*' "$q/bench.json")"
    dev=$(grep -o '"device_seconds": [0-9.e+-]*' "$q/bench.json" | head -1 | cut -d' ' -f2)
    check "qlinear-prog-$t-bench-cycles" "awk -v d='$dev' -v c='$cyc' 'BEGIN { e = d * 700e6 - c; exit !(c > 0 && e < 0.5 && e > -0.5) }'" \
        "bench device seconds $dev, run $cyc cycles"
done
