# Sourced by the repository's scripts: puts pnpm $PNPM_VERSION on PATH without touching global binaries.
# A pnpm already on PATH is used when it runs and has that version; otherwise a private copy is installed under
# .tools/ with `npm install --prefix` (never `npm install -g`, which fails with EEXIST where a corepack `pnpm` shim
# exists but cannot run, and never corepack itself, which downloads from a host these machines may not reach).
PNPM_VERSION=10.34.9
if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  if [ "$(./.tools/node_modules/.bin/pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    npm install --prefix ./.tools --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null || { echo "could not install pnpm@$PNPM_VERSION into .tools/"; exit 1; }
  fi
  PATH="$PWD/.tools/node_modules/.bin:$PATH"
  export PATH
fi
