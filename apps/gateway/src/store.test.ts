import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileKernelStore, KernelStoreError, type KernelRecord } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function record(id: string): KernelRecord {
  return { kernelId: id, name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' }, provisionerInfo: { kernel_id: id, kernel_ns: 'ns' }, started: '2026-01-01T00:00:00.000Z' };
}

describe('FileKernelStore', () => {
  it('persists records across instances, private to the user, leaving no temp files', async () => {
    const path = join(dir, 'a', 'kernels.json');
    const store = new FileKernelStore(path);
    expect(await store.list()).toEqual([]);
    await store.put(record('k1'));
    await store.put(record('k2'));
    await store.delete('k1');
    const again = new FileKernelStore(path);
    expect(await again.list()).toEqual([record('k2')]);
    expect((await again.get('k2'))?.provisionerInfo.kernel_ns).toBe('ns');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'a'))).toEqual(['kernels.json']);
    expect(JSON.parse(readFileSync(path, 'utf8')).version).toBe(1);
  });

  it('keeps a launch intent (the objects to delete) across instances until the record is replaced', async () => {
    const path = join(dir, 'intent', 'kernels.json');
    const launching = { kernelId: 'k3', namespace: 'ns', namespaceMode: 'shared' as const, podName: 'alice-k3', deleteNamespace: false, objects: [{ apiVersion: 'v1', kind: 'Pod', name: 'alice-k3', namespace: 'ns' }] };
    await new FileKernelStore(path).put({ ...record('k3'), launching });
    expect((await new FileKernelStore(path).get('k3'))?.launching).toEqual(launching);
    await new FileKernelStore(path).put(record('k3'));
    expect(await new FileKernelStore(path).get('k3')).toEqual(record('k3'));
  });

  it('refuses a corrupt or foreign file with a message naming it', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    expect(() => new FileKernelStore(bad)).toThrow(KernelStoreError);
    expect(() => new FileKernelStore(bad)).toThrow(new RegExp(`${bad} is not valid JSON`));
    writeFileSync(bad, '{"kernels": []}');
    expect(() => new FileKernelStore(bad)).toThrow(/is not a gp-gateway state file/);
    writeFileSync(bad, '{"version": 1, "kernels": {"k1": {"kernelId": "other"}}}');
    expect(() => new FileKernelStore(bad)).toThrow(/malformed record for kernel k1/);
  });
});
