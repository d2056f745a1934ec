#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (scripts/test.sh runs it as root).
# Idempotent: when every package is already installed it returns at once without touching apt.
#   r-base-core, r-cran-irkernel: the R kernel (IRkernel) that gp's R launcher starts in tests.
#   chromium: the headless browser (driven by playwright-core) in which the gateway's JupyterLab test runs.
#   openjdk-17-jre-headless: the Java runtime of real Spark (pyspark's spark-submit, drivers and executors in the Spark tests).
set -euo pipefail
packages=(r-base-core r-cran-irkernel chromium openjdk-17-jre-headless)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-packages: missing ${missing[*]}; run as root to install them (tests that need them will fail)." >&2
  exit 0
fi
echo "debian-packages: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
