import { describe, expect, it } from 'vitest';
import { kernelsToCull, type CullCandidate } from './culling.js';

const now = new Date('2026-01-01T01:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const kernel = (id: string, idleSeconds: number, extra: Partial<CullCandidate> = {}): CullCandidate => ({
  id,
  lastActivity: ago(idleSeconds),
  executionState: 'idle',
  connections: 0,
  ...extra,
});

describe('kernelsToCull', () => {
  const policy = { idleTimeoutSeconds: 600, cullConnected: false, cullBusy: false };

  it('culls kernels idle longer than the timeout only', () => {
    expect(kernelsToCull([kernel('old', 601), kernel('fresh', 599)], policy, now)).toEqual(['old']);
  });

  it('spares connected and busy kernels unless the policy allows culling them', () => {
    const ks = [kernel('connected', 700, { connections: 1 }), kernel('busy', 700, { executionState: 'busy' })];
    expect(kernelsToCull(ks, policy, now)).toEqual([]);
    expect(kernelsToCull(ks, { ...policy, cullConnected: true }, now)).toEqual(['connected']);
    expect(kernelsToCull(ks, { ...policy, cullBusy: true }, now)).toEqual(['busy']);
  });

  it('a timeout of 0 disables culling', () => {
    expect(kernelsToCull([kernel('old', 1e6)], { ...policy, idleTimeoutSeconds: 0 }, now)).toEqual([]);
  });
});
