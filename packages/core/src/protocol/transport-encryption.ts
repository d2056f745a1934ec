/**
 * CurveZMQ transport encryption of a kernel's ZeroMQ channels: the policy (`disabled` / `auto` / `required`),
 * its one option definition (`GP_TRANSPORT_ENCRYPTION`, used by the provisioner and by gp-gateway), and the
 * two checks a host makes, the reference's (gateway_provisioners 0.5.0 `remote_provisioner.py`) semantics:
 *
 * 1. before the launch (`resolveTransportEncryption`): does the kernelspec advertise `curve` in
 *    `metadata.supported_encryption`, and can it pass the policy to its launcher (a `{transport_encryption}`
 *    placeholder in its argv)? `required` fails here, before anything is registered or created; `auto` warns
 *    and launches in the clear;
 * 2. on the connection information (`checkTransportEncryptionResponse`): did the launcher return a valid
 *    Z85 key pair? `required` fails the launch (the provisioner then removes what it created), `auto`
 *    warns; keys of a response that is not fully valid are dropped so no half-key reaches a client.
 *
 * The launcher generates one key pair per launch (so a restart gets new keys); the kernel's sockets are
 * CurveZMQ servers with it, and the host connects as a client with the same pair and the public key as
 * the server key (what jupyter_client 8.10 and ipykernel 7.4 do with `curve_publickey`/`curve_secretkey`
 * in a connection file).
 */
import { GpError, type ValueSource } from '../errors.js';
import { defineOption } from '../config/options.js';
import type { KernelConnectionInfo } from './types.js';

export const TRANSPORT_ENCRYPTION_POLICIES = ['disabled', 'auto', 'required'] as const;
export type TransportEncryptionPolicy = (typeof TRANSPORT_ENCRYPTION_POLICIES)[number];

export const TRANSPORT_ENCRYPTION_ENV = 'GP_TRANSPORT_ENCRYPTION';

/**
 * The one definition of the policy option (env `GP_TRANSPORT_ENCRYPTION`, flag `--transport-encryption` where
 * a CLI has flags). Default `auto`: it encrypts whenever the kernelspec and its launcher can (gp's and the
 * reference's Python kernelspecs and images), costs one CurveZMQ handshake per socket, and never breaks a
 * kernelspec or image that cannot (those warn and run in the clear, as before). `required` is for clusters
 * where every image is known to support it; `disabled` only for debugging traffic.
 */
export const transportEncryptionOption = defineOption<TransportEncryptionPolicy>({
  name: 'transport_encryption',
  kind: 'enum',
  section: 'TransportEncryption',
  choices: TRANSPORT_ENCRYPTION_POLICIES,
  help:
    "CurveZMQ encryption of the kernel's ZeroMQ channels: 'auto' encrypts when the kernelspec declares 'curve' in " +
    "metadata.supported_encryption and its launcher returns keys, else warns and runs in the clear; 'required' fails such " +
    "a launch instead; 'disabled' never encrypts.",
  default: 'auto',
  env: TRANSPORT_ENCRYPTION_ENV,
  flag: 'transport-encryption',
});

/** The launch cannot be encrypted although the policy is `required`. Nothing is left behind when it is thrown. */
export class TransportEncryptionError extends GpError {
  constructor(kernelId: string, reason: string, fix: string) {
    super(
      'GP_TRANSPORT_ENCRYPTION_UNAVAILABLE',
      `Kernel ${kernelId}: transport encryption is 'required' (${TRANSPORT_ENCRYPTION_ENV}) but cannot be applied: ${reason}. ${fix}`,
      { httpStatus: 400, details: { kernelId, reason } },
    );
  }
}

/**
 * A policy value given in code (a launch option, a provisioner option), by the option's own parser: any case;
 * a bad one is a `ConfigError` naming the value, where it came from and the valid ones.
 */
export function parseTransportEncryptionPolicy(
  value: unknown,
  source: ValueSource = { kind: 'flag', name: 'transport-encryption' },
): TransportEncryptionPolicy {
  return transportEncryptionOption.parse(value, { option: 'transport_encryption', source });
}

/** What a host knows about a kernelspec: its metadata and argv. */
export interface KernelSpecEncryptionView {
  argv?: readonly string[];
  metadata?: { supported_encryption?: unknown } & Record<string, unknown>;
}

/** Whether the kernelspec declares `curve` in `metadata.supported_encryption` (a string or a list, any case). */
export function kernelSpecSupportsCurve(spec: KernelSpecEncryptionView): boolean {
  const declared = spec.metadata?.supported_encryption;
  if (typeof declared === 'string') return declared.trim().toLowerCase() === 'curve';
  if (Array.isArray(declared)) return declared.some((e) => String(e).trim().toLowerCase() === 'curve');
  return false;
}

