#!/bin/sh
# bench/acceptance.sh [--only REGEX] [--no-update] [--precision P]: the issue's acceptance
# matrix. Every model x {tpu-v1 int8, tpu-v5e bf16} x batch {1, 8} through
# `tpusim run MODEL --chip C --host-ops`, which compiles, simulates and
# verifies the chip's outputs (int8 cosine >= 0.99, bf16 rel_l2 <= 1e-2).
# Prints one row per cell (model, chip, batch, metric, bound, ok, wall seconds,
# simulated ms, energy per inference), exits 1 if any cell is outside its bound
# or fails to run, and rewrites the "Acceptance matrix" section of
# BENCHMARKS.md (between its markers) unless --no-update or --only.
# --only REGEX keeps the cells whose "model chip bN" label matches (grep -E).
# --precision high runs only the bf16 cells, with 3 bf16 passes per matrix
# product (`run --precision`, compile/precision.c, as XLA's Precision on TPUs;
# the default is one pass), into its own section "Acceptance matrix, bf16
# --precision high". --precision highest runs every cell: 6 bf16 passes on
# tpu-v5e, 16-bit weights and activations on tpu-v1 (compile/wide.c, the TPU
# v1's 16b x 16b mode at quarter speed), into "Acceptance matrix, --precision
# highest". --precision auto runs every cell with the per-layer choice of
# compile/auto_prec.c (`run --precision auto`) into "Acceptance matrix,
# --precision auto", with each cell's layers widened, trial runs, and its
# simulated ms beside the default and highest sections' (read from BENCHMARKS.md).
#
# Cells and what they are verified against:
#   fmnist             tests/models/fmnist_cnn.onnx, --batch B, seeded random
#                      inputs, against the reference executor (fp32)
#   MODEL_opN          BUILD/models/MODEL_opN_dyn (tools/export_models.py:
#                      resnet18, mobilenet_v2 (seeded random weights),
#                      mobilenet_v2_fmnist (the same, briefly trained), transformer, gpt2_block; opset
#                      13 and 17), --batch B, as fmnist
#   ocr_det/rec/cls    BUILD/ocr/NAME (trained PaddleOCR models): batch 1 on the
#                      data set's document image (tools/ocr_input.py), against
#                      ONNX Runtime's output (--data); batch 8 on 8 more seeded
#                      document images of that shape (tools/ocr_input.py --seed
#                      12) against ONNX Runtime's outputs for them (bench/ort_run.js,
#                      needs node and BUILD/ort); without ORT, on 8 seeded random
#                      images (--shape x=8,3,H,W) against the reference executor
# Needs build/models (make models) and build/ocr (make models); cells whose
# model is missing are reported as "missing" and fail the run.
# Environment: TPUSIM, BUILD, PYTHON. Results: BUILD/bench/acceptance/.
NAME=acceptance.sh
TPUSIM=${TPUSIM:-build/tpusim}
BUILD=${BUILD:-build}
PY=${PYTHON:-/usr/bin/python3}
UPDATE=yes
ONLY=""
PREC=""
while [ $# -gt 0 ]; do
    case "$1" in
        --only) ONLY=$2; UPDATE=no; shift 2 ;;
        --no-update) UPDATE=no; shift ;;
        --precision) PREC=$2; shift 2 ;;
        *) echo "usage: bench/$NAME [--only REGEX] [--no-update] [--precision P]" >&2; exit 2 ;;
    esac
done
die() { echo "$NAME: $*" >&2; exit 2; }
[ -x "$TPUSIM" ] || die "$TPUSIM not built (make)"
W="$BUILD/bench/acceptance"
rm -rf "$W" && mkdir -p "$W" || die "cannot make $W"
: >"$W/cells.txt"

