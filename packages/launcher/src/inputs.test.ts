import { AuthorizationError, ConfigError, GpError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { HOST_OPTIONS, parseIdList, readHostSettings } from './env.js';
import { type LaunchRequest, resolveLaunch } from './inputs.js';
import { isDns1123Label } from '@gp/core';

const KID = '3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c';

function request(env: Record<string, string> = {}, hostEnv: Record<string, string> = {}): LaunchRequest {
  return {
    kernelId: KID,
    portRange: '0..0',
    responseAddress: '10.0.0.5:8877',
    publicKey: 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC+abc/def==',
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'elyra/kernel-py:dev', ...env },
    settings: readHostSettings(hostEnv),
  };
}

function errorOf(fn: () => unknown): GpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GpError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('env parsing', () => {
  it('reads booleans strictly, with core\'s words; empty counts as unset', () => {
    expect(readHostSettings({ GP_SHARED_NAMESPACE: 'False' }).sharedNamespace).toBe(false);
    expect(readHostSettings({ GP_MIRROR_WORKING_DIRS: 'yes' }).mirrorWorkingDirs).toBe(true);
    expect(readHostSettings({ GP_SHARED_NAMESPACE: '' }).sharedNamespace).toBe(true);
    expect(() => readHostSettings({ GP_SHARED_NAMESPACE: 'maybe' })).toThrow(/GP_SHARED_NAMESPACE/);
  });
  it('parses prohibited ids fail-closed', () => {
    expect(parseIdList('GP_PROHIBITED_UIDS', undefined, [0])).toEqual([0]);
    expect(parseIdList('GP_PROHIBITED_UIDS', '0, 65534', [0])).toEqual([0, 65534]);
    expect(() => parseIdList('GP_PROHIBITED_UIDS', '0,root', [0])).toThrow(/GP_PROHIBITED_UIDS/);
    expect(() => readHostSettings({ GP_PROHIBITED_GIDS: '-1' })).toThrow(ConfigError);
    expect(() => readHostSettings({ GP_PROHIBITED_GIDS: '-1' })).toThrow(/GP_PROHIBITED_GIDS/);
    expect(() => readHostSettings({ GP_APP_NAME: 'my app' })).toThrow(/GP_APP_NAME/);
    // An empty list is unset, not "nobody is prohibited".
    expect(readHostSettings({ GP_PROHIBITED_UIDS: '' }).prohibitedUids).toEqual([0]);
    expect(readHostSettings({ GP_PROHIBITED_UIDS: '1, 2' }).prohibitedUids).toEqual([1, 2]);
  });
  it('refuses blank names instead of defaulting them', () => {
    expect(() => readHostSettings({ GP_NAMESPACE: '   ' })).toThrow(/GP_NAMESPACE/);
    expect(readHostSettings({ GP_NAMESPACE: ' kernels ' }).namespace).toBe('kernels');
  });
  it('has the documented defaults', () => {
    const s = readHostSettings({});
    expect(s).toMatchObject({
      sharedNamespace: true,
      namespace: 'default',
      kernelClusterRole: 'kernel-controller',
      defaultServiceAccountName: 'default',
      appName: 'gateway-provisioners',
      authorizedUsers: [],
      unauthorizedUsers: ['root'],
      prohibitedUids: [0],
      prohibitedGids: [0],
      mirrorWorkingDirs: false,
      allowClientNamespace: false,
      allowHostPathVolumes: false,
      portRange: { lower: 0, upper: 0, disabled: true },
      minPortRangeSize: 1000,
      launchTimeout: 30,
      setBy: {},
    });
    expect(s.imageName).toBeUndefined();
  });
  it('reads the provisioner settings through @gp/core\'s shared definitions', () => {
    expect(HOST_OPTIONS.options.unauthorized_users.env).toEqual(['GP_UNAUTHORIZED_USERS']);
    const s = readHostSettings({
      GP_AUTHORIZED_USERS: 'alice, bob',
      GP_UNAUTHORIZED_USERS: 'root,eve',
      GP_PORT_RANGE: '40000..41000',
      GP_LAUNCH_TIMEOUT: '90',
      GP_IMAGE_NAME: 'elyra/kernel-py:3.2.3',
      GP_EXECUTOR_IMAGE_NAME: 'x/exec:1',
    });
    expect(s).toMatchObject({
      authorizedUsers: ['alice', 'bob'],
      unauthorizedUsers: ['root', 'eve'],
      portRange: { lower: 40000, upper: 41000 },
      launchTimeout: 90,
      imageName: 'elyra/kernel-py:3.2.3',
      executorImageName: 'x/exec:1',
      setBy: {
        authorized_users: 'GP_AUTHORIZED_USERS',
        unauthorized_users: 'GP_UNAUTHORIZED_USERS',
        port_range: 'GP_PORT_RANGE',
        launch_timeout: 'GP_LAUNCH_TIMEOUT',
        image_name: 'GP_IMAGE_NAME',
        executor_image_name: 'GP_EXECUTOR_IMAGE_NAME',
      },
    });
  });
  it('keeps refusing root when GP_UNAUTHORIZED_USERS is set but empty (core: empty = unset)', () => {
    expect(readHostSettings({ GP_UNAUTHORIZED_USERS: '' }).unauthorizedUsers).toEqual(['root']);
    expect(errorOf(() => resolveLaunch(request({ KERNEL_USERNAME: 'root' }, { GP_UNAUTHORIZED_USERS: '' }))).code).toBe('GP_USER_NOT_AUTHORIZED');
    // Replaced only by an explicit list, as core defines it.
    expect(resolveLaunch(request({ KERNEL_USERNAME: 'root' }, { GP_UNAUTHORIZED_USERS: 'eve' })).username).toBe('root');
    expect(() => readHostSettings({ GP_UNAUTHORIZED_USERS: "['root', 'admin']" })).toThrow(/GP_UNAUTHORIZED_USERS/);
  });
  it.each(['soon', '0', '-5', '1.5'])('refuses GP_LAUNCH_TIMEOUT=%s with a ConfigError naming the variable (never 30 s)', (bad) => {
    const e = errorOf(() => readHostSettings({ GP_LAUNCH_TIMEOUT: bad }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('environment variable GP_LAUNCH_TIMEOUT');
    expect(e.message).toContain(`"${bad}"`);
  });
  it('takes the host\'s KERNEL_LAUNCH_TIMEOUT after GP_LAUNCH_TIMEOUT, and a bad one is an error too', () => {
    expect(readHostSettings({ KERNEL_LAUNCH_TIMEOUT: '45' })).toMatchObject({ launchTimeout: 45, setBy: { launch_timeout: 'KERNEL_LAUNCH_TIMEOUT' } });
    expect(readHostSettings({ GP_LAUNCH_TIMEOUT: '60', KERNEL_LAUNCH_TIMEOUT: '45' }).launchTimeout).toBe(60);
    expect(() => readHostSettings({ KERNEL_LAUNCH_TIMEOUT: 'soon' })).toThrow(/environment variable KERNEL_LAUNCH_TIMEOUT/);
  });
  it('honours the Helm chart\'s GP_KERNEL_LAUNCH_TIMEOUT last (the reference ignores it)', () => {
    expect(readHostSettings({ GP_KERNEL_LAUNCH_TIMEOUT: '120' })).toMatchObject({ launchTimeout: 120, setBy: { launch_timeout: 'GP_KERNEL_LAUNCH_TIMEOUT' } });
    expect(readHostSettings({ GP_LAUNCH_TIMEOUT: '60', GP_KERNEL_LAUNCH_TIMEOUT: '120' }).launchTimeout).toBe(60);
    expect(() => readHostSettings({ GP_KERNEL_LAUNCH_TIMEOUT: '0' })).toThrow(/environment variable GP_KERNEL_LAUNCH_TIMEOUT/);
  });
  it('names GP_PORT_RANGE when the host\'s port range is bad', () => {
    const e = errorOf(() => readHostSettings({ GP_PORT_RANGE: '5..6' }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain('environment variable GP_PORT_RANGE');
    expect(e.message).not.toContain('command-line');
  });
  it('applies GP_MIN_PORT_RANGE_SIZE to GP_PORT_RANGE', () => {
    expect(() => readHostSettings({ GP_PORT_RANGE: '40000..40100' })).toThrow(/HIGH - LOW >= 1000/);
    expect(readHostSettings({ GP_PORT_RANGE: '40000..40100', GP_MIN_PORT_RANGE_SIZE: '100' })).toMatchObject({
      portRange: { lower: 40000, upper: 40100 },
      minPortRangeSize: 100,
    });
    expect(() => readHostSettings({ GP_MIN_PORT_RANGE_SIZE: 'abc' })).toThrow(/GP_MIN_PORT_RANGE_SIZE/);
  });
});

describe('--port-range', () => {
  it('validates the launcher argument', () => {
    expect(resolveLaunch({ ...request(), portRange: '0..0' }).kernelId).toBe(KID);
    expect(resolveLaunch({ ...request(), portRange: '40000..41000' }).kernelId).toBe(KID);
    for (const bad of ['abc', '1..2', '41000..40000', '40000..70000', '40000-41000', '40000..40010']) {
      const e = errorOf(() => resolveLaunch({ ...request(), portRange: bad }));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain('--port-range');
    }
  });
  it('honours the host\'s GP_MIN_PORT_RANGE_SIZE', () => {
    expect(() => resolveLaunch({ ...request(), portRange: '40000..40100' })).toThrow(ConfigError);
    expect(resolveLaunch({ ...request({}, { GP_MIN_PORT_RANGE_SIZE: '100' }), portRange: '40000..40100' }).kernelId).toBe(KID);
  });
});

describe('resolveLaunch', () => {
  it('resolves a shared-namespace launch', () => {
    const r = resolveLaunch(request());
    expect(r).toMatchObject({ namespaceMode: 'shared', namespace: 'default', podName: `alice-${KID}`, serviceAccountName: 'default', uid: 1000, gid: 100 });
    expect(r.podEnv).toMatchObject({
      KERNEL_ID: KID,
      KERNEL_USERNAME: 'alice',
      KERNEL_NAMESPACE: 'default',
      KERNEL_LANGUAGE: 'python',
      RESPONSE_ADDRESS: '10.0.0.5:8877',
      PORT_RANGE: '0..0',
      KERNEL_SPARK_CONTEXT_INIT_MODE: 'none',
    });
  });

  it('never takes anything but KERNEL_* from the request env', () => {
    const r = resolveLaunch(request({ KUBECONFIG: '/secret', GP_SHARED_NAMESPACE: 'false', API_TOKEN: 't' } as Record<string, string>));
    expect(Object.keys(r.podEnv).filter((k) => !k.startsWith('KERNEL_')).sort()).toEqual(['PORT_RANGE', 'PUBLIC_KEY', 'RESPONSE_ADDRESS']);
    expect(r.namespaceMode).toBe('shared');
  });

  it('announces the host\'s payload versions to the pod only when the host gives them (GP_RESPONSE_VERSIONS)', () => {
    expect(resolveLaunch(request()).podEnv.GP_RESPONSE_VERSIONS).toBeUndefined();
    expect(resolveLaunch({ ...request(), responseVersions: '2,1' }).podEnv.GP_RESPONSE_VERSIONS).toBe('2,1');
    expect(() => resolveLaunch({ ...request(), responseVersions: '2;rm -rf' })).toThrow(/GP_RESPONSE_VERSIONS.*"2,1"/);
  });

  it('uses GP_NAMESPACE in shared mode', () => {
    expect(resolveLaunch(request({}, { GP_NAMESPACE: 'kernels' })).namespace).toBe('kernels');
  });

  it('refuses KERNEL_NAMESPACE in shared mode unless the host allows client namespaces', () => {
    const e = errorOf(() => resolveLaunch(request({ KERNEL_NAMESPACE: 'other' })));
    expect(e).toBeInstanceOf(AuthorizationError);
    expect(e.code).toBe('GP_NAMESPACE_NOT_ALLOWED');
    expect(e.httpStatus).toBe(403);
    // the shared namespace itself is fine
    expect(resolveLaunch(request({ KERNEL_NAMESPACE: 'default' })).namespaceMode).toBe('shared');
    const allowed = resolveLaunch(request({ KERNEL_NAMESPACE: 'other', KERNEL_SERVICE_ACCOUNT_NAME: 'sa' }, { GP_ALLOW_CLIENT_NAMESPACE: 'true' }));
    expect(allowed).toMatchObject({ namespaceMode: 'byo', namespace: 'other', serviceAccountName: 'sa' });
  });

  it('refuses a client service account in the shared namespace', () => {
    expect(errorOf(() => resolveLaunch(request({ KERNEL_SERVICE_ACCOUNT_NAME: 'admin' }))).code).toBe('GP_SERVICE_ACCOUNT_NOT_ALLOWED');
  });

  it('brings your own namespace with GP_SHARED_NAMESPACE=false', () => {
    const r = resolveLaunch(request({ KERNEL_NAMESPACE: 'team-a', KERNEL_SERVICE_ACCOUNT_NAME: 'kernels' }, { GP_SHARED_NAMESPACE: 'false' }));
    expect(r).toMatchObject({ namespaceMode: 'byo', namespace: 'team-a', serviceAccountName: 'kernels' });
    const e = errorOf(() => resolveLaunch(request({ KERNEL_NAMESPACE: 'team-a' }, { GP_SHARED_NAMESPACE: 'false' })));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/KERNEL_SERVICE_ACCOUNT_NAME/);
  });

  it('creates an automatic namespace named like the pod', () => {
    const r = resolveLaunch(request({ KERNEL_USERNAME: 'Bob.Smith' }, { GP_SHARED_NAMESPACE: 'false' }));
    expect(r).toMatchObject({ namespaceMode: 'auto', namespace: `bob-smith-${KID}`, podName: `bob-smith-${KID}`, serviceAccountName: 'kernel' });
  });

  it.each([
    ['KERNEL_NAMESPACE', 'Team.A'],
    ['KERNEL_NAMESPACE', 'a\nkind: Secret'],
    ['KERNEL_SERVICE_ACCOUNT_NAME', 'Admin'],
  ])('rejects invalid %s=%j', (name, v) => {
    const e = errorOf(() => resolveLaunch(request({ [name]: v, KERNEL_NAMESPACE: name === 'KERNEL_NAMESPACE' ? v : 'ns' }, { GP_SHARED_NAMESPACE: 'false' })));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toContain(name);
  });

  it('keeps 200-character usernames within a DNS label', () => {
    const r = resolveLaunch(request({ KERNEL_USERNAME: 'X'.repeat(200) }, { GP_SHARED_NAMESPACE: 'false' }));
    expect(isDns1123Label(r.podName)).toBe(true);
    expect(isDns1123Label(r.namespace)).toBe(true);
  });

  it('sanitizes KERNEL_POD_NAME', () => {
    expect(resolveLaunch(request({ KERNEL_POD_NAME: 'My.Pod' })).podName).toBe('my-pod');
    expect(errorOf(() => resolveLaunch(request({ KERNEL_POD_NAME: '...' }))).message).toContain('KERNEL_POD_NAME');
  });

  it('applies user authorization', () => {
    expect(errorOf(() => resolveLaunch(request({ KERNEL_USERNAME: 'root' }))).code).toBe('GP_USER_NOT_AUTHORIZED');
    const e = errorOf(() => resolveLaunch(request({ KERNEL_USERNAME: 'mallory' }, { GP_AUTHORIZED_USERS: 'alice,bob' })));
    expect(e).toBeInstanceOf(AuthorizationError);
    expect(e.httpStatus).toBe(403);
    expect(resolveLaunch(request({}, { GP_AUTHORIZED_USERS: 'alice,bob' })).username).toBe('alice');
    // An empty GP_UNAUTHORIZED_USERS is unset (root stays refused); another list replaces root.
    expect(errorOf(() => resolveLaunch(request({ KERNEL_USERNAME: 'root' }, { GP_UNAUTHORIZED_USERS: '' }))).code).toBe('GP_USER_NOT_AUTHORIZED');
    expect(resolveLaunch(request({ KERNEL_USERNAME: 'root' }, { GP_UNAUTHORIZED_USERS: 'eve' })).username).toBe('root');
  });

  it('refuses prohibited uids and gids, compared numerically', () => {
    for (const uid of ['0', '00', '000']) expect(errorOf(() => resolveLaunch(request({ KERNEL_UID: uid }))).code).toBe('GP_UID_PROHIBITED');
    expect(errorOf(() => resolveLaunch(request({ KERNEL_GID: '0' }))).code).toBe('GP_GID_PROHIBITED');
    expect(errorOf(() => resolveLaunch(request({ KERNEL_UID: '1001' }, { GP_PROHIBITED_UIDS: '0,1001' }))).code).toBe('GP_UID_PROHIBITED');
    for (const bad of ['-1', 'root', '1e3', '0x0', '99999999999', '1000; id']) {
      expect(errorOf(() => resolveLaunch(request({ KERNEL_UID: bad }))).code).toBe('GP_INVALID_CONFIG');
    }
  });

  it('honours KERNEL_WORKING_DIR only when mirroring is on', () => {
    const off = resolveLaunch(request({ KERNEL_WORKING_DIR: '/home/alice' }));
    expect(off.workingDir).toBeUndefined();
    expect(off.podEnv.KERNEL_WORKING_DIR).toBeUndefined();
    const on = resolveLaunch(request({ KERNEL_WORKING_DIR: '/home/alice' }, { GP_MIRROR_WORKING_DIRS: 'true' }));
    expect(on.workingDir).toBe('/home/alice');
    expect(errorOf(() => resolveLaunch(request({ KERNEL_WORKING_DIR: 'relative' }, { GP_MIRROR_WORKING_DIRS: 'true' }))).code).toBe('GP_INVALID_CONFIG');
  });

  it.each([
    ['KERNEL_CPUS', '1 core'],
    ['KERNEL_CPUS', '-1'],
    ['KERNEL_MEMORY', '2GB'],
    ['KERNEL_MEMORY', '1Gi"\nkind: Secret'],
    ['KERNEL_GPUS', '0.5'],
    ['KERNEL_MEMORY_LIMIT', '{{ 7*7 }}'],
  ])('rejects %s=%j', (name, v) => {
    const e = errorOf(() => resolveLaunch(request({ [name]: v })));
    expect(e.code).toBe('GP_INVALID_CONFIG');
    expect(e.message).toContain(name);
  });

  it('rejects limits below requests', () => {
    const e = errorOf(() => resolveLaunch(request({ KERNEL_CPUS: '2', KERNEL_CPUS_LIMIT: '1500m' })));
    expect(e.message).toContain('KERNEL_CPUS_LIMIT');
    expect(errorOf(() => resolveLaunch(request({ KERNEL_MEMORY: '1Gi', KERNEL_MEMORY_LIMIT: '1G' }))).message).toContain('KERNEL_MEMORY_LIMIT');
    expect(resolveLaunch(request({ KERNEL_MEMORY: '1G', KERNEL_MEMORY_LIMIT: '1Gi' })).resources.memoryLimit?.text).toBe('1Gi');
  });

  it.each([
    ['kernelId', 'bad id'],
    ['kernelId', ''],
    ['responseAddress', 'nowhere'],
    ['responseAddress', '10.0.0.1:99999'],
    ['publicKey', 'not base64!'],
    ['portRange', '1..2'],
    ['kernelClassName', 'x; rm -rf /'],
  ] as const)('rejects argument %s=%j', (k, v) => {
    const e = errorOf(() => resolveLaunch({ ...request(), [k]: v }));
    expect(e).toBeInstanceOf(ConfigError);
  });

  it('requires a language and an image', () => {
    const r = request();
    delete r.env.KERNEL_LANGUAGE;
    const missing = errorOf(() => resolveLaunch(r)).message;
    expect(missing).toMatch(/^KERNEL_LANGUAGE is not set: expected python, r or scala; a host provisioner sets it from the kernelspec's "language"/);
    expect(missing).not.toContain('undefined');
    const r2 = request({ KERNEL_IMAGE: 'bad image' });
    expect(errorOf(() => resolveLaunch(r2)).message).toContain('KERNEL_IMAGE');
    const r3 = request();
    delete r3.env.KERNEL_IMAGE;
    expect(resolveLaunch({ ...r3, settings: readHostSettings({ GP_IMAGE_NAME: 'img:1' }) }).image).toBe('img:1');
  });
});
