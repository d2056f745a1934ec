#!/usr/bin/env bash
# Creates (or refreshes) the project's Python virtual environment in .venv with the packages the
# test suite needs. Idempotent: it reinstalls only when scripts/requirements-test.txt changes.
# Prints the venv's bin directory on stdout (everything else goes to stderr).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${GP_VENV:-$root/.venv}"
req="$root/scripts/requirements-test.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  echo "python-env: creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "python-env: installing $(grep -cv '^\s*\(#\|$\)' "$req") packages into $venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin"
