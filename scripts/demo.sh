#!/bin/sh
# scripts/demo.sh BUILD: `make demo` — the main job on the bundled default model
# (tests/models/tiny_mlp.onnx, a dynamic-batch MLP with its expected outputs
# computed by numpy): what `check` says about it, then a reference run compared
# with the expected outputs. Grows with the chip and the compiler.
BUILD=${1:-build}
T="$BUILD/tpusim"
M=tests/models/tiny_mlp.onnx
echo "== tpusim check $M"
"$T" check "$M" || exit $?
echo
echo "== tpusim run $M --chip ref --data tests/models/tiny_mlp/test_data_set_0 --repeat 5"
"$T" run "$M" --chip ref --data tests/models/tiny_mlp/test_data_set_0 --repeat 5
