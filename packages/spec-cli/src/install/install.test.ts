import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type FlagValue } from '@gp/core';
import { testPythonBin } from '@gp/testkit';
import { describe, expect, it } from 'vitest';
import { destinationFor, installKernelSpec, resolveInstallOptions } from './install.js';
import { logoPath } from './resources.js';
import type { SpecFile } from './spec.js';

/** Stand-ins for the launcher bundles and templates (the logos are this package's real ones). */
function fakeResources(root: string) {
  const dir = join(root, 'resources');
  mkdirSync(dir, { recursive: true });
  return (files: readonly SpecFile[]) => {
    const out = new Map<string, string>();
    for (const f of files) {
      if (!('from' in f)) continue;
      if (f.from.kind === 'logo') {
        out.set(f.path, logoPath(f.from.name));
        continue;
      }
      const p = join(dir, f.from.name);
      writeFileSync(p, `// ${f.from.kind} ${f.from.name}\n`);
      out.set(f.path, p);
    }
    return out;
  };
}

function flags(values: Record<string, unknown>): Record<string, FlagValue> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, flag: k.replace(/_/g, '-') }]));
}

describe('installKernelSpec', () => {
  it('installs every variant where real `jupyter kernelspec list --json` finds them with their provisioner metadata', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gp-install-'));
    const prefix = join(root, 'prefix');
    const env = { JUPYTER_CONFIG_DIR: join(root, 'cfg'), JUPYTER_DATA_DIR: join(root, 'data') };
    const lines: string[] = [];
    const logger = createLogger({ name: 'K8sSpecInstaller', write: (l) => lines.push(l) });
    const variants: Record<string, unknown>[] = [{}, { language: 'R' }, { spark: true }, { crd: true, spark: true }, { tensorflow: true }, { user: true, language: 'scala' }];
    for (const v of variants) {
      const resolved = await resolveInstallOptions({ flags: flags({ ...(v.user ? {} : { prefix }), ...v }), env, home: root });
      installKernelSpec(resolved, { env, logger, resources: fakeResources(root) });
    }
    expect(lines.filter((l) => l.includes('Installed kernelspec'))).toHaveLength(variants.length);
    expect(lines.every((l) => /^\[I \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} K8sSpecInstaller\] /.test(l))).toBe(true);
    const kernels = join(prefix, 'share', 'jupyter', 'kernels');
    expect(readdirSync(kernels).sort()).toEqual(['k8s_python', 'k8s_python_spark', 'k8s_python_spark_operator', 'k8s_python_tf', 'k8s_r']);
    expect(existsSync(join(root, 'data', 'kernels', 'k8s_scala', 'kernel.json'))).toBe(true);

    const out = execFileSync(join(testPythonBin(), 'jupyter'), ['kernelspec', 'list', '--json'], {
      env: { PATH: `${testPythonBin()}:${process.env.PATH}`, HOME: root, ...env, JUPYTER_PATH: join(prefix, 'share', 'jupyter') },
      encoding: 'utf8',
    });
    const specs = JSON.parse(out).kernelspecs as Record<string, { resource_dir: string; spec: { metadata: Record<string, unknown>; argv: string[] } }>;
    for (const name of ['k8s_python', 'k8s_python_spark', 'k8s_python_spark_operator', 'k8s_python_tf', 'k8s_r', 'k8s_scala']) {
      expect(specs[name], `${name} listed`).toBeDefined();
      const installed = JSON.parse(readFileSync(join(specs[name]!.resource_dir, 'kernel.json'), 'utf8'));
      expect(specs[name]!.spec.metadata).toEqual(installed.metadata);
      expect(specs[name]!.spec.argv).toEqual(installed.argv);
    }
    expect(specs.k8s_python_spark_operator!.spec.metadata).toMatchObject({ kernel_provisioner: { provisioner_name: 'spark-operator-provisioner' } });
  });

  it('writes nothing when an input is invalid', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gp-install-'));
    const prefix = join(root, 'prefix');
    const env = { JUPYTER_CONFIG_DIR: join(root, 'cfg') };
    const resolved = await resolveInstallOptions({ flags: flags({ prefix, kernel_name: 'no/slashes' }), env, home: root });
    expect(() => installKernelSpec(resolved, { env, resources: fakeResources(root) })).toThrow(/no\/slashes/);
    expect(existsSync(prefix)).toBe(false);
  });
});

describe('destinationFor', () => {
  it('resolves --prefix against the working directory and rejects conflicting destinations', async () => {
    const r = await resolveInstallOptions({ flags: flags({ prefix: 'rel' }), env: { JUPYTER_CONFIG_DIR: '/nonexistent' }, home: '/nonexistent' });
    expect(destinationFor(r.config.values, r.config.sources, {}, '/work')).toEqual({ kind: 'prefix', prefix: '/work/rel' });
    const both = await resolveInstallOptions({ flags: flags({ user: true, sys_prefix: true }), env: { JUPYTER_CONFIG_DIR: '/nonexistent' }, home: '/nonexistent' });
    expect(() => destinationFor(both.config.values, both.config.sources)).toThrow(/--sys-prefix together with --user/);
    const sys = await resolveInstallOptions({ flags: flags({ sys_prefix: true }), env: { JUPYTER_CONFIG_DIR: '/nonexistent' }, home: '/nonexistent' });
    expect(destinationFor(sys.config.values, sys.config.sources, { CONDA_PREFIX: '/opt/conda' })).toEqual({ kind: 'prefix', prefix: '/opt/conda' });
  });
});
