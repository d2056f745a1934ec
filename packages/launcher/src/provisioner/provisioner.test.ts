/**
 * The provisioners' pre-launch decisions and idle behaviour, without a cluster (nothing here contacts one).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ResponseListener } from '@gp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSpecLike } from './kernelspec.js';
import { createProvisioner, KubernetesProvisioner, SparkOperatorProvisioner, type ProvisionerOptions } from './provisioner.js';

const KERNEL_ID = '6a2b9a4e-2f3c-4a57-9d51-3f2f7a0c1b11';
let listener: ResponseListener;
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 't', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
  users: [{ name: 'u', token: 'x' }],
  contexts: [{ name: 'c', cluster: 't', user: 'u', namespace: 'default' }],
  currentContext: 'c',
});

function gpSpec(script = 'launch_kubernetes.mjs', config: Record<string, unknown> = { image_name: 'elyra/kernel-py:3.2.3', launch_timeout: 30 }): KernelSpecLike {
  return {
    argv: ['node', `/specs/k8s_python/scripts/${script}`, '--kernel-id', '{kernel_id}', '--port-range', '{port_range}', '--response-address', '{response_address}', '--public-key', '{public_key}', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel'],
    env: { FROM_SPEC: '${HOME}/data' },
    display_name: 'Kubernetes Python',
    language: 'Python',
    metadata: { kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config } },
  };
}

function make(o: Partial<ProvisionerOptions> = {}): KubernetesProvisioner {
  return new KubernetesProvisioner({ kernelId: KERNEL_ID, kernelSpec: gpSpec(), kubeConfig: kc, responseListener: listener, hostEnv: { HOME: '/home/host', GP_NAMESPACE: 'kernels' }, ...o });
}

beforeAll(async () => {
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await listener.close();
});

describe('preLaunch', () => {
  it('prepares an in-process launch: kernel env, names, namespace, timeout', async () => {
    const p = make();
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'Alice', KERNEL_IMAGE: 'evil/image:1', KERNEL_LAUNCH_TIMEOUT: '90' } });
    expect(prepared).toMatchObject({ mode: 'in-process', namespace: 'kernels', namespaceMode: 'shared', podName: `alice-${KERNEL_ID}`, username: 'Alice', restart: false });
    expect(prepared.launchTimeout).toMatchObject({ seconds: 90, source: 'request' });
    expect(prepared.env).toMatchObject({
      KERNEL_ID: KERNEL_ID,
      KERNEL_LANGUAGE: 'python',
      KERNEL_IMAGE: 'elyra/kernel-py:3.2.3', // image_name overwrites a request's value, as the reference
      KERNEL_EXECUTOR_IMAGE: 'elyra/kernel-py:3.2.3',
      KERNEL_POD_NAME: `alice-${KERNEL_ID}`,
      KERNEL_NAMESPACE: 'kernels',
      FROM_SPEC: '/home/host/data',
    });
    expect(prepared.argv.slice(2)).toEqual([
      '--kernel-id', KERNEL_ID, '--port-range', '0..0', '--response-address', `127.0.0.1:${listener.port}`, '--public-key', expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
      '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel',
    ]);
    await p.cleanup();
  });

  it('spawns argvs that are not gp\'s launch script', async () => {
    const spec = gpSpec();
    spec.argv = ['python', '/specs/x/scripts/launch_kubernetes.py', '--RemoteProcessProxy.kernel-id', '{kernel_id}', '--RemoteProcessProxy.response-address', '{response_address}'];
    const p = make({ kernelSpec: spec });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'bob' } });
    expect(prepared.mode).toBe('spawn');
    expect(prepared.argv).toEqual(['python', '/specs/x/scripts/launch_kubernetes.py', '--RemoteProcessProxy.kernel-id', KERNEL_ID, '--RemoteProcessProxy.response-address', `127.0.0.1:${listener.port}`]);
    await p.cleanup();
  });

  it('applies the launcher\'s policy before anything exists (typed errors)', async () => {
    await expect(make().preLaunch({ env: { KERNEL_USERNAME: 'root' } })).rejects.toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED' });
    await expect(make().preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_NAMESPACE: 'elsewhere' } })).rejects.toMatchObject({ code: 'GP_NAMESPACE_NOT_ALLOWED' });
    await expect(make().preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_UID: '0' } })).rejects.toMatchObject({ code: 'GP_UID_PROHIBITED' });
    await expect(make().preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_LAUNCH_TIMEOUT: 'soon' } })).rejects.toMatchObject({ code: 'GP_INVALID_CONFIG' });
  });

  it('applies the kernelspec\'s authorized_users', async () => {
    const p = make({ kernelSpec: gpSpec('launch_kubernetes.mjs', { image_name: 'i/k:1', authorized_users: ['alice'] }) });
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'bob' } })).rejects.toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED' });
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).resolves.toMatchObject({ username: 'alice' });
    await p.cleanup();
  });

  it('leaves KERNEL_NAMESPACE unset in automatic mode (the launcher creates the namespace)', async () => {
    const p = make({ hostEnv: { GP_SHARED_NAMESPACE: 'false' } });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(prepared).toMatchObject({ namespaceMode: 'automatic', namespace: `alice-${KERNEL_ID}` });
    expect(prepared.env.KERNEL_NAMESPACE).toBeUndefined();
    await p.cleanup();
  });

  it('refuses a kernelspec whose launch script belongs to the other provisioner', async () => {
    await expect(make({ kernelSpec: gpSpec('launch_custom_resource.mjs') }).preLaunch({ env: { KERNEL_USERNAME: 'a' } })).rejects.toMatchObject({ code: 'GP_INVALID_KERNELSPEC' });
    const spark = new SparkOperatorProvisioner({ kernelId: KERNEL_ID, kernelSpec: gpSpec(), kubeConfig: kc, responseListener: listener, hostEnv: {} });
    await expect(spark.preLaunch({ env: { KERNEL_USERNAME: 'a' } })).rejects.toMatchObject({ code: 'GP_INVALID_KERNELSPEC' });
  });

  it('launch() without preLaunch() is a state error', async () => {
    await expect(make().launch()).rejects.toMatchObject({ code: 'GP_PROVISIONER_STATE' });
  });
});

describe('before a launch', () => {
  it('poll() reports no kernel, signals deliver nothing, info holds only the id', async () => {
    const p = make();
    expect(p.poll()).toBe(0);
    await expect(p.sendSignal(0)).resolves.toBe(false);
    await expect(p.interrupt()).resolves.toBe(false);
    expect(p.getProvisionerInfo()).toEqual({ kernel_id: KERNEL_ID });
    expect(p.hasProcess).toBe(false);
    await expect(p.kill()).resolves.toBeUndefined();
  });

  it('loadProvisionerInfo refuses another kernel\'s info and returns false for info without resources', async () => {
    const p = make();
    await expect(p.loadProvisionerInfo({ kernel_id: 'other' })).rejects.toMatchObject({ code: 'GP_PROVISIONER_STATE' });
    await expect(p.loadProvisionerInfo({ kernel_id: KERNEL_ID })).resolves.toBe(false);
  });
});

describe('SparkOperatorProvisioner', () => {
  it('prepares a SparkApplication launch from launch_custom_resource.mjs', async () => {
    const spec = gpSpec('launch_custom_resource.mjs');
    spec.metadata!.kernel_provisioner!.provisioner_name = 'spark-operator-provisioner';
    const p = new SparkOperatorProvisioner({ kernelId: KERNEL_ID, kernelSpec: spec, kubeConfig: kc, responseListener: listener, hostEnv: {} });
    expect(p.provisionerName).toBe('spark-operator-provisioner');
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).resolves.toMatchObject({ mode: 'in-process', namespace: 'default', podName: `alice-${KERNEL_ID}` });
    await p.cleanup();
  });
});

describe('createProvisioner', () => {
  const opts = (spec: KernelSpecLike) => ({ kernelId: KERNEL_ID, kernelSpec: spec, kubeConfig: kc, responseListener: listener, hostEnv: {} });

  it('follows provisioner_name, else the launch script', () => {
    expect(createProvisioner(opts(gpSpec()))).toBeInstanceOf(KubernetesProvisioner);
    const spark = gpSpec('launch_custom_resource.mjs');
    spark.metadata!.kernel_provisioner!.provisioner_name = 'spark-operator-provisioner';
    expect(createProvisioner(opts(spark))).toBeInstanceOf(SparkOperatorProvisioner);
    const unnamed = gpSpec('launch_custom_resource.mjs');
    delete unnamed.metadata;
    expect(createProvisioner(opts(unnamed))).toBeInstanceOf(SparkOperatorProvisioner);
  });

  it('refuses an unknown provisioner_name', () => {
    const spec = gpSpec();
    spec.metadata!.kernel_provisioner!.provisioner_name = 'yarn-provisioner';
    expect(() => createProvisioner(opts(spec))).toThrow(/yarn-provisioner/);
  });
});
