#!/bin/sh
# tests/cli/prog_host_ops.sh: `compile -o` leaves to the host what `run --host-ops` leaves there.
# A layer too big for the chip's unified buffer (tests/cli/small_models.py's chain, mm1: one row
# needs 3 KiB, 2 KiB given): with --host-ops compile -o saves the other layers and run PROG.tpu
# gives run MODEL's values; without --host-ops both refuse it, naming the node (exit 2, no file).
. tests/cli/lib.inc
if /usr/bin/python3 tests/cli/small_models.py "$tmp" 2>/dev/null; then
    mkdir -p "$tmp/big1" "$tmp/big2"
    expect prog-host-ops-too-big 0 "big.tpu: 2 MXU layer program\(s\)" \
        "$T" compile "$tmp/chain.onnx" --chip tpu-v1 --host-ops --set unified_buffer_bytes=2048 -o "$tmp/big.tpu"
    expect prog-host-ops-too-big-run 0 "" "$T" run "$tmp/big.tpu" --outputs "$tmp/big1"
    expect prog-host-ops-too-big-model 0 "" "$T" run "$tmp/chain.onnx" --chip tpu-v1 --host-ops \
        --set unified_buffer_bytes=2048 --outputs "$tmp/big2"
    check prog-host-ops-too-big-same 'cmp -s "$tmp/big1/output_0.pb" "$tmp/big2/output_0.pb"' "run big.tpu and run MODEL differ"
    expect prog-too-big-refused 2 "node 'mm1' \(MatMul\): needs 3 KiB of Unified Buffer" \
        "$T" compile "$tmp/chain.onnx" --chip tpu-v1 --set unified_buffer_bytes=2048 -o "$tmp/big0.tpu"
    check prog-too-big-no-file '[ ! -e "$tmp/big0.tpu" ]' "a program file was written"
else
    echo "SKIP prog-host-ops-too-big: /usr/bin/python3 with onnx not available"
fi
