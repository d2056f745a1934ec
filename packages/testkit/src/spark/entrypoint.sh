#!/usr/bin/env bash
# The process node's stand-in for the entrypoint of Spark's Kubernetes image (`driver` and `executor` modes),
# with the local Spark (SPARK_HOME, e.g. pyspark's directory) and Java (JAVA_HOME or java on PATH).
# What a real node gives a Spark container that the process node does not, it makes up here:
# - volumes: kubelet-mounts.mjs writes the pod's config maps (spark.properties), secrets and service-account
#   token under $HOME/mounts, and paths below a mountPath are rewritten to it;
# - cluster DNS: the JVMs resolve names through GP_SPARK_HOSTS_FILE (-Djdk.net.hosts.file=), the file the
#   test cluster keeps with every Service name and pod hostname (all 127.0.0.1);
# - the in-cluster API address: the driver is pointed at KUBERNETES_SERVICE_HOST:PORT (no kube-proxy routes
#   kubernetes.default.svc), with the mounted token and CA;
# - one network for all pods: the driver's RPC and block-manager ports are picked free instead of 7078/7079,
#   so two drivers never collide (executors learn them from the driver, as always).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_bin="${GP_SPARK_NODE_BIN:-node}"
: "${SPARK_HOME:?SPARK_HOME must name a Spark distribution (the pyspark package directory will do)}"
java="java"
if [ -n "${JAVA_HOME:-}" ]; then java="${JAVA_HOME}/bin/java"; fi
hosts="${GP_SPARK_HOSTS_FILE:?GP_SPARK_HOSTS_FILE must name the hosts file the node keeps}"

mode="${1:-}"
if [ "$#" -gt 0 ]; then shift; fi
case "$mode" in
  driver | executor) ;;
  *) echo "spark entrypoint stand-in: mode '${mode}' is not supported (driver, executor)" >&2; exec "$mode" "$@" ;;
esac

mounts="$("$node_bin" "$here/kubelet-mounts.mjs")"
declare -a MOUNT_FROM=() MOUNT_TO=()
while IFS=$'\t' read -r from to rest; do
  case "$from" in '#pod') continue ;; esac
  MOUNT_FROM+=("$from"); MOUNT_TO+=("$to")
done <<< "$mounts"
# A path below a mountPath, rewritten to the sandbox copy (longest mountPath first is not needed: Spark's don't nest).
map_path() {
  local p="$1" i
  for i in "${!MOUNT_FROM[@]}"; do
    case "$p" in "${MOUNT_FROM[$i]}" | "${MOUNT_FROM[$i]}"/*) printf '%s' "${MOUNT_TO[$i]}${p#"${MOUNT_FROM[$i]}"}"; return ;; esac
  done
  printf '%s' "$p"
}
map_list() { # comma-separated paths (SPARK_LOCAL_DIRS)
  local out="" p
  IFS=',' read -r -a parts <<< "$1"
  for p in "${parts[@]}"; do out="${out:+$out,}$(map_path "$p")"; mkdir -p "$(map_path "$p")"; done
  printf '%s' "$out"
}
if [ -n "${SPARK_CONF_DIR:-}" ]; then export SPARK_CONF_DIR="$(map_path "$SPARK_CONF_DIR")"; fi
if [ -n "${SPARK_LOCAL_DIRS:-}" ]; then export SPARK_LOCAL_DIRS="$(map_list "$SPARK_LOCAL_DIRS")"; fi

# The JVM resolves its own hostname at start: wait until the node's hosts file knows it.
for _ in $(seq 1 100); do
  if grep -qw -- "$(hostname)" "$hosts" 2>/dev/null; then break; fi
  sleep 0.1
done
hosts_opt="-Djdk.net.hosts.file=${hosts}"
# Every pod has IP 127.0.0.1 here: Spark binds and advertises it instead of guessing an interface.
export SPARK_LOCAL_IP="${SPARK_DRIVER_BIND_ADDRESS:-${SPARK_EXECUTOR_POD_IP:-127.0.0.1}}"
sa_dir="$(map_path /var/run/secrets/kubernetes.io/serviceaccount)"

if [ "$mode" = driver ]; then
  # spark.properties names files below mountPaths (the executor pod template at /opt/spark/pod-template/...):
  # a copy with those paths rewritten to the sandbox.
  rewrite_properties() {
    local src="$1" dst="$HOME/spark.properties" line key value
    : > "$dst"
    while IFS= read -r line || [ -n "$line" ]; do
      case "$line" in
        '#'* | '') printf '%s\n' "$line" >> "$dst" ;;
        *=*) key="${line%%=*}"; value="${line#*=}"; printf '%s=%s\n' "$key" "$(map_path "$value")" >> "$dst" ;;
        *) printf '%s\n' "$line" >> "$dst" ;;
      esac
    done < "$src"
    printf '%s' "$dst"
  }
  args=()
  while [ "$#" -gt 0 ]; do
    if [ "$1" = --properties-file ] && [ "$#" -gt 1 ]; then args+=("$1" "$(rewrite_properties "$(map_path "$2")")"); shift 2; else args+=("$1"); shift; fi
  done
  read -r rpc_port bm_port < <("$node_bin" -e '
    const net = require("node:net");
    const free = () => new Promise((r) => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => r(p)); }); });
    (async () => { const a = await free(); let b = await free(); while (b === a) b = await free(); console.log(a, b); })();')
  auth=()
  if [ -f "$sa_dir/token" ]; then
    auth=(--conf "spark.kubernetes.authenticate.driver.mounted.oauthTokenFile=$sa_dir/token" --conf "spark.kubernetes.authenticate.driver.mounted.caCertFile=$sa_dir/ca.crt")
  fi
  export SPARK_SUBMIT_OPTS="${hosts_opt} ${SPARK_SUBMIT_OPTS:-}"
  exec "$SPARK_HOME/bin/spark-submit" \
    --conf "spark.driver.bindAddress=${SPARK_DRIVER_BIND_ADDRESS}" \
    --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=${SPARK_DRIVER_BIND_ADDRESS}" \
    --conf "spark.kubernetes.driver.master=https://${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}" \
    --conf "spark.driver.port=${rpc_port}" \
    --conf "spark.driver.blockManager.port=${bm_port}" \
    "${auth[@]}" \
    --deploy-mode client "${args[@]}"
fi

# executor: the JVM options Spark hands over as SPARK_JAVA_OPT_<n>, in order.
java_opts=()
while IFS='=' read -r name _; do
  java_opts+=("${!name}")
done < <(env | grep -o '^SPARK_JAVA_OPT_[0-9]*=' | sort -t_ -k4 -n)
exec "$java" "$hosts_opt" "${java_opts[@]}" -Xms"${SPARK_EXECUTOR_MEMORY}" -Xmx"${SPARK_EXECUTOR_MEMORY}" \
  -cp "${SPARK_CONF_DIR:+$SPARK_CONF_DIR:}$SPARK_HOME/jars/*${SPARK_CLASSPATH:+:$SPARK_CLASSPATH}" \
  org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
  --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \
  --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \
  --resourceProfileId "${SPARK_RESOURCE_PROFILE_ID:-0}" --podName "$SPARK_EXECUTOR_POD_NAME"
