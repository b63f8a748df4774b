#!/bin/sh
# tests/conformance.sh BUILD: ONNX's own backend tests (libonnx-testdata) on the
# reference executor. Prints one PASS/FAIL/SKIP line per case for tests/run.sh,
# then the totals per category, which also go to BUILD/conformance.txt.
# Known failures are listed in tests/conformance-xfail.txt ("category/case reason");
# they print SKIP "xfail: reason", and a listed case that passes prints FAIL "xpass".
BUILD=${1:-${BUILD:-build}}
TPUSIM=${TPUSIM:-$BUILD/tpusim}
DATA=${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
if [ ! -d "$DATA/node" ]; then
    echo "SKIP conformance: $DATA is not installed (Debian package libonnx-testdata)"
    exit 0
fi
exec "$TPUSIM" conformance "$DATA/node" "$DATA/pytorch-converted" "$DATA/pytorch-operator" \
    "$DATA/simple" --xfail tests/conformance-xfail.txt --out "$BUILD/conformance.txt" --timeout 60
