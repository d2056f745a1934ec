import { ConfigError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { rbacManifests, resolveOptions, type RbacOptions } from './index.js';

function errorOf(options: RbacOptions): ConfigError {
  try {
    resolveOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`no error for ${JSON.stringify(options)}`);
}

describe('resolveOptions', () => {
  it('fills the reference defaults', () => {
    expect(resolveOptions()).toEqual({
      appName: 'gateway-provisioners',
      namespace: 'default',
      serviceAccountName: 'gateway-provisioners',
      applicationRoleName: 'gateway-provisioners-controller',
      modes: ['shared'],
      byoNamespaces: [],
      sparkOperator: false,
      kernelClusterRole: 'kernel-controller',
      kernelServiceAccount: undefined,
      templateResources: [],
      extraRules: [],
      kernelStore: 'file',
    });
  });

  it('refuses an unknown kernel store, naming the value and what is valid', () => {
    expect(() => resolveOptions({ kernelStore: 'etcd' as 'file' })).toThrow(/"etcd" for kernelStore.*expected file or kubernetes/);
  });

  it('accepts mode aliases, removes duplicates and orders modes and resources', () => {
    const o = resolveOptions({ modes: ['automatic', 'shared', 'bring-your-own', 'auto'], templateResources: ['services', 'secrets', 'services'] });
    expect(o.modes).toEqual(['shared', 'byo', 'auto']);
    expect(o.templateResources).toEqual(['secrets', 'services']);
  });

  it('derives names from the app name', () => {
    const o = resolveOptions({ appName: 'eg' });
    expect([o.serviceAccountName, o.applicationRoleName]).toEqual(['eg', 'eg-controller']);
  });
});

describe('validation errors name the option, the value and what is valid', () => {
  it.each<[string, RbacOptions, string, RegExp]>([
    ['unknown mode', { modes: ['shared', 'cluster'] as never }, 'modes', /"cluster".*one of shared, byo, auto/],
    ['no mode', { modes: [] }, 'modes', /one or more of shared, byo, auto/],
    ['empty app name', { appName: '' }, 'appName', /Invalid value "" for appName.*DNS-1123 label/],
    ['upper-case namespace', { namespace: 'Team' }, 'namespace', /"Team".*DNS-1123 label/],
    ['too long app name', { appName: 'a'.repeat(64) }, 'appName', /DNS-1123 label/],
    ['bad service account', { serviceAccountName: 'my_sa' }, 'serviceAccountName', /"my_sa".*DNS-1123 subdomain/],
    ['empty kernel role', { modes: ['auto'], kernelClusterRole: '' }, 'kernelClusterRole', /GP_KERNEL_CLUSTER_ROLE/],
    ['cluster-admin kernel role', { modes: ['auto'], kernelClusterRole: 'cluster-admin' }, 'kernelClusterRole', /not the built-in ClusterRole "cluster-admin"/],
    ['system: kernel role', { kernelClusterRole: 'system:node' }, 'kernelClusterRole', /DNS-1123 subdomain/],
    ['role name clash', { appName: 'k', kernelClusterRole: 'k-controller' }, 'kernelClusterRole', /different from the application's role/],
    ['byo namespaces without byo', { byoNamespaces: ['a'] }, 'byoNamespaces', /unless mode "byo"/],
    ['byo namespaces with auto', { modes: ['byo', 'auto'], byoNamespaces: ['a'] }, 'byoNamespaces', /with mode "auto"/],
    ['bad byo namespace', { modes: ['byo'], byoNamespaces: ['a.b'] }, 'byoNamespaces', /"a\.b".*DNS-1123 label/],
    ['kernel SA in auto only', { modes: ['auto'], kernelServiceAccount: 'k' }, 'kernelServiceAccount', /launcher creates it/],
    ['kernel SA equal to app SA', { kernelServiceAccount: 'gateway-provisioners' }, 'kernelServiceAccount', /other than the application's own/],
    ['a string instead of a namespace list', { modes: ['byo'], byoNamespaces: 'team-a' as never }, 'byoNamespaces', /"team-a".*a list of namespace names/],
    ['a string instead of a resource list', { templateResources: 'secrets' as never }, 'templateResources', /a list of secrets, /],
    ['a non-boolean spark flag', { sparkOperator: 'false' as never }, 'sparkOperator', /"false".*true or false/],
    ['"default" as the kernel SA', { kernelServiceAccount: 'default' }, 'kernelServiceAccount', /not "default"/],
    ['unknown template resource', { templateResources: ['nodes'] as never }, 'templateResources', /"nodes".*one of secrets, persistentvolumeclaims, services, configmaps/],
    ['wildcard extra rule', { extraRules: [{ apiGroups: [''], resources: ['*'], verbs: ['get'] }] }, 'extraRules', /no "\*" wildcard/],
    ['extra rule without verbs', { extraRules: [{ apiGroups: [''], resources: ['pods'], verbs: [] }] }, 'extraRules', /non-empty/],
    ['non-resource URL in a Role', { extraRules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] }, 'extraRules', /cluster-wide role/],
  ])('%s', (_name, options, option, message) => {
    const error = errorOf(options);
    expect(error.code).toBe('GP_INVALID_CONFIG');
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
    expect(() => rbacManifests(options)).toThrow(ConfigError);
  });

  it('reports where a value came from when told', () => {
    const error = errorOf({ appName: 'Bad', source: (option) => ({ kind: 'flag', name: option === 'appName' ? 'app-name' : option }) });
    expect(error.message).toContain('command-line flag --app-name');
  });

  it('accepts a non-resource URL when the role is cluster-wide', () => {
    expect(resolveOptions({ modes: ['auto'], extraRules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] }).extraRules).toEqual([
      { nonResourceURLs: ['/healthz'], verbs: ['get'] },
    ]);
  });
});
