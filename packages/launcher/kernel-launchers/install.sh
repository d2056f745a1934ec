#!/bin/sh
# Installs gp's kernel launchers into a kernel image (what `image-bootstrap install` produces):
#   <prefix>/kernel-launchers/python/scripts/{launch_ipykernel.py,gp_launcher.py,gp_pool.py}
#   <prefix>/kernel-launchers/R/scripts/{launch_IRkernel.py,launch_IRkernel.R,gp_launcher.py,gp_spark_init.R}
#   <prefix>/kernel-launchers/scala/scripts/{launch_toree.py,gp_launcher.py}
#   <prefix>/bootstrap-kernel.sh                      (unless --launchers-only)
# Usage: install.sh [--languages python,R,scala] [--launchers-only] [--prefix /usr/local/bin]
set -eu
src=$(cd "$(dirname "$0")" && pwd)
prefix=/usr/local/bin
languages=python
launchers_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --languages) languages=$2; shift 2 ;;
    --languages=*) languages=${1#*=}; shift ;;
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --launchers-only) launchers_only=true; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
dest="$prefix/kernel-launchers"
for lang in $(echo "$languages" | tr ',' ' '); do
  case "$(echo "$lang" | tr '[:upper:]' '[:lower:]')" in
    python)
      mkdir -p "$dest/python/scripts"
      cp "$src/python/scripts/launch_ipykernel.py" "$src/shared/scripts/gp_launcher.py" "$src/shared/scripts/gp_pool.py" "$dest/python/scripts/"
      chmod 0755 "$dest/python/scripts/launch_ipykernel.py"
      chmod 0644 "$dest/python/scripts/gp_launcher.py" "$dest/python/scripts/gp_pool.py"
      ;;
    r)
      mkdir -p "$dest/R/scripts"
      cp "$src/R/scripts/launch_IRkernel.py" "$src/R/scripts/launch_IRkernel.R" "$src/R/scripts/gp_spark_init.R" "$src/shared/scripts/gp_launcher.py" "$dest/R/scripts/"
      chmod 0755 "$dest/R/scripts/launch_IRkernel.py" "$dest/R/scripts/launch_IRkernel.R"
      chmod 0644 "$dest/R/scripts/gp_launcher.py" "$dest/R/scripts/gp_spark_init.R"
      ;;
    scala)
      mkdir -p "$dest/scala/scripts"
      cp "$src/scala/scripts/launch_toree.py" "$src/shared/scripts/gp_launcher.py" "$dest/scala/scripts/"
      chmod 0755 "$dest/scala/scripts/launch_toree.py"
      chmod 0644 "$dest/scala/scripts/gp_launcher.py"
      ;;
    *) echo "install.sh: unsupported language '$lang': expected python, R or scala" >&2; exit 2 ;;
  esac
done
if [ "$launchers_only" = false ]; then
  mkdir -p "$prefix"
  cp "$src/bootstrap/bootstrap-kernel.sh" "$prefix/bootstrap-kernel.sh"
  chmod 0755 "$prefix/bootstrap-kernel.sh"
fi
echo "install.sh: installed gp kernel launchers ($languages) into $dest" >&2
