/**
 * The start budget of `startCluster()` counts from the moment the binary is there, not from the call: a
 * cold build (or waiting for another process's build) takes many minutes on a new machine.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const fakeDir = mkdtempSync(join(tmpdir(), 'gp-fake-testcluster-'));
const fakeBinary = join(fakeDir, 'gp-testcluster');
// `version` and `certs` work; every component exits at once with code 3, so the start fails fast
// with that component's exit, as long as its deadline has not already passed.
writeFileSync(
  fakeBinary,
  ['#!/bin/sh', 'case "$1" in', '  version) echo v0.0.0-fake ;;', '  certs) mkdir -p "$3" ;;', '  *) exit 3 ;;', 'esac', ''].join('\n'),
);
chmodSync(fakeBinary, 0o755);

const realNow = Date.now.bind(Date);
vi.mock('./binary.js', () => ({
  ensureClusterBinary: async () => {
    // A ten-minute build: the clock moves on while the binary is being made.
    const offset = 10 * 60_000;
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
    return { path: fakeBinary, kubernetesVersion: 'v0.0.0-fake', built: true };
  },
}));

afterAll(() => {
  vi.restoreAllMocks();
  rmSync(fakeDir, { recursive: true, force: true });
});

describe('startCluster start budget', () => {
  it('starts after the binary is found, so a long build does not use it up', async () => {
    const { startCluster } = await import('./cluster.js');
    const lines: string[] = [];
    const error = await startCluster({ startTimeoutMs: 60_000, installSparkCrd: false, log: (l) => lines.push(l) }).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.name).toBe('ClusterStartError');
    // With the budget counted from the call, the ten minutes of build would have used up the 60 s
    // already and the error would be a timeout; counted from the binary, the real cause shows.
    expect(error?.message).toContain('exited with code 3');
    expect(error?.message).not.toContain('timed out');
  });
});
