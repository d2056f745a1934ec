import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readImageTable, waitFor, WaitTimeoutError, writeImageTable } from './client.js';

describe('waitFor', () => {
  it('returns the first value that is not undefined/null/false, treating throws as "not yet"', async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls += 1;
        if (calls === 1) throw new Error('not ready');
        return calls < 3 ? false : { calls };
      },
      { intervalMs: 1 },
    );
    expect(value).toEqual({ calls: 3 });
  });

  it('times out with the description and the last error', async () => {
    const err = await waitFor(
      () => {
        throw new Error('still broken');
      },
      { timeoutMs: 20, intervalMs: 5, description: 'the moon' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).code).toBe('GP_TESTKIT_WAIT_TIMEOUT');
    expect((err as Error).message).toMatch(/waiting for the moon; last error: still broken/);
  });
});

describe('image table', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through the JSON file the process node reads', () => {
    dir = mkdtempSync(join(tmpdir(), 'gp-images-'));
    const path = join(dir, 'images.json');
    expect(readImageTable(path)).toEqual({});
    writeImageTable(path, { busybox: { args: ['sh'] }, 'k/kernel': { command: ['python'], env: { A: '1' }, workingDir: '/tmp' } });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({
      busybox: { args: ['sh'] },
      'k/kernel': { command: ['python'], env: { A: '1' }, workingDir: '/tmp' },
    });
    expect(readImageTable(path).busybox).toEqual({ args: ['sh'] });
  });
});
