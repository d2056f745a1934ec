import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { KERNEL_ENV, kernelEnvMarkdown, kernelEnvNames, kernelEnvVariable, parseKernelEnv } from './kernel-env.js';

describe('the KERNEL_* catalogue', () => {
  it('names each variable once, every one KERNEL_*', () => {
    const names = KERNEL_ENV.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^KERNEL_[A-Z0-9_]+$/);
  });
  it('says who may set each: the admin-only ones choose where and as whom a kernel runs', () => {
    expect(kernelEnvNames((v) => v.setBy === 'admin' && !v.mounts)).toEqual([
      'KERNEL_NAMESPACE',
      'KERNEL_SERVICE_ACCOUNT_NAME',
      'KERNEL_UID',
      'KERNEL_GID',
      'KERNEL_IMAGE',
      'KERNEL_EXECUTOR_IMAGE',
      'KERNEL_CLUSTER_ROLE',
      'KERNEL_ID',
    ]);
    expect(kernelEnvNames((v) => v.mounts === true)).toEqual(['KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS', 'KERNEL_SPARKAPP_CONFIG_MAP']);
    // Only client-settable variables are allowed by default.
    for (const v of KERNEL_ENV) if (v.allowedByDefault) expect(v.setBy).toBe('client');
  });
  it('parses with the variable parser, errors naming the variable (or the option given)', () => {
    expect(parseKernelEnv('KERNEL_UID', ' 00 ')).toBe(0);
    expect(parseKernelEnv('KERNEL_IMAGE', ' elyra/kernel-py:3.2.3 ')).toBe('elyra/kernel-py:3.2.3');
    expect(() => parseKernelEnv('KERNEL_UID', 'root')).toThrow(ConfigError);
    expect(() => parseKernelEnv('KERNEL_UID', 'root')).toThrow(/KERNEL_UID/);
    expect(() => parseKernelEnv('KERNEL_NAMESPACE', 'Team_A', { kind: 'env', name: 'GP_NAMESPACE' }, 'GP_NAMESPACE')).toThrow(/GP_NAMESPACE.*DNS-1123 label/);
    expect(() => parseKernelEnv('KERNEL_MEMORY', '-1Gi')).toThrow(/non-negative Kubernetes quantity/);
    expect(parseKernelEnv('KERNEL_POD_NAME', 'as is')).toBe('as is');
    expect(kernelEnvVariable('KERNEL_NOT_A_THING')).toBeUndefined();
  });
  it('renders the docs table with one row per variable', () => {
    const rows = kernelEnvMarkdown().split('\n');
    expect(rows.length).toBe(KERNEL_ENV.length + 2);
    expect(rows).toContain(rows.find((r) => r.startsWith('| `KERNEL_UID` | admin only |')));
  });
});

describe('the contract README', () => {
  it('carries the table rendered from the catalogue', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`${kernelEnvMarkdown()}\n`);
  });
});
