import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gp/core';
import { detectGpLauncher, provisionerConfig, substituteEnvValues, type KernelSpecLike } from './kernelspec.js';

const spec = (config: Record<string, unknown>): KernelSpecLike => ({ argv: [], metadata: { kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config } } });

describe('provisionerConfig', () => {
  it('reads the reference traits from metadata.kernel_provisioner.config', () => {
    expect(
      provisionerConfig(
        spec({ image_name: 'elyra/kernel-py:3.2.3', executor_image_name: 'x/exec:1', launch_timeout: 45, port_range: '40000..41000', authorized_users: ['alice', ' bob '], unauthorized_users: 'root, eve' }),
      ),
    ).toEqual({
      imageName: 'elyra/kernel-py:3.2.3',
      executorImageName: 'x/exec:1',
      launchTimeout: 45,
      portRange: '40000..41000',
      authorizedUsers: ['alice', 'bob'],
      unauthorizedUsers: ['root', 'eve'],
    });
  });

  it('accepts a kernelspec without provisioner metadata, and a launch_timeout written as a string', () => {
    expect(provisionerConfig({ argv: [] })).toEqual({});
    expect(provisionerConfig(spec({ launch_timeout: '60' }))).toEqual({ launchTimeout: 60 });
  });

  it.each([
    [{ launch_timeout: 0 }, 'launch_timeout'],
    [{ launch_timeout: 1.5 }, 'launch_timeout'],
    [{ launch_timeout: 'soon' }, 'launch_timeout'],
    [{ image_name: 42 }, 'image_name'],
    [{ authorized_users: [1] }, 'authorized_users'],
    // core's validators, as k8s-spec install: a bracketed list would stop refusing root; an image nobody can pull.
    [{ unauthorized_users: "['root', 'admin']" }, 'unauthorized_users'],
    [{ image_name: 'foo bar' }, 'image_name'],
    [{ executor_image_name: 'x"; rm -rf /' }, 'executor_image_name'],
    [{ launch_timeout: -5 }, 'launch_timeout'],
  ])('refuses %j with a ConfigError naming %s', (config, name) => {
    const error = (() => {
      try {
        provisionerConfig(spec(config));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(name);
  });
});

describe('substituteEnvValues', () => {
  it('replaces ${VAR} and $VAR from the host environment and leaves unknown names', () => {
    expect(substituteEnvValues({ A: '${HOME}/x', B: '$USER-$NOPE', C: 'plain' }, { HOME: '/home/u', USER: 'u' })).toEqual({ A: '/home/u/x', B: 'u-$NOPE', C: 'plain' });
  });
});

describe('detectGpLauncher', () => {
  it('recognizes node running gp\'s launch scripts, with the kernelspec name from <name>/scripts', () => {
    expect(detectGpLauncher(['node', '/k/k8s_python/scripts/launch_kubernetes.mjs', '--kernel-id', 'x'])).toEqual({
      kind: 'kubernetes',
      scriptDir: '/k/k8s_python/scripts',
      args: ['--kernel-id', 'x'],
      kernelName: 'k8s_python',
    });
    expect(detectGpLauncher(['/usr/bin/node', '/k/s/scripts/launch_custom_resource.mjs'])).toMatchObject({ kind: 'custom_resource', kernelName: 's' });
    expect(detectGpLauncher(['/opt/x/launch_kubernetes.mjs', '--a'])).toMatchObject({ kind: 'kubernetes', scriptDir: '/opt/x', args: ['--a'] });
    expect(detectGpLauncher(['/opt/x/launch_kubernetes.mjs'])).not.toHaveProperty('kernelName');
  });

  it('leaves everything else to be spawned (the reference\'s python launchers, wrappers)', () => {
    expect(detectGpLauncher(['python', '/k/scripts/launch_kubernetes.py', '--kernel-id', 'x'])).toBeUndefined();
    expect(detectGpLauncher(['bash', '-c', 'exec node "$0"', '/k/scripts/launch_kubernetes.mjs'])).toBeUndefined();
    expect(detectGpLauncher([])).toBeUndefined();
  });
});
