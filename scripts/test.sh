#!/usr/bin/env bash
# One command, fresh machine: installs the workspace, builds every package, type-checks everything
# (tests and benchmarks included), lints and format-checks the code (Biome) and lints package metadata (publint),
# runs every package's tests on cpu + wasm (Node), webgl + webgpu (headless Chromium) and tfjs-node's
# tensorflow (Node; tfjs-node is built from local parts into .tfjs-node/ by scripts/tfjs-node.sh, a
# development-only install that no package depends on), checks that the packed packages install and
# import (ESM + CJS), and ends with `N passed, N failed`.
# Needs Node >= 20 and Chromium at /usr/bin/chromium (Debian: apt-get install -y chromium) for the
# browser backends; RESTOREKIT_NO_BROWSER=1 runs the Node backends only.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/pnpm.sh
pnpm install --frozen-lockfile || exit 1
# tfjs-node for the node-tensorflow project (vitest.shared.ts): where it cannot be installed (no ../shared/tools,
# no wheelhouse), say so and test without it. RESTOREKIT_TFJS_NODE set by the caller (a module, or 0) skips this.
tfjs_node_note=""
if [ -z "${RESTOREKIT_TFJS_NODE:-}" ]; then
  if tfjs_node=$(bash scripts/tfjs-node.sh | tail -1) && [ -n "$tfjs_node" ]; then
    export RESTOREKIT_TFJS_NODE="$tfjs_node"
  else
    export RESTOREKIT_TFJS_NODE=0
    tfjs_node_note="node-tensorflow: NOT RUN: tfjs-node could not be installed (scripts/tfjs-node.sh, output above); the tensorflow backend is untested"
    echo "$tfjs_node_note"
  fi
fi
pnpm run build || exit 1
pnpm run typecheck || exit 1
pnpm run lint || exit 1
pnpm exec biome ci . || exit 1
rm -rf packages/*/test-results examples/test-results
pnpm exec turbo run test --concurrency=1 --continue
test_rc=$?
node scripts/pack-check.mjs
pack_rc=$?
[ -n "$tfjs_node_note" ] && echo "$tfjs_node_note"
node scripts/test-summary.mjs
sum_rc=$?
[ $test_rc -eq 0 ] && [ $pack_rc -eq 0 ] && [ $sum_rc -eq 0 ]
