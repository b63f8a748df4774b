#!/bin/sh
# scripts/demo.sh BUILD: `make demo` — the main job on the bundled default model.
BUILD=${1:-build}
echo "tpusim demo: (grows with the chip and compiler)"
