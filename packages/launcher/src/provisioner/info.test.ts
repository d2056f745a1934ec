import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gp/core';
import { checkProvisionerInfo, handleFromInfo, type ProvisionerInfo } from './info.js';

describe('handleFromInfo', () => {
  it('rebuilds the handle from gp\'s block', () => {
    const info: ProvisionerInfo = {
      kernel_id: 'k1',
      kernel_ns: 'alice-k1',
      delete_ns: true,
      gp: {
        version: 1,
        provisioner: 'kubernetes',
        namespace_mode: 'automatic',
        pod_name: 'alice-k1',
        objects: [
          { apiVersion: 'v1', kind: 'Namespace', name: 'alice-k1' },
          { apiVersion: 'v1', kind: 'Pod', name: 'alice-k1', namespace: 'alice-k1' },
        ],
      },
    };
    expect(handleFromInfo(info)).toEqual({
      kernelId: 'k1',
      namespace: 'alice-k1',
      namespaceMode: 'auto',
      podName: 'alice-k1',
      deleteNamespace: true,
      objects: info.gp!.objects,
    });
  });

  it('reads a reference provisioner\'s info (kernel_ns, delete_ns, assigned_host)', () => {
    expect(handleFromInfo({ kernel_id: 'k2', kernel_ns: 'default', delete_ns: false, assigned_host: 'bob-k2' })).toEqual({
      kernelId: 'k2',
      namespace: 'default',
      namespaceMode: 'shared',
      podName: 'bob-k2',
      deleteNamespace: false,
      objects: [{ apiVersion: 'v1', kind: 'Pod', name: 'bob-k2', namespace: 'default' }],
    });
    expect(handleFromInfo({ kernel_id: 'k3', kernel_ns: 'bob-k3', delete_ns: true, assigned_host: 'bob-k3' })?.objects.map((o) => o.kind)).toEqual(['Namespace', 'Pod']);
  });

  it('has nothing to re-attach to without a namespace or a pod name', () => {
    expect(handleFromInfo({ kernel_id: 'k' })).toBeUndefined();
    expect(handleFromInfo({ kernel_id: 'k', kernel_ns: 'default' })).toBeUndefined();
  });
});

describe('checkProvisionerInfo', () => {
  it.each([null, [], 'x', {}, { kernel_id: '' }, { kernel_id: 'k', comm_port: 70000 }, { kernel_id: 'k', gp: { version: 99 } }, { kernel_id: 'k', gp: { version: 1 } }])(
    'refuses %j',
    (v) => {
      expect(() => checkProvisionerInfo(v)).toThrow(ConfigError);
    },
  );

  it('accepts what getProvisionerInfo() writes', () => {
    const info = { kernel_id: 'k', comm_port: 5000, kernel_ns: 'ns', gp: { version: 1, provisioner: 'kubernetes', namespace_mode: 'shared', pod_name: 'p', objects: [] } };
    expect(checkProvisionerInfo(info)).toBe(info);
  });
});
