/**
 * The provisioners' pre-launch decisions and idle behaviour, without a cluster (nothing here contacts one).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, createMemoryLogger, ResponseListener } from '@gp/core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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

  it('applies the kernelspec\'s authorized_users and unauthorized_users, naming them (not GP_*) in refusals', async () => {
    const p = make({ kernelName: 'k8s_python', kernelSpec: gpSpec('launch_kubernetes.mjs', { image_name: 'i/k:1', authorized_users: ['alice', 'eve'], unauthorized_users: ['eve'] }) });
    const notListed = await p.preLaunch({ env: { KERNEL_USERNAME: 'bob' } }).catch((e: unknown) => e);
    expect(notListed).toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED', details: { setting: "authorized_users of kernelspec 'k8s_python' (kernel.json)" } });
    expect((notListed as Error).message).toContain("(authorized_users of kernelspec 'k8s_python' (kernel.json))");
    expect((notListed as Error).message).not.toContain('GP_AUTHORIZED_USERS');
    const refused = await p.preLaunch({ env: { KERNEL_USERNAME: 'eve' } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED', details: { setting: "unauthorized_users of kernelspec 'k8s_python' (kernel.json)" } });
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).resolves.toMatchObject({ username: 'alice' });
    await p.cleanup();
    // The host's lists are named by their variables.
    const host = await make({ hostEnv: { GP_NAMESPACE: 'kernels', GP_AUTHORIZED_USERS: 'carol' } }).preLaunch({ env: { KERNEL_USERNAME: 'bob' } }).catch((e: unknown) => e);
    expect(host).toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED', details: { setting: 'GP_AUTHORIZED_USERS' } });
  });

  it('leaves KERNEL_NAMESPACE unset in automatic mode (the launcher creates the namespace)', async () => {
    const p = make({ hostEnv: { GP_SHARED_NAMESPACE: 'false' } });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    expect(prepared).toMatchObject({ namespaceMode: 'auto', namespace: `alice-${KERNEL_ID}` });
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

describe('host settings (GP_*) in preLaunch', () => {
  const CONFIG = { image_name: 'elyra/kernel-py:3.2.3', launch_timeout: 30 };
  // A kernelspec with an image but neither launch_timeout nor port_range: those come from the host.
  const hostOnly = (): KernelSpecLike => gpSpec('launch_kubernetes.mjs', { image_name: CONFIG.image_name });

  async function configErrorOf(p: KubernetesProvisioner): Promise<ConfigError> {
    const e = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(['soon', '0', '-5'])('refuses GP_LAUNCH_TIMEOUT=%s naming the variable, before registering with the listener', async (bad) => {
    const register = vi.spyOn(listener, 'register');
    const e = await configErrorOf(make({ kernelSpec: hostOnly(), hostEnv: { GP_LAUNCH_TIMEOUT: bad } }));
    expect(e.message).toContain('environment variable GP_LAUNCH_TIMEOUT');
    expect(e.httpStatus).toBe(400);
    expect(register).not.toHaveBeenCalled();
  });

  it('uses the host\'s launch timeout when the kernelspec has none: GP_LAUNCH_TIMEOUT, the host KERNEL_LAUNCH_TIMEOUT, GP_KERNEL_LAUNCH_TIMEOUT', async () => {
    for (const [hostEnv, seconds] of [
      [{ GP_LAUNCH_TIMEOUT: '75' }, 75],
      [{ KERNEL_LAUNCH_TIMEOUT: '65' }, 65],
      [{ GP_KERNEL_LAUNCH_TIMEOUT: '120' }, 120],
      [{}, 30],
    ] as const) {
      const p = make({ kernelSpec: hostOnly(), hostEnv });
      await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).resolves.toMatchObject({ launchTimeout: { seconds, source: 'configured' } });
      await p.cleanup();
    }
  });

  it('refuses a client KERNEL_LAUNCH_TIMEOUT of 0 or -5 as bad input (400), before registering', async () => {
    const register = vi.spyOn(listener, 'register');
    for (const bad of ['0', '-5', 'soon']) {
      const e = await make().preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_LAUNCH_TIMEOUT: bad } }).catch((error: unknown) => error);
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).message).toContain('request variable KERNEL_LAUNCH_TIMEOUT');
      expect((e as ConfigError).httpStatus).toBe(400);
    }
    expect(register).not.toHaveBeenCalled();
  });

  it('names GP_PORT_RANGE (not a command-line flag) when the host\'s port range is bad', async () => {
    const e = await configErrorOf(make({ kernelSpec: hostOnly(), hostEnv: { GP_PORT_RANGE: '5..6' } }));
    expect(e.message).toContain('environment variable GP_PORT_RANGE');
    expect(e.message).not.toContain('command-line');
  });

  it('passes GP_PORT_RANGE into the argv, and the kernelspec\'s port_range over it', async () => {
    const p = make({ kernelSpec: hostOnly(), hostEnv: { GP_PORT_RANGE: '40000..41000' } });
    expect((await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).argv).toContain('40000..41000');
    await p.cleanup();
    const q = make({ kernelSpec: gpSpec('launch_kubernetes.mjs', { image_name: CONFIG.image_name, port_range: '50000..51000' }), hostEnv: { GP_PORT_RANGE: '40000..41000' } });
    expect((await q.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).argv).toContain('50000..51000');
    await q.cleanup();
  });

  it('checks port ranges against GP_MIN_PORT_RANGE_SIZE (host and kernelspec)', async () => {
    const small = gpSpec('launch_kubernetes.mjs', { image_name: CONFIG.image_name, port_range: '40000..40100' });
    const refused = await configErrorOf(make({ kernelSpec: small, hostEnv: {} }));
    expect(refused.message).toContain('metadata.kernel_provisioner.config.port_range');
    expect(refused.message).toContain('HIGH - LOW >= 1000');
    const p = make({ kernelSpec: small, hostEnv: { GP_MIN_PORT_RANGE_SIZE: '100' } });
    expect((await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).argv).toContain('40000..40100');
    await p.cleanup();
    const q = make({ kernelSpec: hostOnly(), hostEnv: { GP_PORT_RANGE: '40000..40100', GP_MIN_PORT_RANGE_SIZE: '100' } });
    expect((await q.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).argv).toContain('40000..40100');
    await q.cleanup();
  });

  it('keeps refusing root when GP_UNAUTHORIZED_USERS is empty', async () => {
    await expect(make({ hostEnv: { GP_UNAUTHORIZED_USERS: '' } }).preLaunch({ env: { KERNEL_USERNAME: 'root' } })).rejects.toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED' });
  });

  it('lets kernel.json win over GP_IMAGE_NAME / GP_LAUNCH_TIMEOUT (the reference\'s precedence) and warns once per kernelspec', async () => {
    const logger = createMemoryLogger();
    const hostEnv = { GP_IMAGE_NAME: 'team/kernel-py:4', GP_LAUNCH_TIMEOUT: '90' };
    const warnings = () => logger.records.filter((r) => r.level === 'warn');
    for (const kernelId of [KERNEL_ID, '0b7c9e0e-5d1a-4f0e-8c3b-2a6d9f4e7c21']) {
      const p = make({ kernelId, kernelName: 'k8s_python_l7', kernelSpec: gpSpec('launch_kubernetes.mjs', CONFIG), hostEnv, logger });
      const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
      expect(prepared.env.KERNEL_IMAGE).toBe('elyra/kernel-py:3.2.3');
      expect(prepared.launchTimeout.seconds).toBe(30);
      await p.cleanup();
    }
    expect(warnings().map((r) => [r.fields.setting, r.fields.kernelspec_value, r.fields.env, r.fields.env_value])).toEqual([
      ['image_name', 'elyra/kernel-py:3.2.3', 'GP_IMAGE_NAME', 'team/kernel-py:4'],
      ['launch_timeout', '30', 'GP_LAUNCH_TIMEOUT', '90'],
    ]);
    expect(warnings()[0]!.message).toContain('remove image_name from metadata.kernel_provisioner.config');
    // Same values as the kernelspec, or another kernelspec: its own warning, nothing for equal values.
    const other = make({ kernelName: 'k8s_python_other', kernelSpec: gpSpec('launch_kubernetes.mjs', CONFIG), hostEnv: { ...hostEnv, GP_LAUNCH_TIMEOUT: '30' }, logger });
    await other.preLaunch({ env: { KERNEL_USERNAME: 'alice' } });
    await other.cleanup();
    expect(warnings().slice(2).map((r) => [r.fields.kernelspec, r.fields.setting])).toEqual([['k8s_python_other', 'image_name']]);
  });

  it('says when GP_KERNEL_LAUNCH_TIMEOUT is ignored because GP_LAUNCH_TIMEOUT comes first', async () => {
    const logger = createMemoryLogger();
    const p = make({ kernelName: 'k8s_python_helm', kernelSpec: hostOnly(), hostEnv: { GP_LAUNCH_TIMEOUT: '60', GP_KERNEL_LAUNCH_TIMEOUT: '120' }, logger });
    expect((await p.preLaunch({ env: { KERNEL_USERNAME: 'alice' } })).launchTimeout.seconds).toBe(60);
    await p.cleanup();
    expect(logger.records.filter((r) => r.level === 'warn').map((r) => r.fields)).toEqual([
      expect.objectContaining({ env: 'GP_KERNEL_LAUNCH_TIMEOUT', env_value: '120', used: 'GP_LAUNCH_TIMEOUT' }),
    ]);
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

describe('a Spark kernelspec run by bin/run.sh (spawned)', () => {
  const sparkSpec = (): KernelSpecLike => ({
    argv: ['/specs/spark_python/bin/run.sh', '--kernel-id', '{kernel_id}', '--response-address', '{response_address}', '--public-key', '{public_key}'],
    env: {
      SPARK_HOME: '/opt/spark',
      SPARK_OPTS: '--master k8s://https://${KUBERNETES_SERVICE_HOST}:443 --name ${KERNEL_USERNAME}-${KERNEL_ID} --conf spark.kubernetes.driver.container.image=${KERNEL_IMAGE} ${KERNEL_EXTRA_SPARK_OPTS}',
    },
    language: 'Python',
    metadata: { kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: 'img:1', launch_timeout: 30 } } },
  });

  it("hands run.sh the admin's and the client's options split into one argument per line (a username with a space is one)", async () => {
    const p = make({ kernelSpec: sparkSpec(), hostEnv: { GP_NAMESPACE: 'kernels', KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'john doe', KERNEL_EXTRA_SPARK_OPTS: "--conf 'spark.app.tag=a b' --conf spark.x=*" } });
    expect(prepared.mode).toBe('spawn');
    expect(prepared.env.GP_SPARK_SUBMIT_ARGS!.split('\n')).toEqual([
      '--master', 'k8s://https://10.0.0.1:443', '--name', `john doe-${KERNEL_ID}`, '--conf', 'spark.kubernetes.driver.container.image=img:1', '--conf', 'spark.app.tag=a b', '--conf', 'spark.x=*',
    ]);
    await p.cleanup();
  });

  it("refuses a client's admin-owned Spark setting with a 403 naming it", async () => {
    const p = make({ kernelSpec: sparkSpec() });
    await expect(p.preLaunch({ env: { KERNEL_USERNAME: 'alice', KERNEL_EXTRA_SPARK_OPTS: '--conf spark.kubernetes.driver.podTemplateFile=/etc/passwd' } })).rejects.toMatchObject({
      code: 'GP_SPARK_OPTION_NOT_ALLOWED',
      httpStatus: 403,
      details: { refused: ['spark.kubernetes.driver.podTemplateFile'] },
    });
  });
});
