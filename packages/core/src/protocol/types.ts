/** Versions of the response payload a kernel launcher sends to the host's response address. */
export type ResponseVersion = 0 | 1 | 2;

/**
 * A kernel's connection information as received from its launcher: the Jupyter connection file
 * fields (snake_case, as in the file) plus what the launcher adds for the host.
 */
export interface KernelConnectionInfo {
  kernel_id: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  /** As sent by the launcher (usually `0.0.0.0`); the host replaces it with the pod's address. */
  ip: string;
  /** HMAC key for Jupyter message signing. Secret. */
  key: string;
  transport: string;
  signature_scheme: string;
  kernel_name: string;
  /** The launcher's comm port (interrupts, signals, shutdown), if it serves one. */
  comm_port?: number;
  pid?: number;
  pgid?: number;
  /**
   * Version 2 only: base64 of the per-kernel secret the launcher generated; comm requests must be
   * authenticated with it (see `sendCommRequest`). Secret.
   */
  comm_secret?: string;
  /** CurveZMQ keys when the launcher provisioned transport encryption. Secret. */
  curve_publickey?: string;
  curve_secretkey?: string;
  /** Which payload version carried this information. */
  response_version: ResponseVersion;
  /** The address the payload came from (diagnostics; for local processes also where the kernel is). */
  response_from?: string;
}
