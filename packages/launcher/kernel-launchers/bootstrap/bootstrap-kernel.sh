#!/usr/bin/env bash
# gp kernel image entrypoint: starts the launcher for $KERNEL_LANGUAGE, which starts the kernel and
# reports it to the gp host. Installed as /usr/local/bin/bootstrap-kernel.sh (the image's CMD).
#
# Required environment (the EG_* names of Enterprise Gateway are accepted as fallbacks):
#   KERNEL_LANGUAGE    python, r or scala (case-insensitive)
#   KERNEL_ID          the kernel's id
#   RESPONSE_ADDRESS   <ip>:<port> of the host's response listener   (EG_RESPONSE_ADDRESS)
#   PUBLIC_KEY         the host's public key for this launch          (EG_PUBLIC_KEY)
# Optional:
#   PORT_RANGE                       <lower>..<upper>, default 0..0 (any)   (EG_PORT_RANGE)
#   KERNEL_CLASS_NAME                Python kernel class (default ipykernel.ipkernel.IPythonKernel)
#   KERNEL_SPARK_CONTEXT_INIT_MODE   lazy, eager or none (default none)
#   RESPONSE_VERSION                 override: 2 or 1 (default: negotiated from the host's GP_RESPONSE_VERSIONS, else 1)
#   TRANSPORT_ENCRYPTION             auto or required: the host asks for CurveZMQ keys (set per launch by the host)
#   KERNEL_LAUNCHERS_DIR             where the launchers are (default: kernel-launchers beside this script)
#   GP_PYTHON                        the Python interpreter for the launchers (default python3, else python)
#   SPARK_HOME, GP_TOREE_ASSEMBLY    Scala: the Spark (Scala 2.12) and the Toree assembly (see scala/scripts/launch_toree.py)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${KERNEL_LAUNCHERS_DIR:-}" ]; then
  if [ -d "$here/kernel-launchers" ]; then
    KERNEL_LAUNCHERS_DIR="$here/kernel-launchers"
  else
    KERNEL_LAUNCHERS_DIR=$(cd "$here/.." && pwd)   # running from the source tree
  fi
fi

KERNEL_ID=${KERNEL_ID:-}
RESPONSE_ADDRESS=${RESPONSE_ADDRESS:-${EG_RESPONSE_ADDRESS:-}}
PUBLIC_KEY=${PUBLIC_KEY:-${EG_PUBLIC_KEY:-}}
PORT_RANGE=${PORT_RANGE:-${EG_PORT_RANGE:-0..0}}
KERNEL_SPARK_CONTEXT_INIT_MODE=${KERNEL_SPARK_CONTEXT_INIT_MODE:-none}
KERNEL_CLASS_NAME=${KERNEL_CLASS_NAME:-}
RESPONSE_VERSION=${RESPONSE_VERSION:-}
TRANSPORT_ENCRYPTION=${TRANSPORT_ENCRYPTION:-}

if [ -z "${KERNEL_LANGUAGE:-}" ]; then
  echo "bootstrap-kernel.sh: KERNEL_LANGUAGE is required (python, r or scala). Set it in the image (ENV KERNEL_LANGUAGE=python) or when starting the container." >&2
  exit 1
fi
missing=()
[ -n "$KERNEL_ID" ] || missing+=(KERNEL_ID)
[ -n "$RESPONSE_ADDRESS" ] || missing+=(RESPONSE_ADDRESS)
[ -n "$PUBLIC_KEY" ] || missing+=(PUBLIC_KEY)
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap-kernel.sh: missing environment variable(s): ${missing[*]}. The gp host sets KERNEL_ID, RESPONSE_ADDRESS and PUBLIC_KEY for each launch." >&2
  exit 1
fi

python=${GP_PYTHON:-$(command -v python3 || command -v python || true)}
if [ -z "$python" ]; then
  echo "bootstrap-kernel.sh: no Python interpreter found (python3 or python); the launchers need Python 3.9+ (set GP_PYTHON)." >&2
  exit 1
fi

common=(--kernel-id "$KERNEL_ID" --port-range "$PORT_RANGE" --response-address "$RESPONSE_ADDRESS"
        --public-key "$PUBLIC_KEY" --spark-context-initialization-mode "$KERNEL_SPARK_CONTEXT_INIT_MODE")
if [ -n "$RESPONSE_VERSION" ]; then
  common+=(--response-version "$RESPONSE_VERSION")
fi
if [ -n "$TRANSPORT_ENCRYPTION" ]; then
  common+=(--transport-encryption "$TRANSPORT_ENCRYPTION")
fi

language=${KERNEL_LANGUAGE,,}
case "$language" in
  python)
    launcher="$KERNEL_LAUNCHERS_DIR/python/scripts/launch_ipykernel.py"
    extra=()
    if [ -n "$KERNEL_CLASS_NAME" ]; then
      extra+=(--kernel-class-name "$KERNEL_CLASS_NAME")
    fi
    ;;
  r)
    launcher="$KERNEL_LAUNCHERS_DIR/R/scripts/launch_IRkernel.py"
    extra=()
    ;;
  scala)
    launcher="$KERNEL_LAUNCHERS_DIR/scala/scripts/launch_toree.py"
    extra=()
    ;;
  *)
    echo "bootstrap-kernel.sh: unrecognized KERNEL_LANGUAGE '$KERNEL_LANGUAGE': expected python, r or scala." >&2
    exit 1
    ;;
esac
if [ ! -f "$launcher" ]; then
  echo "bootstrap-kernel.sh: launcher $launcher is missing; install the launchers (image-bootstrap install) or set KERNEL_LAUNCHERS_DIR." >&2
  exit 1
fi

echo "bootstrap-kernel.sh: starting the $language kernel launcher for kernel $KERNEL_ID" >&2
exec "$python" "$launcher" "${common[@]}" ${extra[@]+"${extra[@]}"}
