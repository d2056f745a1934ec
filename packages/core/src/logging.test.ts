import { describe, expect, it } from 'vitest';
import { createLogger, createMemoryLogger, formatJupyterTime, redact } from './logging.js';

const at = new Date(2023, 1, 16, 10, 39, 37, 538);

function capture(options: { level?: 'debug' | 'info' | 'warn'; format?: 'jupyter' | 'json' } = {}) {
  const lines: string[] = [];
  const logger = createLogger({ name: 'K8sSpecInstaller', write: (l) => lines.push(l), now: () => at, ...options });
  return { lines, logger };
}

describe('createLogger', () => {
  it("writes Jupyter's format: level letter, local time with milliseconds, name", () => {
    const { lines, logger } = capture();
    logger.info("Installing kernel specification for 'Kubernetes Python'");
    logger.warn('careful', { kernel: 'k8s_python' });
    expect(lines).toEqual([
      "[I 2023-02-16 10:39:37.538 K8sSpecInstaller] Installing kernel specification for 'Kubernetes Python'",
      '[W 2023-02-16 10:39:37.538 K8sSpecInstaller] careful kernel=k8s_python',
    ]);
    expect(formatJupyterTime(new Date(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02 03:04:05.006');
  });

  it('drops lines below the level (default info)', () => {
    const quiet = capture({ level: 'warn' });
    quiet.logger.info('not shown');
    quiet.logger.error('shown');
    expect(quiet.lines).toHaveLength(1);
    const normal = capture();
    normal.logger.debug('not shown');
    expect(normal.lines).toHaveLength(0);
    const debug = capture({ level: 'debug' });
    debug.logger.debug('shown');
    expect(debug.lines[0]).toMatch(/^\[D /);
  });

  it('never writes tokens, keys or passwords, also in child fields and JSON lines', () => {
    const { lines, logger } = capture({ format: 'json' });
    logger.child({ token: 's3cret' }).info('launch', { kernel_id: 'k1', public_key: 'MIIB', nested: { password: 'pw', ok: 1 } });
    const line = lines[0]!;
    expect(line).not.toMatch(/s3cret|MIIB|"pw"/);
    expect(JSON.parse(line)).toMatchObject({ level: 'info', name: 'K8sSpecInstaller', msg: 'launch', kernel_id: 'k1', token: '[redacted]', nested: { password: '[redacted]', ok: 1 } });
  });

  it('logs errors by name, message and code, without their stack', () => {
    const out = redact({ error: Object.assign(new Error('boom'), { code: 'GP_X' }), Authorization: 'token abc', key: 'k' });
    expect(out).toEqual({ error: { name: 'Error', message: 'boom', code: 'GP_X' }, Authorization: '[redacted]', key: '[redacted]' });
  });
});

describe('createMemoryLogger', () => {
  it('keeps redacted records, with child fields, and lets a caller wait for one', async () => {
    const log = createMemoryLogger();
    const later = log.waitFor((r) => r.message === 'second');
    log.info('first', { key: 'secret-value', kernel_id: 'k1' });
    log.child({ kernel_id: 'k2' }).warn('second', { n: 2 });
    await expect(later).resolves.toEqual({ level: 'warn', message: 'second', fields: { kernel_id: 'k2', n: 2 } });
    expect(log.records[0]!.fields.kernel_id).toBe('k1');
    expect(JSON.stringify(log.records)).not.toContain('secret-value');
    await expect(log.waitFor((r) => r.message === 'first')).resolves.toMatchObject({ level: 'info' });
  });
});
