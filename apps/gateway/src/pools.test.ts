import { ConfigError } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { resolveGatewaySettings } from './options.js';
import { parsePoolEntries } from './pools.js';

const ctx = { option: 'kernel-pools', source: { kind: 'flag' as const, name: '--kernel-pools' } };

describe('--kernel-pools', () => {
  it('reads KERNELSPEC=SIZE and KERNELSPEC=SIZE@USER, from a string or a list', () => {
    expect(parsePoolEntries('k8s_python=5, k8s_r=2@alice', ctx)).toEqual([{ kernelspec: 'k8s_python', size: 5 }, { kernelspec: 'k8s_r', size: 2, user: 'alice' }]);
    expect(parsePoolEntries(['k8s_python=1@bob'], ctx)).toEqual([{ kernelspec: 'k8s_python', size: 1, user: 'bob' }]);
    expect(parsePoolEntries([{ kernelspec: 'k8s_python', size: 3 }], ctx)).toEqual([{ kernelspec: 'k8s_python', size: 3 }]);
  });

  it.each(['k8s_python', 'k8s_python=0', 'k8s_python=101', 'k8s_python=x', '=3', 'k8s_python=2,k8s_python=3'])('refuses %j naming the value and the form', (raw) => {
    expect(() => parsePoolEntries(raw, ctx)).toThrow(ConfigError);
    expect(() => parsePoolEntries(raw, ctx)).toThrow(/KERNELSPEC=SIZE/);
  });

  it('is an option of the gateway (env GP_GATEWAY_KERNEL_POOLS, default none) with --kernel-pool-max-age', () => {
    expect(resolveGatewaySettings({ env: { GP_GATEWAY_KERNEL_POOLS: 'k8s_python=2' } })).toMatchObject({ kernel_pools: [{ kernelspec: 'k8s_python', size: 2 }], kernel_pool_max_age: 3600 });
    expect(resolveGatewaySettings({ env: {} }).kernel_pools).toEqual([]);
  });
});
