import { describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWED_ENV } from './options.js';
import { checkKernelEnv, isEnvAllowed, parseStartKernelBody } from './policy.js';

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

  it('refuses with 403 naming every disallowed variable and which are admin-only', () => {
    let error: unknown;
    try {
      checkKernelEnv({ KERNEL_USERNAME: 'bob', KERNEL_NAMESPACE: 'kube-system', KERNEL_FOO: 'x' }, DEFAULT_ALLOWED_ENV);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'GP_ENV_NOT_ALLOWED', httpStatus: 403, details: { refused: ['KERNEL_NAMESPACE', 'KERNEL_FOO'] } });
    expect((error as Error).message).toMatch(/does not let clients set KERNEL_NAMESPACE, KERNEL_FOO \(KERNEL_NAMESPACE is admin-only\)/);
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
    });
    expect(parseStartKernelBody('', DEFAULT_ALLOWED_ENV)).toEqual({ env: {} });
  });

  it('answers bad JSON and bad shapes with 400', () => {
    expect(() => parseStartKernelBody('{nope', DEFAULT_ALLOWED_ENV)).toThrow(expect.objectContaining({ code: 'GP_BAD_REQUEST', httpStatus: 400 }));
    expect(() => parseStartKernelBody('[1]', DEFAULT_ALLOWED_ENV)).toThrow(/must be a JSON object/);
    expect(() => parseStartKernelBody('{"name": 3}', DEFAULT_ALLOWED_ENV)).toThrow(/"name" must be a kernelspec name .*got 3/);
  });
});