# cell LABEL CHIP BATCH MODEL ARGS...: runs one cell; one line in cells.txt
cell() {
    label=$1 chip=$2 b=$3 model=$4
    shift 4
    tag="$label.$chip.b$b"
    if [ -n "$ONLY" ] && ! echo "$label $chip b$b" | grep -Eq -- "$ONLY"; then return 0; fi
    if [ -n "$PREC" ] && [ "$chip" != tpu-v5e ] && [ "$PREC" = high ]; then return 0; fi   # int8: highest only
    if [ ! -f "$model" ]; then
        echo "$label $chip $b missing 0 $W/$tag.json $model" >>"$W/cells.txt"
        return 0
    fi
    prec=""
    [ -n "$PREC" ] && prec="--precision $PREC"
    t0=$(date +%s.%N)
    "$TPUSIM" run "$model" --chip "$chip" --host-ops $prec "$@" --json "$W/$tag.json" \
        >"$W/$tag.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    wall=$(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')
    echo "$label $chip $b $rc $wall $W/$tag.json $W/$tag.log" >>"$W/cells.txt"
}

# The OCR models' image shapes and normalisations (tools/make_ort_testset.sh).
ocr_shape() {
    case "$1" in det) echo 160,256 ;; rec) echo 48,320 ;; cls) echo 48,192 ;; esac
}
ocr_norm() { case "$1" in det) echo imagenet ;; *) echo half ;; esac; }
# ocr_set8 NAME: W/ocr8/NAME holds 8 document images and ORT's outputs (status 0)
ocr_set8() {
    od="$W/ocr8/$1" om="$BUILD/ocr/ocr_$1/model.onnx"   # not d: the loop's
    [ -f "$om" ] && command -v node >/dev/null 2>&1 &&
        [ -d "$BUILD/ort/node_modules/onnxruntime-node" ] || return 1
    mkdir -p "$od" &&
    "$PY" tools/ocr_input.py "$od/input_0.pb" --shape 8,3,$(ocr_shape $1) --norm $(ocr_norm $1) \
        --seed 12 >"$od/input.log" 2>&1 &&
    TPUSIM_ORT="$BUILD/ort/node_modules" node bench/ort_run.js "$om" "$od" --out "$od/ort" >"$od/ort.log" 2>&1 &&
    cp "$od/ort/"output_*.pb "$od/"
}
for chip in tpu-v1 tpu-v5e; do
    for b in 1 8; do
        cell fmnist $chip $b tests/models/fmnist_cnn.onnx --batch $b
        for m in resnet18 mobilenet_v2 mobilenet_v2_fmnist transformer gpt2_block; do
            for op in 13 17; do
                cell ${m}_op$op $chip $b "$BUILD/models/${m}_op${op}_dyn/model.onnx" --batch $b
            done
        done
        for o in det rec cls; do
            d="$BUILD/ocr/ocr_$o"
            if [ $b -eq 1 ]; then
                cell ocr_$o $chip $b "$d/model.onnx" --data "$d/test_data_set_0"
            elif [ -f "$W/ocr8/$o/output_0.pb" ] || ocr_set8 $o; then
                cell ocr_$o $chip $b "$d/model.onnx" --data "$W/ocr8/$o" --batch $b
            else
                cell ocr_$o $chip $b "$d/model.onnx" --shape x=$b,3,$(ocr_shape $o)
            fi
        done
    done
done

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
"$PY" - "$W/cells.txt" "$UPDATE" "${cpu:-unknown}" "$(date -u +%Y-%m-%d)" \
    "$(git rev-parse --short HEAD 2>/dev/null)" "${PREC:-default}" <<'PYEOF'
