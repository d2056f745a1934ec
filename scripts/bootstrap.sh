#!/usr/bin/env bash
# Makes a fresh checkout runnable: pnpm through corepack, the workspace's node modules, and a build.
#
#   scripts/bootstrap.sh             install + build (pnpm and turbo skip what is up to date)
#   scripts/bootstrap.sh --if-stale  return at once, silently, when nothing changed since the last
#                                    successful bootstrap (what ./k8s-spec and ./gp-sandbox call)
#
# Progress lines go to stderr; the tools' own output is kept in a log and shown only if a step fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0 TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
log() { printf 'bootstrap: %s\n' "$*" >&2; }

# Written after a successful bootstrap; anything of the workspace newer than it makes the checkout stale.
stamp="$root/node_modules/.gp-bootstrap-stamp"

stale() {
  [ -f "$stamp" ] || return 0
  local inputs=(package.json pnpm-lock.yaml pnpm-workspace.yaml tsconfig.base.json turbo.json packages apps)
  if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Files git tracks or would track: ignored outputs (dist, test artifacts, caches) never make it stale.
    [ -n "$(git ls-files -z --cached --others --exclude-standard -- "${inputs[@]}" | xargs -0 -r sh -c 'find "$@" -maxdepth 0 -newer "$0" -print -quit 2>/dev/null' "$stamp" | head -n 1)" ]
  else
    [ -n "$(find "${inputs[@]}" \( -name node_modules -o -name dist -o -name .turbo -o -name __pycache__ -o -name '*test-artifacts' \) -prune -o -type f -newer "$stamp" -print -quit 2>/dev/null)" ]
  fi
}

if [ "${1:-}" = "--if-stale" ] && ! stale; then
  exit 0
fi

run_quietly() {
  local what=$1; shift
  local out
  out=$(mktemp)
  if ! "$@" >"$out" 2>&1; then
    log "$what failed:"
    cat "$out" >&2
    rm -f "$out"
    exit 1
  fi
  rm -f "$out"
}

# pnpm comes through the machine's own corepack, pinned by version and sha512 in package.json's
# packageManager: corepack checks the download against that hash, so no corepack upgrade (whose newest
# releases refuse Node 20) and no registry signing keys are needed.
if ! pnpm --version >/dev/null 2>&1; then
  log "enabling pnpm through corepack"
  corepack enable >&2
fi
log "installing node modules (pnpm $(pnpm --version))"
run_quietly "pnpm install" pnpm install --frozen-lockfile --reporter=silent
log "building packages"
run_quietly "the build" pnpm exec turbo run build --output-logs=errors-only
touch "$stamp"
