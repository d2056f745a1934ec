#!/usr/bin/env bash
# Creates (or refreshes) a SEPARATE Python virtual environment with Apache Toree (the Scala kernel) and a
# Spark built for Scala 2.12 (pyspark 3.5.x), for the Scala kernel tests. Separate from .venv because the
# Python Spark tests put pyspark 4.x (Scala 2.13) there, and Toree 0.5.0 needs Scala 2.12.
# Idempotent: it reinstalls only when scripts/requirements-toree.txt changes (stamp in the venv).
# Prints the venv's directory on stdout (everything else goes to stderr). The venv has:
#   lib/python3*/site-packages/toree/lib/toree-assembly-0.5.0-incubating.jar   (Toree)
#   lib/python3*/site-packages/pyspark                                          (SPARK_HOME)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${GP_TOREE_VENV:-$root/.venv-toree}"
req="$root/scripts/requirements-toree.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  echo "toree-env: creating $venv" >&2
  python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "toree-env: installing $(grep -cv '^\s*\(#\|$\)' "$req") packages into $venv" >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
