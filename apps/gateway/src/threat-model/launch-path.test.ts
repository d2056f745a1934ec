/**
 * Threat model, launch path (README.md here, section L), the parts that need no cluster: what a client's kernel
 * request may carry. The k8s half is launch-path.k8s.test.ts; protocol attacks are tested beside
 * packages/core/src/protocol and packages/launcher/src/kernel-side.
 */
import { AuthorizationError, ConfigError } from '@gp/core';
import { readHostSettings, resolveLaunch } from '@gp/launcher';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_ENV, GUARDED_ENV, MOUNT_BEARING_ENV } from '../options.js';
import { checkKernelEnv, parseStartKernelBody, screenKernelEnv } from '../policy.js';

function refusal(fn: () => unknown): AuthorizationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuthorizationError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('threat: a wildcard in --allowed-env grants mounts or admin-only settings', () => {
  it('--allowed-env=KERNEL_* does not let a client mount a Secret through KERNEL_VOLUMES, nor pick its namespace or image', () => {
    const volumes = JSON.stringify([{ name: 's', secret: { secretName: 'gateway-token' } }]);
    const e = refusal(() => checkKernelEnv({ KERNEL_VOLUMES: volumes, KERNEL_NAMESPACE: 'kube-system', KERNEL_IMAGE: 'evil' }, ['KERNEL_*']));
    expect(e.httpStatus).toBe(403);
    expect(e.details.refused).toEqual(['KERNEL_NAMESPACE', 'KERNEL_IMAGE']);
    // Mount-bearing variables the wildcard does not reach are dropped: never mounted (a host path is refused).
    const screened = screenKernelEnv({ KERNEL_VOLUMES: volumes, KERNEL_VOLUME_MOUNTS: '[]', KERNEL_SPARKAPP_CONFIG_MAP: 'cm' }, ['KERNEL_*']);
    expect(screened.env).toEqual({});
    expect(screened.dropped.map((d) => d.name)).toEqual(['KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS', 'KERNEL_SPARKAPP_CONFIG_MAP']);
    const hostPath = refusal(() => checkKernelEnv({ KERNEL_VOLUMES: JSON.stringify([{ name: 'h', hostPath: { path: '/var/run' } }]) }, ['KERNEL_*']));
    expect(hostPath.message).toContain('KERNEL_VOLUMES names a host path: only listing by name allows it, never a wildcard');
    // Other KERNEL_* names still pass the wildcard, and naming a guarded variable allows it.
    expect(checkKernelEnv({ KERNEL_CPUS: '1', KERNEL_FOO: 'x' }, ['KERNEL_*'])).toEqual({ KERNEL_CPUS: '1', KERNEL_FOO: 'x' });
    expect(checkKernelEnv({ KERNEL_VOLUMES: volumes }, ['KERNEL_*', 'KERNEL_VOLUMES'])).toEqual({ KERNEL_VOLUMES: volumes });
  });

  it('a bare * never reaches the variables of the launcher process (LD_PRELOAD, PATH)', () => {
    expect(refusal(() => checkKernelEnv({ LD_PRELOAD: '/tmp/x.so', PATH: '/tmp' }, ['*'])).details.refused).toEqual(['LD_PRELOAD', 'PATH']);
  });

  it('the mount-bearing set comes from the templates (their volume and mount lists), not a second list', () => {
    expect(MOUNT_BEARING_ENV).toEqual(expect.arrayContaining(['KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS']));
    for (const name of MOUNT_BEARING_ENV) expect(GUARDED_ENV[name]).toBe('mount-bearing');
  });
});

describe('threat: spark-submit argument injection through KERNEL_EXTRA_SPARK_OPTS (allowed by default)', () => {
  it('refuses admin-owned Spark settings with a 403 naming them, before anything is created', () => {
    expect(DEFAULT_ALLOWED_ENV).toContain('KERNEL_EXTRA_SPARK_OPTS');
    const body = JSON.stringify({
      name: 'spark_python',
      env: {
        KERNEL_EXTRA_SPARK_OPTS:
          '--conf spark.kubernetes.driver.container.image=evil:1 --conf spark.kubernetes.authenticate.driver.serviceAccountName=admin ' +
          '--conf spark.kubernetes.executor.volumes.hostPath.h.options.path=/ --conf spark.executor.instances=2',
      },
    });
    const e = refusal(() => parseStartKernelBody(body, DEFAULT_ALLOWED_ENV));
    expect(e).toMatchObject({ httpStatus: 403, code: 'GP_SPARK_OPTION_NOT_ALLOWED' });
    expect(e.details.refused).toEqual([
      'spark.kubernetes.driver.container.image',
      'spark.kubernetes.authenticate.driver.serviceAccountName',
      'spark.kubernetes.executor.volumes.hostPath.h.options.path',
    ]);
    expect(parseStartKernelBody(JSON.stringify({ env: { KERNEL_EXTRA_SPARK_OPTS: '--conf spark.executor.instances=2' } }), DEFAULT_ALLOWED_ENV).env).toEqual({
      KERNEL_EXTRA_SPARK_OPTS: '--conf spark.executor.instances=2',
    });
  });
});

describe('threat: usernames that look like root pass GP_UNAUTHORIZED_USERS=root', () => {
  const request = (username: string) => ({
    kernelId: '5a1b2c3d-0000-4000-8000-000000000000',
    portRange: '0..0',
    responseAddress: '10.0.0.5:8877',
    publicKey: 'AAAA',
    env: { KERNEL_USERNAME: username, KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1' },
    settings: readHostSettings({}),
  });
  it.each(['Root', 'ROOT', 'ｒｏｏｔ'])('refuses %j with the default list (403)', (name) => {
    expect(refusal(() => resolveLaunch(request(name)))).toMatchObject({ code: 'GP_USER_NOT_AUTHORIZED', httpStatus: 403 });
  });
  it.each([' root', 'root ', 'root\n', 'ro\u200bot'])('refuses %j as a malformed username (400 naming KERNEL_USERNAME)', (name) => {
    expect(() => resolveLaunch(request(name))).toThrow(ConfigError);
    expect(() => resolveLaunch(request(name))).toThrow(/KERNEL_USERNAME/);
  });
  it('still launches for a username with an inner space', () => {
    expect(resolveLaunch(request('john doe')).username).toBe('john doe');
  });
});
