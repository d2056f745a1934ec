import { describe, expect, it } from 'vitest';
import { inClusterHost, launcherSpawnEnv } from './spawn-env.js';

const host = {
  PATH: '/usr/bin',
  HOME: '/home/gw',
  LANG: 'C.UTF-8',
  GP_GATEWAY_TOKEN: 'secret-token',
  GP_NAMESPACE: 'kernels',
  KUBECONFIG: '/home/gw/.kube/config',
  KUBERNETES_SERVICE_HOST: '10.0.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  AWS_SECRET_ACCESS_KEY: 'aws',
};

describe('launcherSpawnEnv', () => {
  it('gives a spawned launcher the kernel env, the runtime and setting variables and a launch-scoped kubeconfig, nothing else', () => {
    const env = launcherSpawnEnv({ hostEnv: host, kernelEnv: { KERNEL_ID: 'k', SPEC_VAR: 'x' }, kubeconfigPath: '/tmp/gp-launcher-kube-1/kubeconfig' });
    expect(env).toEqual({
      PATH: '/usr/bin',
      LANG: 'C.UTF-8',
      GP_NAMESPACE: 'kernels',
      KERNEL_ID: 'k',
      SPEC_VAR: 'x',
      KUBECONFIG: '/tmp/gp-launcher-kube-1/kubeconfig',
    });
  });

  it('in a pod: the in-cluster address instead of a kubeconfig; a request cannot redirect cluster access', () => {
    const env = launcherSpawnEnv({ hostEnv: host, kernelEnv: { KERNEL_ID: 'k', KUBECONFIG: '/evil', KUBERNETES_SERVICE_HOST: 'evil' } });
    expect(env.KUBECONFIG).toBeUndefined();
    expect(env).toMatchObject({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', KERNEL_ID: 'k' });
    expect(Object.keys(env)).not.toContain('GP_GATEWAY_TOKEN');
  });

  it('is in-cluster only without a kubeconfig of any kind', () => {
    expect(inClusterHost({ KUBERNETES_SERVICE_HOST: 'h' }, false, true)).toBe(true);
    expect(inClusterHost({ KUBERNETES_SERVICE_HOST: 'h', KUBECONFIG: '/k' }, false, true)).toBe(false);
    expect(inClusterHost({ KUBERNETES_SERVICE_HOST: 'h' }, true, true)).toBe(false);
    expect(inClusterHost({ KUBERNETES_SERVICE_HOST: 'h' }, false, false)).toBe(false);
  });
});
