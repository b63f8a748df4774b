#!/bin/sh
# tests/cli/bench.sh: `tpusim bench` and `tpusim run --chip C --trace FILE` end to
# end on the small dynamic-batch models of tests/models/bench/: exit codes, the
# table, the JSON and CSV rows (keys, consistency of the metrics, price override),
# the three SVG charts (XML; PNG via rsvg-convert when installed), the Chrome
# trace (JSON, tracks, stalls, byte-identical reruns), and bad input.
. tests/cli/lib.inc
PY=/usr/bin/python3
B=$M/bench

expect cli-bench-1.1-table 0 'winner per metric' \
    "$T" bench "$B/cnn_dyn.onnx" --chips tpu-v1,tpu-v5e,h100,cpu --batch 1,8 --slo-ms 5 --quiet \
    --json "$tmp/r.json" --csv "$tmp/r.csv" --svg "$tmp/svg"
cp "$tmp/out" "$tmp/table"
expect cli-bench-1.2-notes 0 'modelled: GPU numbers.*not measured on a GPU' cat "$tmp/table"
expect cli-bench-1.3-verified 0 'functional check: tpu-v1 batch 1, 2 MXU layers' cat "$tmp/table"
expect cli-bench-1.4-measured 0 'measured: cpu = the reference executor' cat "$tmp/table"

if msg=$($PY - "$tmp/r.json" 2>&1 <<'PYEOF'
import json, sys, math
d = json.load(open(sys.argv[1]))
r = d["results"]
assert len(r) == 8, len(r)
need = ["target", "batch", "latency_seconds", "throughput_per_second", "energy_joules_per_inference",
        "dollars_per_million"]
for x in r:
    for k in need:
        assert x.get(k) is not None, (x["target"], k)
    assert x["latency_seconds"] > 0
    assert math.isclose(x["throughput_per_second"], x["batch"] / x["latency_seconds"], rel_tol=1e-6), x
    assert math.isclose(x["inferences_per_joule"] * x["energy_joules_per_inference"], 1, rel_tol=1e-6), x
src = {x["target"]: x["source"] for x in r}
assert src == {"tpu-v1": "simulated", "tpu-v5e": "simulated", "h100": "modelled", "cpu": "measured"}, src
t = {(x["target"], x["batch"]): x for x in r}
# the simulated device time grows with the batch; the GPU model never gets slower per inference
assert t["tpu-v1", 8]["device_seconds"] > t["tpu-v1", 1]["device_seconds"]
assert t["h100", 8]["latency_seconds_per_inference"] <= t["h100", 1]["latency_seconds_per_inference"]
assert len(d["best_under_slo"]) == 4 and "throughput" in d["winners"]
assert d["functional_checks"][0]["max_nmse"] < 1e-3, d["functional_checks"]
PYEOF
); then pass cli-bench-2.1-json; else fail cli-bench-2.1-json "$(echo "$msg" | tail -1)"; fi

check cli-bench-2.2-csv "[ \$(wc -l < '$tmp/r.csv') -eq 9 ] && head -1 '$tmp/r.csv' | grep -q '^target,batch,source,latency_seconds,.*dollars_per_million'" \
    "expected a header and 8 rows: $(head -2 "$tmp/r.csv" | tr '\n' ' ')"

