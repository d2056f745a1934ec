/**
 * The helm CLI's cache key, and the Go-binary cache that builds it (and the control plane): built once,
 * found afterwards, one build for concurrent callers, a failed build reported with Go's output.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterBuildError, clusterBinaryKey, ensureGoBinary } from './binary.js';
import { helmBinaryKey, helmLdflags, helmVersion } from './helm.js';

describe('helm binary key', () => {
  it('names the helm.sh/helm/v4 version of the module and differs from the control plane key', () => {
    expect(helmVersion()).toBe('v4.3.2');
    expect(helmBinaryKey()).toMatch(/^helm-v4\.3\.2-[0-9a-f]{12}$/);
    expect(helmBinaryKey()).not.toBe(clusterBinaryKey());
    expect(helmLdflags()).toContain('-X helm.sh/helm/v4/internal/version.version=v4.3.2');
  });
});

function goModule(main: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gp-gobin-'));
  writeFileSync(join(dir, 'go.mod'), 'module example.com/hello\n\ngo 1.26.0\n');
  writeFileSync(join(dir, 'main.go'), main);
  return dir;
}

describe('ensureGoBinary', () => {
  it('builds once into <cache>/<key>/<name>, then finds it; concurrent callers share one build', async () => {
    const moduleDir = goModule('package main\n\nfunc main() { println("hello") }\n');
    const cacheDir = mkdtempSync(join(tmpdir(), 'gp-gobin-cache-'));
    const spec = { name: 'hello', moduleDir, key: 'hello-1', ldflags: '-s -w', what: 'a test' };
    const lines: string[] = [];
    const [a, b] = await Promise.all([ensureGoBinary(spec, { cacheDir, log: (l) => lines.push(l) }), ensureGoBinary(spec, { cacheDir, log: (l) => lines.push(l) })]);
    expect(a.path).toBe(join(cacheDir, 'hello-1', 'hello'));
    expect(b.path).toBe(a.path);
    expect([a.built, b.built].filter(Boolean)).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('building hello'))).toHaveLength(1);
    expect((await ensureGoBinary(spec, { cacheDir, log: () => {} })).built).toBe(false);
  }, 120_000);

  it('reports a failed build with Go\'s output', async () => {
    const moduleDir = goModule('package main\n\nfunc main() { undefinedThing() }\n');
    const cacheDir = mkdtempSync(join(tmpdir(), 'gp-gobin-cache-'));
    const built = ensureGoBinary({ name: 'broken', moduleDir, key: 'broken-1', ldflags: '', what: 'a test' }, { cacheDir, log: () => {} });
    await expect(built).rejects.toBeInstanceOf(ClusterBuildError);
    await expect(built).rejects.toThrow(/undefined: undefinedThing/);
  }, 120_000);
});
