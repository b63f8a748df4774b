#!/bin/sh
# tests/cli/conformance.sh: puts the ONNX conformance cases into `make test`
# (tests/run.sh runs every tests/cli/*.sh); see tests/conformance.sh.
exec sh tests/conformance.sh "${BUILD:-build}"
