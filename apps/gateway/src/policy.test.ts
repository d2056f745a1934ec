import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_ENV } from './options.js';
import { checkKernelEnv, isEnvAllowed, parseStartKernelBody, screenKernelEnv } from './policy.js';

describe('isEnvAllowed', () => {
  it('allows listed names and PREFIX* matches', () => {
    expect(isEnvAllowed('KERNEL_USERNAME', ['KERNEL_USERNAME'])).toBe(true);
    expect(isEnvAllowed('KERNEL_EXTRA_X', ['KERNEL_EXTRA_*'])).toBe(true);
    expect(isEnvAllowed('KERNEL_OTHER', ['KERNEL_EXTRA_*'])).toBe(false);
  });

  it('never lets a prefix match an admin-only variable; naming it does', () => {
    for (const name of ['KERNEL_NAMESPACE', 'KERNEL_SERVICE_ACCOUNT_NAME', 'KERNEL_UID', 'KERNEL_GID', 'KERNEL_IMAGE', 'KERNEL_EXECUTOR_IMAGE']) {
      expect(isEnvAllowed(name, ['KERNEL_*'])).toBe(false);
      expect(isEnvAllowed(name, DEFAULT_ALLOWED_ENV)).toBe(false);
      expect(isEnvAllowed(name, [name])).toBe(true);
    }
  });
});

describe('checkKernelEnv', () => {
  it('passes allowed variables, stringifying numbers and booleans', () => {
    expect(checkKernelEnv({ KERNEL_USERNAME: 'alice', KERNEL_LAUNCH_TIMEOUT: 40 }, DEFAULT_ALLOWED_ENV)).toEqual({
      KERNEL_USERNAME: 'alice',
      KERNEL_LAUNCH_TIMEOUT: '40',
    });
    expect(checkKernelEnv(undefined, DEFAULT_ALLOWED_ENV)).toEqual({});
  });

  it('refuses with 403 naming every refused variable and which are admin-only', () => {
    let error: unknown;
    try {
      checkKernelEnv({ KERNEL_USERNAME: 'bob', KERNEL_NAMESPACE: 'kube-system', KERNEL_FOO: 'x', LD_PRELOAD: '/tmp/x.so' }, DEFAULT_ALLOWED_ENV);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'GP_ENV_NOT_ALLOWED', httpStatus: 403, details: { refused: ['KERNEL_NAMESPACE', 'LD_PRELOAD'] } });
    expect((error as Error).message).toMatch(/does not let clients set KERNEL_NAMESPACE, LD_PRELOAD \(KERNEL_NAMESPACE is admin-only/);
  });

  it('drops, rather than refuses, what Jupyter Server forwards from an ordinary environment', () => {
    const volumes = JSON.stringify([{ name: 'work', persistentVolumeClaim: { claimName: 'alice-work' } }]);
    const screened = screenKernelEnv(
      { KERNEL_USERNAME: 'alice', KERNEL_FOO: '1', KERNEL_VOLUMES: volumes, KERNEL_VOLUME_MOUNTS: '[]', KERNEL_NAMESPACE: 'team-a' },
      DEFAULT_ALLOWED_ENV,
      { namespace: 'team-a' },
    );
    expect(screened.env).toEqual({ KERNEL_USERNAME: 'alice' });
    expect(screened.dropped).toEqual([
      { name: 'KERNEL_FOO', why: 'unlisted' },
      { name: 'KERNEL_VOLUMES', why: 'mount-bearing' },
      { name: 'KERNEL_VOLUME_MOUNTS', why: 'mount-bearing' },
      { name: 'KERNEL_NAMESPACE', why: 'same-namespace' },
    ]);
  });

  it('still refuses host paths, another namespace, and identity or image choices', () => {
    const hostPath = JSON.stringify([{ name: 'root', hostPath: { path: '/' } }]);
    for (const [env, refused] of [
      [{ KERNEL_VOLUMES: hostPath }, ['KERNEL_VOLUMES']],
      [{ KERNEL_VOLUMES: "- {name: root, host_path: {path: /}}" }, ['KERNEL_VOLUMES']],
      [{ KERNEL_NAMESPACE: 'kube-system' }, ['KERNEL_NAMESPACE']],
      [{ KERNEL_NAMESPACE: 'default' }, ['KERNEL_NAMESPACE']],
      [{ KERNEL_UID: '0', KERNEL_IMAGE: 'evil:1', KERNEL_SERVICE_ACCOUNT_NAME: 'admin' }, ['KERNEL_UID', 'KERNEL_IMAGE', 'KERNEL_SERVICE_ACCOUNT_NAME']],
    ] as const) {
      expect(() => screenKernelEnv(env, DEFAULT_ALLOWED_ENV, { namespace: 'team-a' })).toThrow(expect.objectContaining({ code: 'GP_ENV_NOT_ALLOWED', details: expect.objectContaining({ refused }) }));
    }
    // Without a configured namespace, the gateway's is `default`.
    expect(screenKernelEnv({ KERNEL_NAMESPACE: 'default' }, DEFAULT_ALLOWED_ENV).dropped).toEqual([{ name: 'KERNEL_NAMESPACE', why: 'same-namespace' }]);
  });

  it('rejects a non-object env or non-scalar values with 400', () => {
    expect(() => checkKernelEnv(['KERNEL_USERNAME'], DEFAULT_ALLOWED_ENV)).toThrow(expect.objectContaining({ httpStatus: 400, message: expect.stringMatching(/got an array/) }));
    expect(() => checkKernelEnv({ KERNEL_USERNAME: { a: 1 } }, DEFAULT_ALLOWED_ENV)).toThrow(/KERNEL_USERNAME must be a string, got object/);
  });
});

describe('parseStartKernelBody', () => {
  it('reads name and env; an empty body means the default kernelspec', () => {
    expect(parseStartKernelBody('{"name":"k8s_python","env":{"KERNEL_USERNAME":"alice"}}', DEFAULT_ALLOWED_ENV)).toEqual({
      name: 'k8s_python',
      env: { KERNEL_USERNAME: 'alice' },
      dropped: [],
    });
    expect(parseStartKernelBody('', DEFAULT_ALLOWED_ENV)).toEqual({ env: {}, dropped: [] });
  });

  it('answers bad JSON and bad shapes with 400', () => {
    expect(() => parseStartKernelBody('{nope', DEFAULT_ALLOWED_ENV)).toThrow(expect.objectContaining({ code: 'GP_BAD_REQUEST', httpStatus: 400 }));
    expect(() => parseStartKernelBody('[1]', DEFAULT_ALLOWED_ENV)).toThrow(/must be a JSON object/);
    expect(() => parseStartKernelBody('{"name": 3}', DEFAULT_ALLOWED_ENV)).toThrow(/"name" must be a kernelspec name .*got 3/);
  });
});
