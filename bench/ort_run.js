#!/usr/bin/env node
// bench/ort_run.js MODEL DATA_DIR [--repeat N] [--out DIR] [--json FILE] [--threads N] [--no-warmup]
//
// Runs an ONNX model on ONNX Runtime (onnxruntime-node, CPU execution provider,
// one intra-op and one inter-op thread unless --threads) with the inputs of an
// ONNX backend-test folder (DATA_DIR/input_N.pb, in graph-input order). Prints
// the best and mean milliseconds per run over N timed runs (after one warm-up
// run; --no-warmup: none, so --repeat 1 times a cold process's only run), and
// the max abs error / rel-L2 against DATA_DIR/output_N.pb where those exist.
// The JSON also gives the session creation's milliseconds (create_ms).
// --out DIR writes ORT's outputs as DIR/output_N.pb (and copies the inputs),
// so ORT can serve as an independent oracle for models we did not make. The
// ORT package is looked up in $TPUSIM_ORT (a node_modules folder), else
// build/ort/node_modules next to this script's repository.
'use strict';
const fs = require('fs');
const path = require('path');
const { DTYPES, ORT_TO_ONNX, decodeTensor, encodeTensor } = require('./tensor_pb.js');

function die(msg) { process.stderr.write('ort_run.js: ' + msg + '\n'); process.exit(2); }

function parseArgs(argv) {
  const a = { repeat: 1, out: null, json: null, threads: 1, warmup: true, pos: [] };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    const val = () => { if (i + 1 >= argv.length) die('missing value after ' + s); return argv[++i]; };
    if (s === '--repeat') a.repeat = parseInt(val(), 10);
    else if (s === '--out') a.out = val();
    else if (s === '--json') a.json = val();
    else if (s === '--threads') a.threads = parseInt(val(), 10);
    else if (s === '--no-warmup') a.warmup = false;
    else if (s.startsWith('--')) die('unknown option ' + s);
    else a.pos.push(s);
  }
  if (a.pos.length !== 2) die('usage: ort_run.js MODEL DATA_DIR [--repeat N] [--out DIR] [--json FILE] [--threads N] [--no-warmup]');
  if (!(a.repeat >= 1)) die('--repeat wants a positive count');
  if (!(a.threads >= 1)) die('--threads wants a positive count');
  return a;
}

function loadOrt() {
  const dirs = [process.env.TPUSIM_ORT, path.join(__dirname, '..', 'build', 'ort', 'node_modules')];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.resolve(d, 'onnxruntime-node');
    if (fs.existsSync(p)) return require(p);
  }
  die('onnxruntime-node not found (set TPUSIM_ORT or run: mkdir -p build/ort && cd build/ort && ' +
      'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0)');
}

function readSet(dir, prefix) {
  const out = [];
  for (let i = 0; ; i++) {
    const f = path.join(dir, `${prefix}_${i}.pb`);
    if (!fs.existsSync(f)) break;
    out.push(decodeTensor(fs.readFileSync(f)));
  }
  return out;
}

function compare(got, want) {
  let maxAbs = 0, num = 0, den = 0;
  const g = got.data, w = want.data;
  if (g.length !== w.length) return { shapeMismatch: true };
  for (let i = 0; i < g.length; i++) {
    const a = Number(g[i]), b = Number(w[i]);
    const d = Math.abs(a - b);
    if (d > maxAbs || Number.isNaN(d)) maxAbs = d;
    num += (a - b) * (a - b);
    den += b * b;
  }
  return { maxAbs, relL2: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const [modelPath, dataDir] = args.pos;
  const opts = {
    executionProviders: ['cpu'], intraOpNumThreads: args.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all', executionMode: 'sequential',
  };
  const c0 = process.hrtime.bigint();
  const sess = await ort.InferenceSession.create(modelPath, opts);
  const createMs = Number(process.hrtime.bigint() - c0) / 1e6;
  const inputs = readSet(dataDir, 'input');
  if (inputs.length !== sess.inputNames.length)
    die(`${dataDir} has ${inputs.length} input_N.pb files, the model takes ${sess.inputNames.length} inputs`);
  const feeds = {};
  sess.inputNames.forEach((name, i) => {
    const t = inputs[i];
    feeds[name] = new ort.Tensor(DTYPES[t.dataType][0], t.data, t.dims);
  });

  let res = args.warmup ? await sess.run(feeds) : null;       // warm-up
  const times = [];
  for (let i = 0; i < args.repeat; i++) {
    const t0 = process.hrtime.bigint();
    res = await sess.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const best = Math.min(...times);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`ort: ${path.basename(path.dirname(path.resolve(modelPath)))}/${path.basename(modelPath)}` +
              `  threads ${args.threads}  runs ${args.repeat}  best ${best.toFixed(3)} ms  mean ${mean.toFixed(3)} ms`);

  const expected = readSet(dataDir, 'output');
  const summary = { model: modelPath, threads: args.threads, runs: args.repeat,
                    ort_ms_best: best, ort_ms_mean: mean, create_ms: createMs, warmup: args.warmup,
                    inputs: sess.inputNames.map((name, i) => ({ name, dims: inputs[i].dims })),
                    outputs: [] };
  let ok = true;
  sess.outputNames.forEach((name, i) => {
    const t = res[name];
    const o = { name, dims: t.dims.map(Number), type: t.type };
    if (i < expected.length) {
      const c = compare({ data: t.data }, expected[i]);
      if (c.shapeMismatch) { ok = false; console.log(`  output ${i} '${name}': size differs from expected`); }
      else {
        Object.assign(o, { max_abs_err: c.maxAbs, rel_l2: c.relL2 });
        console.log(`  output ${i} '${name}' [${o.dims}]  max abs err ${c.maxAbs.toExponential(3)}` +
                    `  rel-L2 ${c.relL2.toExponential(3)}`);
      }
    }
    summary.outputs.push(o);
  });

  if (args.out) {
    fs.mkdirSync(args.out, { recursive: true });
    sess.inputNames.forEach((name, i) => {
      const t = inputs[i];
      fs.writeFileSync(path.join(args.out, `input_${i}.pb`), encodeTensor(name, t.dataType, t.dims, t.data));
    });
    sess.outputNames.forEach((name, i) => {
      const t = res[name];
      const dt = ORT_TO_ONNX[t.type];
      if (!dt) die(`output '${name}' has type ${t.type}, which cannot be written`);
      fs.writeFileSync(path.join(args.out, `output_${i}.pb`), encodeTensor(name, dt, t.dims.map(Number), t.data));
    });
    console.log(`  wrote ${sess.inputNames.length} inputs, ${sess.outputNames.length} outputs to ${args.out}`);
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify(summary, null, 1) + '\n');
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => die(e && e.message ? e.message : String(e)));