import json, re, sys
cells, update, cpu, date, rev, prec = sys.argv[1:7]
rows, bad = [], 0
for line in open(cells):
    label, chip, b, rc, wall, js, log = line.split(None, 6)
    log = log.strip()
    if prec != "default": chip += " (%s)" % prec
    r = {"model": label, "chip": chip, "batch": int(b), "wall_s": float(wall),
         "metric": "", "value": None, "bound": "", "ok": False, "vs": "",
         "sim_ms": None, "onchip_ms": None, "mj_per_inf": None, "why": ""}
    if rc == "missing":
        r["why"] = "no " + log
    else:
        try:
            d = json.load(open(js))
        except (OSError, ValueError):
            d = None
        if d is None:
            tail = open(log).read().strip().splitlines()
            r["why"] = "exit %s: %s" % (rc, tail[-1] if tail else "no output")
        else:
            outs = d.get("outputs", [])
            worst = None
            for o in outs:               # the output furthest from its bound
                m, bound = o["bound"].split()[0], float(o["bound"].split()[-1])
                v = o[m]
                slack = (v - bound) if m == "cosine" else (bound - v)
                if worst is None or slack < worst[0]:
                    worst = (slack, m, v, o["bound"])
            if worst:
                r["metric"], r["value"], r["bound"] = worst[1], worst[2], worst[3]
            r["ok"] = rc == "0" and bool(d.get("verify_ok")) and worst is not None
            r["vs"] = "ORT (--data)" if "expected" in d.get("verified_against", "") else "reference"
            r["sim_ms"] = 1e3 * d.get("seconds", 0.0)
            e = d.get("onchip_estimate")         # the same with activations kept on chip
            if e and e.get("fits"):
                r["onchip_ms"] = r["sim_ms"] + 1e3 * (e["onchip_device_seconds"] - e["link_device_seconds"])
            r["mj_per_inf"] = 1e3 * d.get("energy_joules", 0.0) / max(1, d.get("batch", 1))
            pa = d.get("precision_auto")
            if pa:
                modes = [("w16" if "tpu-v1" in chip else "x3", pa["n_high"]),
                         ("16x16" if "tpu-v1" in chip else "x6", pa["n_highest"])]
                r["widened"] = "%d/%d%s" % (pa["n_widened"], pa["n_mxu"], "".join(
                    " %s %d" % (m, n) for m, n in modes if n))
                r["mac_share"] = pa["widened_mac_share"]
                r["trials"] = pa["trials"]
            if not r["ok"]:
                r["why"] = "exit %s" % rc
    bad += not r["ok"]
    rows.append(r)

def fmt(r):
    v = "%.6f" % r["value"] if r["value"] is not None else "-"
    sm = "%.3f" % r["sim_ms"] if r["sim_ms"] is not None else "-"
    om = "%.3f" % r["onchip_ms"] if r["onchip_ms"] is not None else "-"
    e = "%.3f" % r["mj_per_inf"] if r["mj_per_inf"] is not None else "-"
    ok = "ok" if r["ok"] else "FAIL" + (" (%s)" % r["why"] if r["why"] else "")
    return [r["model"], r["chip"], str(r["batch"]), r["metric"] or "-", v, r["bound"] or "-",
            ok, "%.2f" % r["wall_s"], sm, om, e, r["vs"] or "-"]

head = ["model", "chip", "batch", "metric", "value", "bound", "ok", "wall s",
        "simulated ms", "on-chip ms (est.)", "mJ / inference", "verified against"]
align = "|---|---|---:|---|---:|---|---|---:|---:|---:|---:|---|"
if prec == "auto":                   # the choice, and the time beside the default's and highest's
    def sim_ms(mark):
        got = {}
        m = re.search(r"<!-- %s:begin.*?<!-- %s:end -->" % (mark, mark), open("BENCHMARKS.md").read(), re.S)
        for line in (m.group(0).splitlines() if m else []):
            c = [x.strip() for x in line.strip().strip("|").split("|")]
            if len(c) >= 9 and c[2].isdigit():
                got[(c[0], c[1].split()[0], c[2])] = c[8]
        return got
    base, top = sim_ms("acceptance"), sim_ms("acceptance-highest")
    head += ["widened", "MAC share", "trials", "default ms", "highest ms"]
    align += "---|---:|---:|---:|---:|"
    plain = fmt
    def fmt(r):
        k = (r["model"], r["chip"].split()[0], str(r["batch"]))
        sh = "%.1f%%" % (100 * r["mac_share"]) if "mac_share" in r else "-"
        return plain(r) + [r.get("widened", "-"), sh, str(r.get("trials", "-")), base.get(k, "-"), top.get(k, "-")]
