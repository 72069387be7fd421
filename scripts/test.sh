#!/usr/bin/env bash
# One command, fresh machine: installs the workspace, builds every package, type-checks everything
# (tests and benchmarks included), lints package metadata,
# runs every package's tests on cpu + wasm (Node) and webgl + webgpu (headless Chromium), checks that
# the packed packages install and import (ESM + CJS), and ends with `N passed, N failed`.
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
node scripts/test-summary.mjs
sum_rc=$?
[ $test_rc -eq 0 ] && [ $pack_rc -eq 0 ] && [ $sum_rc -eq 0 ]
