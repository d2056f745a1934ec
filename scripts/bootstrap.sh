#!/usr/bin/env bash
# Makes a fresh checkout runnable: pnpm through corepack, the workspace's node modules, and a build.
# Idempotent and quick when nothing changed (pnpm and turbo both skip work that is up to date).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0
log() { printf 'bootstrap: %s\n' "$*" >&2; }

# corepack before 0.36 cannot verify the npm registry's current signing keys; update it rather than
# switching verification off.
cp_version=$(corepack --version 2>/dev/null || echo 0.0.0)
if [ "$(printf '%s\n' "0.36.0" "$cp_version" | sort -V | head -1)" != "0.36.0" ]; then
  log "updating corepack $cp_version -> latest"
  npm install -g --no-fund --no-audit corepack@latest >&2
fi
if ! pnpm --version >/dev/null 2>&1; then
  log "enabling pnpm through corepack"
  corepack enable >&2
fi
log "installing node modules (pnpm $(pnpm --version))"
pnpm install --frozen-lockfile --reporter=silent >&2
log "building packages"
pnpm exec turbo run build --output-logs=errors-only >&2
