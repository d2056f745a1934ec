/**
 * The host's filled `{transport_encryption}` on its way into the kernel's pod (gp's in-process launch and
 * `launch_*.mjs --transport-encryption`): pod env `TRANSPORT_ENCRYPTION` (read by bootstrap-kernel.sh and the
 * launchers, as the reference's launch_kubernetes.py sets it) and, for the Spark Operator, the launcher's
 * argument in the SparkApplication (as the reference's template).
 */
import { describe, expect, it } from 'vitest';
import { planCustomResource } from './crd.js';
import { readHostSettings } from './env.js';
import { type LaunchRequest, resolveLaunch } from './inputs.js';

const KID = '5d1e2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b';

function request(transportEncryption?: string): LaunchRequest {
  return {
    kernelId: KID,
    portRange: '0..0',
    responseAddress: '10.0.0.5:8877',
    publicKey: 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC+abc/def==',
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'elyra/kernel-py:dev' },
    settings: readHostSettings({}),
    ...(transportEncryption !== undefined ? { transportEncryption } : {}),
  };
}

describe('transport encryption into the pod', () => {
  it.each([['auto'], ['required'], ['REQUIRED']])('%s: TRANSPORT_ENCRYPTION in the pod env', (value) => {
    expect(resolveLaunch(request(value)).podEnv.TRANSPORT_ENCRYPTION).toBe(value.toLowerCase());
  });

  it.each([[undefined], [''], ['disabled'], ['{transport_encryption}']])('%j: nothing asked of the launcher', (value) => {
    expect(resolveLaunch(request(value)).podEnv).not.toHaveProperty('TRANSPORT_ENCRYPTION');
  });

  it('an unknown value is refused naming it and the valid ones', () => {
    expect(() => resolveLaunch(request('always'))).toThrow(expect.objectContaining({ code: 'GP_INVALID_CONFIG', message: expect.stringMatching(/"always".*auto, required, disabled or empty/s) }));
  });

  it('a SparkApplication passes it to the driver launcher as --transport-encryption, only when asked', () => {
    const args = (v?: string): unknown => (planCustomResource(request(v)).resource.spec as { arguments: string[] }).arguments;
    expect(args('auto')).toEqual(expect.arrayContaining(['--transport-encryption', 'auto']));
    expect(args('')).not.toContain('--transport-encryption');
  });
});
