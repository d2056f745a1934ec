/**
 * The pool's matching rule (README.md, "Only a matching pod"): a pooled pod serves only a request whose resolved
 * pod would equal the one it was made with, up to the kernel's id and names; every other difference, and every
 * multi-user case, is a cold launch.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readHostSettings } from '../env.js';
import { resolveLaunch, type ResolvedLaunch } from '../inputs.js';
import { matchProfile, profileKey } from './match.js';

function resolved(env: Record<string, string>, hostEnv: Record<string, string> = {}, kernelId: string = randomUUID()): ResolvedLaunch {
  return resolveLaunch({
    kernelId,
    portRange: '0..0',
    // Per-kernel values: a pooled pod has placeholders here, a request its own registration's.
    responseAddress: `10.0.0.5:${1024 + Math.floor(Math.random() * 60000)}`,
    publicKey: Buffer.from(randomUUID()).toString('base64'),
    responseVersions: '2,1',
    env: { KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'gp/kernel-py:1', ...env },
    settings: readHostSettings(hostEnv),
  });
}

const alice = { KERNEL_USERNAME: 'alice' };
const pool = profileKey(resolved(alice, {}, `pool-${randomUUID()}`));

describe('matchProfile', () => {
  it('serves a request of the same profile: only the id, names, response address and key differ', () => {
    expect(matchProfile(pool, resolved(alice))).toEqual({ ok: true });
    expect(matchProfile(pool, resolved({ ...alice, KERNEL_LAUNCH_TIMEOUT: '90' }))).toEqual({ ok: true });
  });

  it.each([
    ['another user', { KERNEL_USERNAME: 'bob' }],
    ['the same name in another case (another user to the pod env)', { KERNEL_USERNAME: 'Alice' }],
    ['another user with otherwise the same request', { KERNEL_USERNAME: 'alice2' }],
    ['another UID', { ...alice, KERNEL_UID: '1001' }],
    ['another GID', { ...alice, KERNEL_GID: '1001' }],
    ['another image', { ...alice, KERNEL_IMAGE: 'gp/kernel-py:2' }],
    ['a CPU request', { ...alice, KERNEL_CPUS: '500m' }],
    ['a memory limit', { ...alice, KERNEL_MEMORY_LIMIT: '1Gi' }],
    ['volumes', { ...alice, KERNEL_VOLUMES: '[{"name":"data","persistentVolumeClaim":{"claimName":"alice-data"}}]' }],
    ['another KERNEL_* value in the env', { ...alice, KERNEL_EXTRA_SPARK_OPTS: '--conf spark.x=1' }],
  ])('launches cold for %s', (_what, env) => {
    const m = matchProfile(pool, resolved(env));
    expect(m.ok).toBe(false);
  });

  it('launches cold in another namespace (bring-your-own) and in automatic mode', () => {
    const byo = resolved({ ...alice, KERNEL_NAMESPACE: 'team-a', KERNEL_SERVICE_ACCOUNT_NAME: 'default' }, { GP_SHARED_NAMESPACE: 'false' });
    expect(matchProfile(pool, byo)).toMatchObject({ ok: false });
    const auto = resolved(alice, { GP_SHARED_NAMESPACE: 'false' });
    expect(matchProfile(pool, auto)).toMatchObject({ ok: false, reason: expect.stringMatching(/automatic/) });
  });

  it('launches cold for a mirrored working directory (and ignores one the host drops)', () => {
    const mirror = { GP_MIRROR_WORKING_DIRS: 'true' };
    const mirrored = profileKey(resolved(alice, mirror, `pool-${randomUUID()}`));
    expect(matchProfile(mirrored, resolved({ ...alice, KERNEL_WORKING_DIR: '/home/alice' }, mirror)).ok).toBe(false);
    expect(matchProfile(pool, resolved({ ...alice, KERNEL_WORKING_DIR: '/home/alice' })).ok).toBe(true);
  });

  it('launches cold for a client-chosen pod name', () => {
    expect(matchProfile(pool, resolved({ ...alice, KERNEL_POD_NAME: 'mine' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/KERNEL_POD_NAME/) });
  });

  it("a pool of one user's pods never serves another's, in either direction", () => {
    const bobPool = profileKey(resolved({ KERNEL_USERNAME: 'bob' }, {}, `pool-${randomUUID()}`));
    expect(matchProfile(bobPool, resolved(alice)).ok).toBe(false);
    expect(matchProfile(pool, resolved({ KERNEL_USERNAME: 'bob' })).ok).toBe(false);
    expect(matchProfile(bobPool, resolved({ KERNEL_USERNAME: 'bob' })).ok).toBe(true);
  });
});
