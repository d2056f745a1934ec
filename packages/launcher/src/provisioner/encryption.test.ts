/**
 * The provisioner's transport-encryption decision before a launch (no cluster contacted): the policy's
 * sources, the `{transport_encryption}` placeholder, and `required` refusals that leave nothing behind.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createMemoryLogger, ResponseListener } from '@gp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSpecLike } from './kernelspec.js';
import { KubernetesProvisioner, type ProvisionerOptions } from './provisioner.js';

const KERNEL_ID = '0c7f0b8e-1d2a-4b3c-8d4e-5f6a7b8c9d0e';
let listener: ResponseListener;
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 't', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
  users: [{ name: 'u', token: 'x' }],
  contexts: [{ name: 'c', cluster: 't', user: 'u', namespace: 'default' }],
  currentContext: 'c',
});

/** gp's Python kernelspec as `k8s-spec install` writes it now (placeholder + supported_encryption), or an older one. */
function spec(o: { placeholder?: boolean; curve?: boolean; script?: string } = {}): KernelSpecLike {
  const { placeholder = true, curve = true, script = '/specs/k8s_python/scripts/launch_kubernetes.mjs' } = o;
  return {
    argv: [
      script.endsWith('.mjs') ? 'node' : 'python', script, '--kernel-id', '{kernel_id}', '--port-range', '{port_range}', '--response-address', '{response_address}', '--public-key', '{public_key}',
      ...(placeholder ? ['--transport-encryption', '{transport_encryption}'] : []),
      '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel',
    ],
    display_name: 'Kubernetes Python',
    language: 'Python',
    metadata: { ...(curve ? { supported_encryption: ['curve'] } : {}), kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: 'img:1', launch_timeout: 30 } } },
  };
}

function make(o: Partial<ProvisionerOptions> = {}, hostEnv: Record<string, string> = {}): KubernetesProvisioner {
  return new KubernetesProvisioner({ kernelId: KERNEL_ID, kernelSpec: spec(), kubeConfig: kc, responseListener: listener, hostEnv: { GP_NAMESPACE: 'kernels', ...hostEnv }, ...o });
}

function argAfter(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i < 0 ? undefined : argv[i + 1];
}

beforeAll(async () => {
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await listener.close();
});

describe('transport encryption in preLaunch', () => {
  it('defaults to auto: fills the placeholder and passes it to the pod (TRANSPORT_ENCRYPTION)', async () => {
    const p = make();
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(argAfter(prepared.argv, '--transport-encryption')).toBe('auto');
    await p.cleanup();
  });

  it('takes GP_TRANSPORT_ENCRYPTION, then the provisioner option, then the launch option (the reference\'s keyword)', async () => {
    const cases: Array<[Partial<ProvisionerOptions>, Record<string, string>, Record<string, string>, string]> = [
      [{}, { GP_TRANSPORT_ENCRYPTION: 'required' }, {}, 'required'],
      [{}, { GP_TRANSPORT_ENCRYPTION: 'disabled' }, {}, ''],
      [{ transportEncryption: 'required' }, { GP_TRANSPORT_ENCRYPTION: 'disabled' }, {}, 'required'],
      [{ transportEncryption: 'required' }, {}, { transportEncryption: 'DISABLED' }, ''],
    ];
    for (const [opts, hostEnv, launch, expected] of cases) {
      const p = make(opts, hostEnv);
      const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' }, ...launch });
      expect(argAfter(prepared.argv, '--transport-encryption')).toBe(expected);
      await p.cleanup();
    }
  });

  it('a bad policy is refused naming the value and the valid ones', async () => {
    await expect(make({}, { GP_TRANSPORT_ENCRYPTION: 'always' }).preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).rejects.toMatchObject({
      code: 'GP_INVALID_CONFIG',
      message: expect.stringMatching(/"always".*GP_TRANSPORT_ENCRYPTION.*'disabled', 'auto', 'required'/s),
    });
    await expect(make().preLaunch({ env: { KERNEL_USERNAME: 'alice' }, transportEncryption: 'yes' })).rejects.toMatchObject({
      code: 'GP_INVALID_CONFIG',
      message: expect.stringMatching(/"yes".*'disabled', 'auto', 'required'/s),
    });
  });

  it.each([
    ['a kernelspec without supported_encryption', { curve: false }, "does not declare 'curve' in metadata.supported_encryption"],
    ['a kernelspec without the placeholder', { placeholder: false }, "no '{transport_encryption}' placeholder"],
  ])('required with %s fails with GP_TRANSPORT_ENCRYPTION_UNAVAILABLE and registers nothing', async (_what, shape, why) => {
    const p = make({ kernelSpec: spec(shape), transportEncryption: 'required' });
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).rejects.toMatchObject({
      code: 'GP_TRANSPORT_ENCRYPTION_UNAVAILABLE',
      httpStatus: 400,
      message: expect.stringContaining(why),
    });
    expect(listener.waiting).not.toContain(KERNEL_ID);
    expect(p.hasProcess).toBe(false);
  });

  it('required with a host whose libzmq lacks CurveZMQ fails naming it', async () => {
    const p = make({ transportEncryption: 'required', curveUnsupported: 'the host libzmq lacks curve' });
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).rejects.toMatchObject({ code: 'GP_TRANSPORT_ENCRYPTION_UNAVAILABLE', message: expect.stringContaining('the host libzmq lacks curve') });
    expect(listener.waiting).not.toContain(KERNEL_ID);
  });

  it('auto with a kernelspec that claims curve but cannot pass the policy warns once and goes on in the clear', async () => {
    const logger = createMemoryLogger();
    const p = make({ kernelSpec: spec({ placeholder: false }), logger });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(prepared.argv).not.toContain('--transport-encryption');
    const warnings = logger.records.filter((r) => r.level === 'warn' && r.message.startsWith('Transport encryption cannot be applied'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields.reason).toContain("no '{transport_encryption}' placeholder");
    await p.cleanup();
  });

  it('auto with a kernelspec that never claimed curve fills the placeholder empty, without a warning (as the reference)', async () => {
    const logger = createMemoryLogger();
    const p = make({ kernelSpec: spec({ curve: false }), logger });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(argAfter(prepared.argv, '--transport-encryption')).toBe('');
    expect(logger.records.filter((r) => r.level === 'warn')).toEqual([]);
    await p.cleanup();
  });

  it('a spawned reference launcher gets the filled policy as its argument', async () => {
    const p = make({ kernelSpec: spec({ script: '/specs/ref/scripts/launch_kubernetes.py' }) });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(prepared.mode).toBe('spawn');
    expect(argAfter(prepared.argv, '--transport-encryption')).toBe('auto');
    await p.cleanup();
  });
});
