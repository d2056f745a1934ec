#!/usr/bin/env bash
# Makes a fresh checkout runnable: pnpm through corepack, the workspace's node modules, and a build.
# Idempotent and quick when nothing changed (pnpm and turbo both skip work that is up to date).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
log() { printf 'bootstrap: %s\n' "$*" >&2; }

# pnpm comes through the machine's own corepack, pinned by version and sha512 in package.json's
# packageManager: corepack checks the download against that hash, so no corepack upgrade (whose newest
# releases refuse Node 20) and no registry signing keys are needed.
if ! pnpm --version >/dev/null 2>&1; then
  log "enabling pnpm through corepack"
  corepack enable >&2
fi
log "installing node modules (pnpm $(pnpm --version))"
pnpm install --frozen-lockfile --reporter=silent >&2
log "building packages"
pnpm exec turbo run build --output-logs=errors-only >&2