table = [head] + [fmt(r) for r in rows]
w = [max(len(t[i]) for t in table) for i in range(len(head))]
for t in table:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(t)).rstrip())
print("%d cells, %d ok, %d failed" % (len(rows), len(rows) - bad, bad))
json.dump(rows, open(cells.rsplit("/", 1)[0] + "/results.json", "w"), indent=1)
if update == "yes":
    md = "\n".join(["| " + " | ".join(head) + " |", align] +
                   ["| " + " | ".join(fmt(r)) + " |" for r in rows])
    mark = "acceptance" if prec == "default" else "acceptance-" + prec
    miss_txt = ("; each miss is the arithmetic's own error, reproduced outside tpusim by\n"
                "tools/quant_emulate.py (docs/compiler.md, \"The acceptance matrix's misses\")") if bad else ""
    title = ("Acceptance matrix" if prec == "default" else "Acceptance matrix, bf16 --precision " + prec
             if prec == "high" else "Acceptance matrix, --precision " + prec)
    cmd = "sh bench/acceptance.sh" + ("" if prec == "default" else " --precision " + prec)
    auto_txt = ("" if prec != "auto" else "\nWidened: MXU layers widened / MXU layers (w16: 16-bit weights, 16x16: 16-bit "
                "weights and\nactivations, x3 / x6: bf16 passes), chosen on the cell's own inputs against the "
                "reference\nexecutor (margin cosine >= 0.995 / rel_l2 <= 5e-3); MAC share: their share of the "
                "MACs; trials:\nthe chip runs the choice took; default / highest ms: the simulated ms of those "
                "sections.")
    section = f"""<!-- {mark}:begin (written by bench/acceptance.sh; do not edit by hand) -->
## {title}

Command: `{cmd}`. Each cell is `tpusim run MODEL --chip C --host-ops`
(compile, cycle-level simulation, verification; `--batch B`; the OCR models run on
seeded synthetic document images, tools/ocr_input.py: batch 1 the data set's, batch 8
eight more, against ONNX Runtime's outputs for them). Bounds: int8
(tpu-v1) cosine >= 0.99, bf16 (tpu-v5e) rel_l2 <= 1e-2, worst output of the model;
precision: {prec} (`--precision`; default: one bf16 pass per matrix product, int8
operands; high: 3 bf16 passes; highest: 6 bf16 passes, and 16-bit operands on tpu-v1;
auto: per layer, compile/auto_prec.c).{auto_txt}
Wall s: the whole command on this shared machine; simulated ms and energy: the
chip model's, each chip node's operands over the host link as `run` schedules them;
on-chip ms: the same with the activations kept in the Unified Buffer between chip
nodes, `run`'s estimate (JSON `onchip_estimate`, docs/compiler.md). Random inputs: seeded uniform [-1, 1). {len(rows) - bad} of {len(rows)} cells within
their bounds{miss_txt}.
Machine: {cpu}. Date: {date}. Commit: {rev}.

{md}
<!-- {mark}:end -->"""
    b = open("BENCHMARKS.md").read()
    m = re.search(r"<!-- %s:begin.*?<!-- %s:end -->" % (mark, mark), b, re.S)
    b = b[:m.start()] + section + b[m.end():] if m else b.rstrip("\n") + "\n\n" + section + "\n"
    open("BENCHMARKS.md", "w").write(b)
    print("BENCHMARKS.md updated")
sys.exit(1 if bad else 0)
PYEOF
