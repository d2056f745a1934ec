import { createLogger } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { KubernetesApiHealth } from './api-health.js';
import { settingsFromOptions } from './options.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ name: 't', level: 'debug', format: 'json', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { lines, logger };
}

describe('KubernetesApiHealth', () => {
  it('logs once per transition, not per failed check, and notifies listeners', async () => {
    const { lines, logger } = capture();
    let up = true;
    const health = new KubernetesApiHealth('https://api:6443', async () => {
      if (!up) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    }, logger);
    const seen: boolean[] = [];
    health.onChange((r) => seen.push(r));
    expect(await health.check()).toBe(true);
    up = false;
    for (let i = 0; i < 5; i++) expect(await health.check()).toBe(false);
    expect(health.status()).toMatchObject({ server: 'https://api:6443', reachable: false, checks: 6, failedChecks: 5, outages: 1, lastError: expect.stringContaining('ECONNREFUSED') });
    up = true;
    expect(await health.check()).toBe(true);
    expect(await health.check()).toBe(true);
    expect(seen).toEqual([false, true]);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', expect.stringMatching(/^The Kubernetes API server is unreachable/)],
      ['info', 'The Kubernetes API server is reachable again.'],
    ]);
    expect(lines[0]).toMatchObject({ server: 'https://api:6443', error: expect.stringContaining('ECONNREFUSED') });
    expect(health.status()).not.toHaveProperty('lastError');
  });

  it('shares one probe between concurrent checks', async () => {
    let calls = 0;
    let release!: () => void;
    const health = new KubernetesApiHealth('s', () => {
      calls++;
      return new Promise<void>((r) => (release = r));
    }, capture().logger);
    const a = health.check();
    const b = health.check();
    release();
    expect(await Promise.all([a, b])).toEqual([true, true]);
    expect(calls).toBe(1);
  });
});

describe('outage options', () => {
  it('orphan_sweep_interval: 300 s by default, 0 (start-up only) allowed, negative refused; kube_api_check_interval must be positive', () => {
    expect(settingsFromOptions({})).toMatchObject({ orphan_sweep_interval: 300, kube_api_check_interval: 5 });
    expect(settingsFromOptions({ orphan_sweep_interval: 0 }).orphan_sweep_interval).toBe(0);
    expect(() => settingsFromOptions({ orphan_sweep_interval: -1 })).toThrow(/orphan_sweep_interval.*non-negative/);
    expect(() => settingsFromOptions({ kube_api_check_interval: 0 })).toThrow(/kube_api_check_interval.*positive/);
  });
});
