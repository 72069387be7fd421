#!/usr/bin/env bash
# Installs @tensorflow/tfjs-node@4.22.0 for the tests (vitest project node-tensorflow) into .tfjs-node/, a
# development-only folder that is no workspace package: it has its own package.json, is installed with npm
# (never pnpm, so pnpm-lock.yaml never mentions tfjs-node), ignores itself in git (.tfjs-node/.gitignore) and is
# never a dependency or peerDependency of anything published.
#
# tfjs-node's own install script downloads libtensorflow and a prebuilt addon from Google storage, which CI and
# these machines cannot reach; so the package is installed with --ignore-scripts and then made to work by
# ../shared/tools/install-tfjs-node-local.sh (TF 2.21 C library from the local wheelhouse, N-API addon built from
# source; see its header for the caveats). RESTOREKIT_SHARED overrides ../shared; TFJS_LOCAL_CACHE its cache.
#
# One tfjs-core: tfjs-node registers its 'tensorflow' backend and kernels in the @tensorflow/tfjs-core that
# `require` finds from its own folder. npm would put a second copy at .tfjs-node/node_modules/@tensorflow/tfjs-core;
# this script replaces it (and tfjs-layers, tfjs-backend-cpu, tfjs-backend-webgl, which tfjs-node's
# @tensorflow/tfjs loads too) with a symlink to the workspace's own copy, so Node, which keys modules by real
# path, loads one instance for the tests and for tfjs-node.
#
# On success writes .tfjs-node/ok (vitest.shared.ts uses .tfjs-node only when it exists) and prints the module's
# absolute path as the last line of stdout; on failure prints why and exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DIR="$ROOT/.tfjs-node"
VERSION=4.22.0
SHARED="${RESTOREKIT_SHARED:-$ROOT/../shared}"
INSTALLER="$SHARED/tools/install-tfjs-node-local.sh"
SHARE=(tfjs-core tfjs-layers tfjs-backend-cpu tfjs-backend-webgl)

log() { echo "[tfjs-node] $*" >&2; }
fail() { rm -f "$DIR/ok"; log "FAILED: $*"; exit 1; }

[ -f "$INSTALLER" ] || fail "no $INSTALLER (set RESTOREKIT_SHARED to the folder holding tools/install-tfjs-node-local.sh)"
mkdir -p "$DIR" || fail "cannot create $DIR"
printf '# development-only install of @tensorflow/tfjs-node for the tests: scripts/tfjs-node.sh\n*\n' >"$DIR/.gitignore"
cat >"$DIR/package.json" <<EOF
{
  "name": "restorekit-tfjs-node",
  "private": true,
  "description": "Development-only install of @tensorflow/tfjs-node for the tests (scripts/tfjs-node.sh); not a workspace package.",
  "dependencies": { "@tensorflow/tfjs-node": "$VERSION" }
}
EOF

# 1. The npm package, without its install script (a fresh npm install replaces the symlinks of step 2 with copies:
#    done only when tfjs-node is missing or another version).
installed=$(node -p "require('$DIR/node_modules/@tensorflow/tfjs-node/package.json').version" 2>/dev/null)
if [ "$installed" != "$VERSION" ]; then
  rm -f "$DIR/ok"
  log "npm install --ignore-scripts @tensorflow/tfjs-node@$VERSION (in .tfjs-node/)"
  (cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund --no-package-lock --loglevel=error >&2) || fail "npm install in .tfjs-node/ failed"
fi

# 2. Share the workspace's tfjs packages (one module instance; see the header).
for p in "${SHARE[@]}"; do
  ws=$(cd "$ROOT" && node -p "require('fs').realpathSync(require('path').dirname(require.resolve('@tensorflow/$p/package.json')))" 2>/dev/null) \
    || fail "@tensorflow/$p does not resolve from the repository root (run pnpm install first)"
  v=$(node -p "require('$ws/package.json').version")
  [ "$v" = "$VERSION" ] || fail "the workspace's @tensorflow/$p is $v; tfjs-node $VERSION needs $VERSION"
  link="$DIR/node_modules/@tensorflow/$p"
  if [ "$(readlink "$link" 2>/dev/null)" != "$ws" ]; then
    rm -rf "$link" && ln -s "$ws" "$link" || fail "cannot link $link"
  fi
done

# 3. libtensorflow + the addon (fast when already built: the installer only re-verifies).
bash "$INSTALLER" "$DIR" >&2 || fail "$INSTALLER .tfjs-node failed"

# 4. The one-copy check: tfjs-node's tfjs-core is the workspace's.
mod=$(cd "$ROOT" && node -e "
  const { createRequire } = require('module'); const fs = require('fs');
  const mod = require.resolve('$DIR/node_modules/@tensorflow/tfjs-node');
  const theirs = fs.realpathSync(createRequire(mod).resolve('@tensorflow/tfjs-core'));
  const ours = fs.realpathSync(require.resolve('@tensorflow/tfjs-core'));
  if (theirs !== ours) { console.error('tfjs-node loads ' + theirs + ', the tests ' + ours); process.exit(1); }
  console.log(mod);") || fail "tfjs-node does not share the workspace's @tensorflow/tfjs-core"
touch "$DIR/ok"
log "ready: $mod"
echo "$mod"
