/**
 * The kernel contract: kernel.json as gp writes it (`k8s-spec install`) and reads it (the provisioners):
 * its shape, the provisioner names, the launcher scripts and templates a spec ships, and the argv
 * placeholders the host fills at each launch.
 */

/** `metadata.kernel_provisioner.provisioner_name` of gp's provisioners, by the launcher each follows. */
export const PROVISIONER_NAMES = Object.freeze({
  kubernetes: 'kubernetes-provisioner',
  custom_resource: 'spark-operator-provisioner',
} as const);
export type ProvisionerName = (typeof PROVISIONER_NAMES)[keyof typeof PROVISIONER_NAMES];

/** gp's launch scripts (in a spec's `scripts/`), by the kind of kernel object each creates. */
export const LAUNCHER_SCRIPTS = Object.freeze({
  kubernetes: 'launch_kubernetes.mjs',
  custom_resource: 'launch_custom_resource.mjs',
} as const);
export type LauncherKind = keyof typeof LAUNCHER_SCRIPTS;
export type LauncherScript = (typeof LAUNCHER_SCRIPTS)[LauncherKind];

/** The templates a spec ships next to its launch script, by that launcher's kind. */
export const LAUNCHER_TEMPLATES = Object.freeze({
  kubernetes: 'kernel-pod.yaml.j2',
  custom_resource: 'sparkoperator.k8s.io-v1beta2.yaml.j2',
} as const);
export type TemplateName = (typeof LAUNCHER_TEMPLATES)[LauncherKind];

/** The launcher kind of a script file name, or undefined when it is not one of gp's. */
export function launcherKindOfScript(fileName: string): LauncherKind | undefined {
  for (const kind of Object.keys(LAUNCHER_SCRIPTS) as LauncherKind[]) if (LAUNCHER_SCRIPTS[kind] === fileName) return kind;
  return undefined;
}

/** The `{name}` placeholders a kernelspec argv may carry, filled by the host at each launch. */
export interface ArgvValues {
  kernel_id: string;
  response_address: string;
  public_key: string;
  port_range: string;
  resource_dir?: string;
  /**
   * The transport-encryption policy handed to the launcher. The reference always fills this placeholder, with
   * the empty string when CurveZMQ is not in use, so that `--transport-encryption {transport_encryption}` never
   * reaches a launcher or a pod literally.
   */
  transport_encryption?: string;
}

/** The launcher's arguments that carry a placeholder, as `k8s-spec install` writes them into argv. */
export const ARGV_PLACEHOLDER_ARGS = Object.freeze({
  kernelId: ['--kernel-id', '{kernel_id}'],
  portRange: ['--port-range', '{port_range}'],
  responseAddress: ['--response-address', '{response_address}'],
  publicKey: ['--public-key', '{public_key}'],
} as const);

/**
 * Replaces `{kernel_id}`, `{response_address}`, `{public_key}`, `{port_range}`, `{transport_encryption}` (empty
 * unless given) and `{resource_dir}` when known; any other `{name}` stays as it is.
 */
export function substituteArgv(argv: readonly string[], values: ArgvValues): string[] {
  const all: Record<string, string | undefined> = { transport_encryption: '', ...values };
  return argv.map((a) =>
    a.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, name: string) => {
      const v = all[name];
      return v === undefined ? whole : v;
    }),
  );
}

/** `metadata.kernel_provisioner`: which provisioner runs the kernel, and its settings. */
export interface KernelProvisionerMetadata {
  provisioner_name?: string;
  config?: Record<string, unknown>;
}

/** A Jupyter kernel.json as a provisioner reads it: only `argv` is certain. */
export interface KernelJson {
  argv: string[];
  env?: Record<string, string>;
  display_name?: string;
  language?: string;
  interrupt_mode?: string;
  metadata?: {
    debugger?: boolean;
    /** `["curve"]`: the kernel's launcher can provision CurveZMQ keys (the reference's and jupyter_client's key). */
    supported_encryption?: string[];
    kernel_provisioner?: KernelProvisionerMetadata;
    [key: string]: unknown;
  };
}

/** kernel.json as `k8s-spec install` writes it: every field present. */
export interface WrittenKernelJson extends KernelJson {
  env: Record<string, string>;
  display_name: string;
  language: string;
  interrupt_mode: 'signal';
  metadata: {
    debugger?: true;
    supported_encryption?: string[];
    kernel_provisioner: { provisioner_name: ProvisionerName; config: Record<string, unknown> };
  };
}
