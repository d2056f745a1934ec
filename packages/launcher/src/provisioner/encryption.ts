/**
 * The provisioner's transport-encryption policy: a launch's own (`preLaunch({ transportEncryption })`, as the
 * reference's launch keyword), else the provisioner's (`ProvisionerOptions.transportEncryption`, what gp-gateway
 * passes), else the host's `GP_TRANSPORT_ENCRYPTION` (`@gp/core`'s one option definition; default `auto`).
 */
import {
  defineOptions,
  parseTransportEncryptionPolicy,
  resolveConfig,
  transportEncryptionOption,
  type TransportEncryptionPolicy,
} from '@gp/core';
import type { Env } from '../env.js';

const OPTIONS = defineOptions({ transport_encryption: transportEncryptionOption });

export function transportEncryptionPolicy(
  launch: string | undefined,
  provisioner: string | undefined,
  hostEnv: Env,
): TransportEncryptionPolicy {
  if (launch !== undefined) return parseTransportEncryptionPolicy(launch);
  if (provisioner !== undefined) return parseTransportEncryptionPolicy(provisioner);
  return resolveConfig(OPTIONS, { env: hostEnv }).values.transport_encryption;
}
