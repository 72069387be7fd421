#!/usr/bin/env bash
# One command, fresh machine: installs the workspace, builds every package, type-checks everything
# (tests and benchmarks included), lints package metadata,
# runs every package's tests on cpu + wasm (Node) and webgl + webgpu (headless Chromium), checks that
# the packed packages install and import (ESM + CJS), checks the tfjs-node test wiring with a stand-in,
# and ends with `N passed, N failed`.
# Needs Node >= 20 and Chromium at /usr/bin/chromium (Debian: apt-get install -y chromium) for the
# browser backends; RESTOREKIT_NO_BROWSER=1 runs the Node backends only.
set -uo pipefail
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  npm install -g "pnpm@$PNPM_VERSION" --no-audit --no-fund --loglevel=error || exit 1
fi
pnpm install --frozen-lockfile || exit 1
pnpm run build || exit 1
pnpm run typecheck || exit 1
pnpm run lint || exit 1
rm -rf packages/*/test-results examples/test-results
pnpm exec turbo run test --concurrency=1 --continue
test_rc=$?
node scripts/pack-check.mjs
pack_rc=$?
# The node-tensorflow project runs only where tfjs-node is installed (vitest.shared.ts), which it cannot
# be here; check its wiring on core and fft with the cpu stand-in (its numbers are cpu's; not in the summary).
RESTOREKIT_TFJS_NODE=./test-setup/cpu-as-tensorflow.mjs RESTOREKIT_NO_BROWSER=1 \
  pnpm --filter @restorekit/core --filter @restorekit/fft --workspace-concurrency=1 exec vitest run --project node-tensorflow --reporter=dot
wiring_rc=$?
[ $wiring_rc -eq 0 ] && echo "node-tensorflow wiring (cpu stand-in): ok" || echo "node-tensorflow wiring (cpu stand-in): FAILED"
node scripts/test-summary.mjs
sum_rc=$?
[ $test_rc -eq 0 ] && [ $pack_rc -eq 0 ] && [ $wiring_rc -eq 0 ] && [ $sum_rc -eq 0 ]