n=0
for f in roofline throughput cost; do
    n=$((n + 1))
    if msg=$($PY -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
assert len(list(r.iter())) > 20, "too few elements"' "$tmp/svg/$f.svg" 2>&1); then pass "cli-bench-3.$n-svg-$f"
    else fail "cli-bench-3.$n-svg-$f" "$(echo "$msg" | tail -1)"; fi
    if command -v rsvg-convert >/dev/null 2>&1; then
        if rsvg-convert "$tmp/svg/$f.svg" -o "$tmp/$f.png" 2>"$tmp/rsvg" && [ -s "$tmp/$f.png" ]; then
            pass "cli-bench-3.$n-png-$f"
        else fail "cli-bench-3.$n-png-$f" "$(head -c 200 "$tmp/rsvg")"; fi
    else echo "SKIP cli-bench-3.$n-png-$f: rsvg-convert not installed"; fi
done

# Deterministic with the host ops priced by the model; a price override scales cost exactly.
"$T" bench "$B/mlp_dyn.onnx" --chips tpu-v1,h100 --batch 1,64 --quiet --host-model --json "$tmp/a.json" >/dev/null 2>&1
"$T" bench "$B/mlp_dyn.onnx" --chips tpu-v1,h100 --batch 1,64 --quiet --host-model --json "$tmp/b.json" \
    --price h100=10 >/dev/null 2>&1
"$T" bench "$B/mlp_dyn.onnx" --chips tpu-v1,h100 --batch 1,64 --quiet --host-model --json "$tmp/c.json" >/dev/null 2>&1
check cli-bench-4.1-deterministic "cmp -s '$tmp/a.json' '$tmp/c.json'" "two runs differ"
# --precision: int8 chips 16-bit operands (half, quarter speed), bf16 chips more passes: more device time
"$T" bench "$B/mlp_dyn.onnx" --chips tpu-v1,tpu-v5e --batch 64 --quiet --host-model --precision highest \
    --json "$tmp/p6.json" >"$tmp/p6.txt" 2>&1
"$T" bench "$B/mlp_dyn.onnx" --chips tpu-v1,tpu-v5e --batch 64 --quiet --host-model --json "$tmp/p1.json" >/dev/null 2>&1
dev() { $PY -c "import json,sys; print(' '.join('%.9g' % x['device_seconds'] for x in json.load(open(sys.argv[1]))['results']))" "$1"; }
check cli-bench-4.3-precision "grep -q '\"tpu_precision_passes\": 6' '$tmp/p6.json' && grep -q 'precision highest' '$tmp/p6.txt' &&
    $PY -c 'import sys; a, b = [list(map(float, s.split())) for s in sys.argv[1:3]]; sys.exit(not all(y > x for x, y in zip(a, b)))' \
    \"$(dev "$tmp/p1.json")\" \"$(dev "$tmp/p6.json")\"" "device seconds default $(dev "$tmp/p1.json"), highest $(dev "$tmp/p6.json")"
# --resident where the liveness plan does not fit (cnn at batch 4096 needs 24.5 MiB, tpu-v1 has 24):
# said in the notes and the JSON, and the row is the per-layer schedule's
"$T" bench "$B/cnn_dyn.onnx" --chips tpu-v1 --batch 1024,4096 --quiet --host-model --no-verify --resident \
    --json "$tmp/r.json" >"$tmp/r.txt" 2>&1
"$T" bench "$B/cnn_dyn.onnx" --chips tpu-v1 --batch 4096 --quiet --host-model --no-verify --json "$tmp/n.json" \
    >/dev/null 2>&1
check cli-bench-4.5-resident-too-big "grep -q 'tpu-v1 batch 4096 needs 24.5 MiB of unified buffer' '$tmp/r.txt' &&
    ! grep -q 'batch 1024 needs' '$tmp/r.txt' && [ \$(grep -c resident_ub_need_bytes '$tmp/r.json') = 1 ] &&
    [ \"\$(dev '$tmp/n.json')\" = \"\$($PY -c \"import json; print('%.9g' % json.load(open('$tmp/r.json'))['results'][1]['device_seconds'])\")\" ]" \
    "$(grep needs "$tmp/r.txt")"
expect cli-bench-4.4-precision-bad 2 "--precision must be default, high or highest, not fast" \
    "$T" bench "$B/mlp_dyn.onnx" --chips tpu-v1 --precision fast
if msg=$($PY - "$tmp/a.json" "$tmp/b.json" data/targets.txt 2>&1 <<'PYEOF'
import json, sys, math, re
a = {(x["target"], x["batch"]): x for x in json.load(open(sys.argv[1]))["results"]}
b = {(x["target"], x["batch"]): x for x in json.load(open(sys.argv[2]))["results"]}
txt = open(sys.argv[3]).read()
sec = txt[txt.index("[h100]"):]
price = float(re.search(r"price_usd_per_hour\s*=\s*([0-9.eE+-]+)", sec).group(1))
for k in a:
    if k[0] == "h100":
        assert math.isclose(b[k]["dollars_per_million"], a[k]["dollars_per_million"] * 10 / price, rel_tol=1e-6), k
        lat = a[k]["latency_seconds"]
        assert math.isclose(a[k]["dollars_per_million"], price * lat / 3600 / k[1] * 1e6, rel_tol=1e-6), k
    else:
        assert b[k]["dollars_per_million"] == a[k]["dollars_per_million"], k
PYEOF
); then pass cli-bench-4.2-price-override; else fail cli-bench-4.2-price-override "$(echo "$msg" | tail -1)"; fi

# Trace of a simulated run.
expect cli-bench-5.1-trace 0 'trace .*2 layers on the chip, 2 host ops' \
    "$T" run "$B/cnn_dyn.onnx" --chip tpu-v1 --trace "$tmp/t1.json" --batch 2
"$T" run "$B/cnn_dyn.onnx" --chip tpu-v1 --trace "$tmp/t2.json" --batch 2 >/dev/null 2>&1
check cli-bench-5.2-trace-deterministic "cmp -s '$tmp/t1.json' '$tmp/t2.json'" "two traces differ"
if msg=$($PY - "$tmp/t1.json" 2>&1 <<'PYEOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
ev = d["traceEvents"]
names = {e["args"]["name"] for e in ev if e.get("name") == "thread_name"}
assert {"MXU", "vector", "DMA", "host link", "layers"} <= names, names
x = [e for e in ev if e["ph"] == "X"]
assert any(e["name"] == "MATMUL" for e in x) and any(e["name"] == "RD_HOST" for e in x)
assert any(e["cat"] == "stall" for e in x), "no stall slices"
layers = [e for e in x if e["cat"] == "layer"]
assert [e["name"] for e in layers] == ["conv1", "fc"], layers
by = collections.defaultdict(list)
for e in x:
    by[e["tid"]].append((e["ts"], e["ts"] + e["dur"]))
for tid, l in by.items():          # slices on one track never partly overlap
    l.sort()
    for p, q in zip(l, l[1:]):
        assert not (q[0] < p[1] - 1e-5 and q[1] > p[1] + 1e-5), (tid, p, q)
PYEOF
); then pass cli-bench-5.3-trace-json; else fail cli-bench-5.3-trace-json "$(echo "$msg" | tail -1)"; fi

# ONNX Runtime as a measured CPU target, where node and onnxruntime-node are installed.
if command -v node >/dev/null 2>&1 && [ -d "${TPUSIM_ORT:-build/ort/node_modules}/onnxruntime-node" ]; then
    expect cli-bench-5.4-ort 0 '^ort +8 measured' \
        "$T" bench "$B/cnn_dyn.onnx" --chips cpu,ort --batch 1,8 --quiet
else
    echo "SKIP cli-bench-5.4-ort: node or onnxruntime-node missing (sh tools/npm_install.sh build)"
fi

# Bad input: clear messages, exit 2, never a crash.
expect cli-bench-6.1-unknown-target 2 "unknown target 'tpu-v9'" "$T" bench "$B/mlp_dyn.onnx" --chips tpu-v9 --quiet
expect cli-bench-6.2-bad-batch 2 'batch expects numbers' "$T" bench "$B/mlp_dyn.onnx" --chips h100 --batch 1,x
expect cli-bench-6.3-fixed-batch 2 "batch is fixed at 2; batch 8" \
    "$T" bench "$M/chip/conv_small.onnx" --chips h100 --batch 8 --quiet
expect cli-bench-6.4-no-chips 2 'bench needs --chips' "$T" bench "$B/mlp_dyn.onnx"
expect cli-bench-6.5-bad-price 2 '' "$T" bench "$B/mlp_dyn.onnx" --chips h100 --price nosuch=1 --quiet
expect cli-bench-6.6-missing-model 2 'nosuch.onnx' "$T" bench "$B/nosuch.onnx" --chips h100 --quiet
expect cli-bench-6.7-bad-slo 2 'slo-ms expects' "$T" bench "$B/mlp_dyn.onnx" --chips h100 --slo-ms -3
expect cli-bench-6.8-trace-ref 2 'trace needs --chip' "$T" run "$B/mlp_dyn.onnx" --chip ref --trace "$tmp/x.json"
expect cli-bench-6.9-svg-unwritable 2 'cannot create' \
    "$T" bench "$B/mlp_dyn.onnx" --chips h100 --quiet --svg /proc/nonexistent/dir
