#!/bin/sh
# scripts/deps.sh: installs the Debian packages the build and the tests need.
# The one list of packages lives here; `make` runs this before anything else.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -e
PKGS="build-essential clang libprotobuf-c-dev protobuf-c-compiler libonnx-dev \
libonnx-testdata libopenblas-dev python3-torch python3-torchvision python3-onnx \
dataset-fashion-mnist librsvg2-bin"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js and npm (ONNX Runtime for comparisons, the PaddleOCR models): any
# install that provides the commands will do; Debian's packages otherwise.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "tpusim: missing Debian packages:$missing" >&2
    echo "run: sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "tpusim: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || true
apt-get install -y -q --no-install-recommends$missing >&2
