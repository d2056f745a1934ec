/**
 * The environment of a launcher spawned from a kernelspec's argv (e.g. the reference's
 * `python launch_kubernetes.py`). The reference's launchers copy their whole environment into the kernel
 * pod, so whatever the host hands them ends up in the pod spec and in the kernel's `os.environ`: the host
 * passes only what a launcher needs, never its own environment (tokens, credentials, anything else).
 *
 * A spawned launcher gets:
 * - the kernel's environment: the `KERNEL_*` request, `KERNEL_ID` and the names set by the provisioner,
 *   and the variables the kernelspec's `env` names (with `${VAR}` substituted);
 *   the response address, the public key and the port range come as arguments (`--response-address`,
 *   `--public-key`, `--port-range`);
 * - what is needed to run at all: `LAUNCHER_RUNTIME_ENV` from the host (`PATH`, locale, time zone, and for a
 *   Spark kernelspec's run.sh `JAVA_HOME`, `SPARK_HOME`, `SPARK_CONF_DIR`, `GP_POD_TEMPLATE_DIR`, `KERNEL_LAUNCHERS_DIR`);
 * - the launcher host settings (`GP_NAMESPACE`, `GP_UNAUTHORIZED_USERS`... every variable of `HOST_OPTIONS`),
 *   so gp's own launcher behind a wrapper resolves a launch as the host does; none of them is a secret;
 * - cluster access, the one credential a launcher needs to create the pod: in a pod,
 *   `KUBERNETES_SERVICE_HOST`/`_PORT` (the service-account token is a file, not a variable); elsewhere
 *   `KUBECONFIG` naming a launch-scoped copy of the host's kubeconfig (0600, in a private directory,
 *   deleted when the launcher exits), never the host's own `KUBECONFIG`.
 * Not `HOME`: the reference copies it into the pod, where it would replace the image's home directory.
 */
import { HOST_OPTIONS, type Env } from '../env.js';

/** Host variables a spawned launcher needs to run at all. */
export const LAUNCHER_RUNTIME_ENV = [
  'PATH', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ',
  // a Spark kernelspec's bin/run.sh runs spark-submit here
  'JAVA_HOME', 'SPARK_HOME', 'SPARK_CONF_DIR', 'GP_POD_TEMPLATE_DIR', 'KERNEL_LAUNCHERS_DIR',
] as const;

/** The in-cluster address of the API server (not secrets: every pod gets them). */
export const IN_CLUSTER_ENV = ['KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;

/** The host settings a spawned launcher may read, from their one definition (`HOST_OPTIONS`). */
export function launcherSettingNames(): string[] {
  return Object.values(HOST_OPTIONS.options).flatMap((option) => [...option.env]);
}

export interface SpawnEnvOptions {
  /** The host's environment. */
  hostEnv: Env;
  /** The kernel's environment as the provisioner prepared it (request, kernelspec env, names). */
  kernelEnv: Record<string, string>;
  /** A launch-scoped kubeconfig file; undefined in a pod (in-cluster access). */
  kubeconfigPath?: string;
}

/** The whole environment of a spawned launcher (see the module comment). */
export function launcherSpawnEnv({ hostEnv, kernelEnv, kubeconfigPath }: SpawnEnvOptions): Record<string, string> {
  const out: Record<string, string> = {};
  const names = [...LAUNCHER_RUNTIME_ENV, ...launcherSettingNames()];
  for (const name of names) {
    const value = hostEnv[name];
    if (value !== undefined) out[name] = value;
  }
  const merged = { ...out, ...kernelEnv };
  // Cluster access is the host's to give: a request or kernelspec cannot point the launcher elsewhere.
  for (const name of ['KUBECONFIG', ...IN_CLUSTER_ENV]) delete merged[name];
  if (kubeconfigPath !== undefined) merged.KUBECONFIG = kubeconfigPath;
  else for (const name of IN_CLUSTER_ENV) if (hostEnv[name] !== undefined) merged[name] = hostEnv[name]!;
  return merged;
}

/** Whether the host reaches the API server from inside a pod (then a launcher does too, with no kubeconfig). */
export function inClusterHost(hostEnv: Env, explicitKubeConfig: boolean, tokenFileExists: boolean): boolean {
  return !explicitKubeConfig && !hostEnv.KUBECONFIG && !!hostEnv.KUBERNETES_SERVICE_HOST && tokenFileExists;
}
