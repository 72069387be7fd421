#!/usr/bin/env bash
# One command, fresh machine: install, build, and run the showcase (train a small denoiser composed of
# restorekit blocks on the wasm backend, evaluate on held-out BSD68, save weights). Output: showcase-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pnpm.sh
pnpm install --frozen-lockfile
pnpm exec turbo run build --filter=@restorekit/examples...
node examples/src/showcase.mjs --out "$PWD/showcase-out" "$@"
