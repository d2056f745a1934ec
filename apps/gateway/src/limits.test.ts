import { createLogger } from '@gp/core';
import { describe, expect, it } from 'vitest';
import { KernelManager } from './kernels.js';
import { checkKernelLimits, KernelLimitError } from './limits.js';
import { MemoryKernelStore } from './store.js';

describe('checkKernelLimits', () => {
  const u = (name?: string): Record<string, string> => (name === undefined ? {} : { KERNEL_USERNAME: name });

  it('refuses one kernel past --max-kernels, naming the limit and its option', () => {
    expect(() => checkKernelLimits({ maxKernels: 2, maxKernelsPerUser: 0 }, [u('a')], u('b'))).not.toThrow();
    const e = (() => {
      try {
        checkKernelLimits({ maxKernels: 2, maxKernelsPerUser: 0 }, [u('a'), u('c')], u('b'));
      } catch (error) {
        return error;
      }
    })() as KernelLimitError;
    expect(e).toBeInstanceOf(KernelLimitError);
    expect([e.code, e.httpStatus]).toEqual(['GP_KERNEL_LIMIT_REACHED', 403]);
    expect(e.message).toContain('--max-kernels=2');
    expect(e.details).toMatchObject({ limit: 'max_kernels', option: '--max-kernels', max: 2 });
  });

  it('counts per KERNEL_USERNAME under the user lists\' rule (case and NFKC)', () => {
    const limits = { maxKernels: 0, maxKernelsPerUser: 1 };
    expect(() => checkKernelLimits(limits, [u('alice')], u('bob'))).not.toThrow();
    for (const same of ['alice', 'ALICE', 'ａｌｉｃｅ']) {
      expect(() => checkKernelLimits(limits, [u('alice')], u(same))).toThrow(/User "[^"]+" has 1 kernel .*--max-kernels-per-user=1/);
    }
    // Kernels without KERNEL_USERNAME count as one (anonymous) user.
    expect(() => checkKernelLimits(limits, [u()], u())).toThrow(/^Kernels without a KERNEL_USERNAME \(one anonymous user\) have 1 kernel running or starting/);
  });

  it('0 means no limit', () => {
    expect(() => checkKernelLimits({ maxKernels: 0, maxKernelsPerUser: 0 }, Array(1000).fill(u('a')), u('a'))).not.toThrow();
  });
});

describe('KernelManager limits', () => {
  /** A manager whose API check waits for `answer`: launches stay in flight until then, then fail (API down). */
  function manager(limits: { maxKernels: number; maxKernelsPerUser: number }) {
    let answer!: (up: boolean) => void;
    let check = new Promise<boolean>((resolve) => (answer = resolve));
    const m = new KernelManager({
      specs: {} as never,
      store: new MemoryKernelStore(),
      kubeConfig: {} as never,
      hub: {} as never,
      responseListener: {} as never,
      hostEnv: {},
      logger: createLogger({ name: 'test', level: 'error' }),
      apiHealth: { reachable: true, check: () => check },
      limits,
    });
    return {
      m,
      answer: (up: boolean) => {
        answer(up);
        check = new Promise<boolean>((resolve) => (answer = resolve));
      },
    };
  }

  it('counts launches in flight: a concurrent burst cannot overshoot, and ended launches free their place', async () => {
    const { m, answer } = manager({ maxKernels: 2, maxKernelsPerUser: 0 });
    const burst = Array.from({ length: 5 }, (_, i) => m.start('python', { KERNEL_USERNAME: `u${i}` }).then(() => 'started', (e: { code: string }) => e.code));
    answer(false); // the two admitted launches end: the API "does not answer"
    const codes = await Promise.all(burst);
    expect(codes.filter((c) => c === 'GP_KERNEL_LIMIT_REACHED')).toHaveLength(3);
    expect(codes.filter((c) => c === 'GP_KUBERNETES_UNREACHABLE')).toHaveLength(2);
    // Nothing stays reserved: the next launch passes the limits again.
    const next = m.start('python', {}).catch((e: { code: string }) => e.code);
    answer(false);
    expect(await next).toBe('GP_KUBERNETES_UNREACHABLE');
  });

  it('counts in-flight launches per user', async () => {
    const { m, answer } = manager({ maxKernels: 0, maxKernelsPerUser: 1 });
    const burst = ['alice', 'Alice', 'bob'].map((user) => m.start('python', { KERNEL_USERNAME: user }).catch((e: { code: string }) => e.code));
    answer(false);
    expect(await Promise.all(burst)).toEqual(['GP_KUBERNETES_UNREACHABLE', 'GP_KERNEL_LIMIT_REACHED', 'GP_KUBERNETES_UNREACHABLE']);
  });
});
