#!/usr/bin/env bash
# The main job, one command on a fresh machine: install, build, then degrade the bundled Kodak samples (seeded
# Gaussian noise, σ = 25), restore them with the shipped default model (`compact`) on the fastest backend available
# (tfjs-node's `tensorflow` backend, built from local parts when it can be — scripts/tfjs-node.sh — else wasm), write
# clean / noisy / restored PNGs and comparison.png to showcase-out/, and print the PSNR/SSIM table with timings.
# Extra arguments go to examples/src/main-job.mjs (--sigma N, --backend wasm|cpu|tensorflow, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pnpm.sh
pnpm install --frozen-lockfile
pnpm exec turbo run build --filter=@restorekit/examples...
bash scripts/tfjs-node.sh >/dev/null 2>&1 || echo "tfjs-node could not be built here: the main job runs on wasm"
node examples/src/main-job.mjs --out "$PWD/showcase-out" "$@"
