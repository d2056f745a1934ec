#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need (node modules, the Python
# venv, Debian packages, the Kubernetes control plane built from Go), builds, then runs every test.
# Extra arguments go to vitest (e.g. `scripts/test.sh --project unit`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
bash scripts/bootstrap.sh
venv_bin=$(bash scripts/python-env.sh)
export GP_TEST_PYTHON="$venv_bin/python"
export PATH="$venv_bin:$PATH"
if [ -x scripts/debian-packages.sh ]; then bash scripts/debian-packages.sh; fi
# The Scala kernel toolchain (Apache Toree + a Scala 2.12 Spark) in its own venv: see scripts/toree-env.sh.
GP_TOREE_VENV=$(bash scripts/toree-env.sh)
export GP_TOREE_VENV
pnpm exec turbo run typecheck --output-logs=errors-only
# Packaging checks of every published package (publint + are-the-types-wrong).
pnpm exec turbo run lint --output-logs=errors-only
exec pnpm exec vitest run "$@"
