#!/bin/sh
# tests/cli/vec.sh: the vector-unit lowering end to end (compile/lower_vec.c,
# compile/run_vec.c): `tpusim run` on the exported transformer shows "vector"
# rows and still verifies within the bf16 bound; and for every node of the
# acceptance models the unit of its row in the run report is the unit
# `check --chip` gives it (mxu / vector / host), on tpu-v5e (vector unit) and
# tpu-v1 (none). Skips what is not built (build/models, build/ocr).
. tests/cli/lib.inc
MD=${BUILD:-build}/models
TR=$MD/transformer_op17_b1/model.onnx
if [ -f "$TR" ]; then
    expect vec-cli-transformer 0 "/layers.0/self_attn/Softmax +Softmax +vector .*|ok \(rel_l2 <= 0.01\)" \
        "$T" run "$TR" --chip tpu-v5e --host-ops
    expect vec-cli-transformer-ln 0 "/layers.0/norm1/LayerNormalization +LayerNorma +vector " \
        "$T" run "$TR" --chip tpu-v5e --host-ops
    expect vec-cli-transformer-v1 0 "/layers.0/norm1/LayerNormalization +LayerNorma +host " \
        "$T" run "$TR" --chip tpu-v1 --host-ops
    expect vec-cli-check-v1 0 "/layers.0/norm1/LayerNormalization +LayerNormalization +host .*no vector unit on tpu-v1: host" \
        "$T" check "$TR" --chip tpu-v1
else
    echo "SKIP vec-cli-transformer: $TR not built (make models)"
fi

# check --chip and run agree, node by node.
agree() {   # NAME MODEL CHIP [--batch N]
    name=$1 model=$2 chip=$3
    shift 3
    "$T" check "$model" --chip "$chip" "$@" --json "$tmp/c.json" >/dev/null 2>&1 &&
    "$T" run "$model" --chip "$chip" "$@" --host-ops --json "$tmp/r.json" >/dev/null 2>&1
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then fail "$name" "check/run exit $rc"; return; fi
    if msg=$(/usr/bin/python3 - "$tmp/c.json" "$tmp/r.json" <<'PY'
import json, sys
check = {n["name"]: n["unit"] for n in json.load(open(sys.argv[1]))["nodes"]}
rows = {r["name"]: r["unit"] for r in json.load(open(sys.argv[2]))["layers"]}
bad, seen, vec, fused = [], 0, 0, 0
for name, unit in check.items():
    if name not in rows:            # fused into the ACTIVATE of the MXU layer before it: no row
        fused += 1
        if unit != "activation":
            bad.append("%s: check %s, no row in run" % (name, unit))
        continue
    seen += 1
    vec += rows[name] == "vector"
    if rows[name] != unit:
        bad.append("%s: check %s, run %s" % (name, unit, rows[name]))
if bad or seen == 0:
    print("; ".join(bad[:5]) or "no node rows")
    sys.exit(1)
print("%d nodes agree, %d on the vector unit, %d fused" % (seen, vec, fused))
PY
); then pass "$name"; echo "  $name: $msg"; else fail "$name" "$msg"; fi
}
n=0
for m in resnet18_op17_b1 mobilenet_v2_op13_b1 transformer_op13_b1 transformer_op17_b1 gpt2_block_op13_b1 \
         gpt2_block_op17_b1; do
    f=$MD/$m/model.onnx
    [ -f "$f" ] || continue
    n=$((n + 1))
    agree "vec-cli-agree-$m-v5e" "$f" tpu-v5e
done
[ -f "$MD/gpt2_block_op17_dyn/model.onnx" ] && agree vec-cli-agree-gpt2_block_op17_dyn-b8-v5e "$MD/gpt2_block_op17_dyn/model.onnx" tpu-v5e --batch 8
[ -f "$MD/transformer_op13_b1/model.onnx" ] && agree vec-cli-agree-transformer_op13_b1-v1 "$MD/transformer_op13_b1/model.onnx" tpu-v1
OD=${BUILD:-build}/ocr/ocr_det/model.onnx
[ -f "$OD" ] && agree vec-cli-agree-ocr_det-v5e "$OD" tpu-v5e
[ $n -eq 0 ] && echo "SKIP vec-cli-agree: build/models not built (make models)"
exit 0
