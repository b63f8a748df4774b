#!/bin/sh
# tests/cli/simd_portable.sh: whole chip runs with the host-side loops' AVX-512
# hidden (TPUSIM_SIMD=portable, base/cpu.c: compile/driver.c's quantisation,
# 16 x 16 transposes, NHWC copies and unpacking take their SSE2 / C paths, as
# on a CPU without AVX-512) give the same outputs and the same JSON (cycles,
# energy, layers) as the default paths: int8 and bf16, convs (grouped and
# depthwise in mobilenet_v2 when build/models has it), Gemms, --precision
# highest's 16-bit split.
. tests/cli/lib.inc
MB=build/models/mobilenet_v2_fmnist_op17_dyn/model.onnx
# same NAME ARGS...: one run each way; outputs and JSON compared with cmp
same() {
    c=$1
    shift
    mkdir -p "$tmp/$c.a" "$tmp/$c.b"
    expect "$c-default" 0 "" "$T" run "$@" --outputs "$tmp/$c.a" --json "$tmp/$c.a.json" || return
    expect "$c-portable" 0 "" env TPUSIM_SIMD=portable "$T" run "$@" --outputs "$tmp/$c.b" \
        --json "$tmp/$c.b.json" || return
    ok=1
    for f in "$tmp/$c.a"/*; do cmp -s "$f" "$tmp/$c.b/${f##*/}" || ok=0; done
    cmp -s "$tmp/$c.a.json" "$tmp/$c.b.json" || ok=0
    check "$c-same" '[ $ok = 1 ]' "outputs or JSON differ between the AVX-512 and the portable paths"
}
same fmnist-v1 $M/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 8
same fmnist-v5e $M/fmnist_cnn.onnx --chip tpu-v5e --host-ops --batch 8
same fmnist-v1-highest $M/fmnist_cnn.onnx --chip tpu-v1 --host-ops --batch 3 --precision highest
same group-v1 $M/chip/conv_group.onnx --chip tpu-v1 --host-ops
if [ -f "$MB" ]; then
    same mobilenet-v1 "$MB" --chip tpu-v1 --host-ops --batch 2
else
    echo "SKIP mobilenet-v1: $MB missing (make models)"
fi