/** Whether the argv can hand the policy to the launcher (the reference's `{transport_encryption}` placeholder). */
export function kernelSpecPassesPolicy(spec: KernelSpecEncryptionView): boolean {
  return (spec.argv ?? []).some((a) => a.includes('{transport_encryption}'));
}

export interface ResolvedTransportEncryption {
  policy: TransportEncryptionPolicy;
  /** Whether the launcher is asked for keys (`{transport_encryption}` is filled with the policy, else ''). */
  enabled: boolean;
  /** Why it is not enabled although the kernelspec claims support and the policy is `auto`: for the warning. */
  reason?: string;
}

export interface ResolveTransportEncryptionOptions {
  kernelId: string;
  policy: TransportEncryptionPolicy;
  kernelSpec: KernelSpecEncryptionView;
  /** Why the host itself cannot connect with CurveZMQ (e.g. its libzmq lacks curve), if it cannot. */
  hostUnsupported?: string;
}

/**
 * Step 1, before anything is registered or created. Throws `TransportEncryptionError` under `required`
 * when the kernelspec (or the host) cannot do it; under `auto` returns `enabled: false` with the reason.
 */
export function resolveTransportEncryption(o: ResolveTransportEncryptionOptions): ResolvedTransportEncryption {
  if (o.policy === 'disabled') return { policy: o.policy, enabled: false };
  let reason: string | undefined;
  let fix = '';
  if (!kernelSpecSupportsCurve(o.kernelSpec)) {
    reason = "the kernelspec does not declare 'curve' in metadata.supported_encryption";
    fix = "Regenerate it with `k8s-spec install` (gp's Python kernelspecs declare it) or set GP_TRANSPORT_ENCRYPTION=auto.";
  } else if (!kernelSpecPassesPolicy(o.kernelSpec)) {
    reason = "the kernelspec declares 'curve' but its argv has no '{transport_encryption}' placeholder to pass the policy to the launcher";
    fix = 'Regenerate the kernelspec with `k8s-spec install`, or add `--transport-encryption {transport_encryption}` to its argv.';
  } else if (o.hostUnsupported) {
    reason = o.hostUnsupported;
    fix = 'Use a ZeroMQ build with CurveZMQ (libsodium) on the host, or set GP_TRANSPORT_ENCRYPTION=auto.';
  }
  if (reason === undefined) return { policy: o.policy, enabled: true };
  if (o.policy === 'required') throw new TransportEncryptionError(o.kernelId, reason, fix);
  // As the reference: `auto` with a kernelspec that never claimed support is the ordinary case (no warning); one
  // that claims it but cannot deliver (no placeholder, a host without CurveZMQ) is worth a warning.
  return kernelSpecSupportsCurve(o.kernelSpec) ? { policy: o.policy, enabled: false, reason } : { policy: o.policy, enabled: false };
}

/** A Z85-encoded CurveZMQ key: 40 characters of the Z85 alphabet (32 bytes). */
export function isCurveKey(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/.test(value);
}

/** Whether connection information carries a complete, well-formed CurveZMQ key pair. */
export function hasCurveKeys(info: Pick<KernelConnectionInfo, 'curve_publickey' | 'curve_secretkey'>): boolean {
  return isCurveKey(info.curve_publickey) && isCurveKey(info.curve_secretkey);
}

/**
 * Step 2, on the launcher's connection information. Returns whether the channels are encrypted; drops a
 * half or malformed key pair (never handed to a client); throws `TransportEncryptionError` when keys were
 * asked for under `required` and none came (an image whose launcher predates transport encryption).
 */
export function checkTransportEncryptionResponse(
  info: KernelConnectionInfo,
  resolved: ResolvedTransportEncryption,
): { encrypted: boolean; warning?: string } {
  const ok = hasCurveKeys(info);
  if (!ok) {
    delete info.curve_publickey;
    delete info.curve_secretkey;
  }
  if (!resolved.enabled) return { encrypted: ok };
  if (ok) return { encrypted: true };
  const reason = "the kernel's launcher did not return CurveZMQ keys (its image predates transport encryption, or its kernel cannot use them)";
  if (resolved.policy === 'required') {
    throw new TransportEncryptionError(
      info.kernel_id,
      reason,
      "Update the image's launchers (gp's or gateway_provisioners >= 0.5), or remove 'curve' from the kernelspec's metadata.supported_encryption.",
    );
  }
  return { encrypted: false, warning: reason };
}
