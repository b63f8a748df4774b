#!/bin/sh
# tests/cli/layer_energy.sh: per-layer energy of chip runs (JSON layers[].
# energy_joules, the text's uJ column): the rows add up to the run's energy,
# a simulated row carries more than static power over its cycles (its
# events), a host row exactly that static share.
. tests/cli/lib.inc
F=$M/fmnist_cnn.onnx
for c in tpu-v1 tpu-v5e; do
    expect layer-energy-$c 0 " uJ +nmse$" "$T" run $F --chip $c --host-ops --batch 2 --json "$tmp/$c.json"
    msg=$(/usr/bin/python3 - "$tmp/$c.json" "$c" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
chip = {"tpu-v1": (28.0, 700e6), "tpu-v5e": None}[sys.argv[2]]
rows, tot = j["layers"], j["energy_joules"]
s = sum(r["energy_joules"] for r in rows)
assert abs(s - tot) <= 1e-9 * tot, "rows sum to %.12g J, the run %.12g J" % (s, tot)
for r in rows:
    assert r["energy_joules"] > 0, "%s: %g J" % (r["name"], r["energy_joules"])
mxu = [r for r in rows if r["unit"] == "mxu"]
host = [r for r in rows if r["unit"] == "host"]
# static power per cycle from a host row; every mxu row must exceed it
p = host[0]["energy_joules"] / host[0]["cycles"]
for r in host:
    assert abs(r["energy_joules"] - p * r["cycles"]) <= 1e-9 * r["energy_joules"], r["name"]
for r in mxu:
    assert r["energy_joules"] > 1.01 * p * r["cycles"], "%s: no event energy" % r["name"]
if chip:
    assert abs(p - chip[0] / chip[1]) <= 1e-9 * p, "static %g J/cycle" % p
print("ok")
PY
)
    check layer-energy-sums-$c '[ "$msg" = ok ]' "$msg"
done
exit 0
