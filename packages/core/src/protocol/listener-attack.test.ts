// The response listener under attack: idle connections must not keep a launch's payload out, and an
// accepted payload is acknowledged (and only an accepted one). See README "Acknowledgement and admission".
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../logging.js';
import { ResponseListener } from './listener.js';
import { encodeResponse } from './payload.js';
import { exchange, openIdle } from './sockets.test-helper.js';

const listeners: ResponseListener[] = [];
const idle: Socket[] = [];
afterEach(async () => {
  for (const s of idle.splice(0)) s.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

async function start(opts: Parameters<typeof ResponseListener.start>[0] = {}) {
  const logger = createMemoryLogger();
  // A long idle timeout, so these tests prove the admission rules on their own.
  const l = await ResponseListener.start({ ip: '127.0.0.1', port: 0, keyBits: 1024, logger, idleTimeoutMs: 120_000, addrAny: true, ...opts });
  listeners.push(l);
  return { l, logger };
}

function info(kernelId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shell_port: 1001, iopub_port: 1002, stdin_port: 1003, control_port: 1004, hb_port: 1005,
    ip: '0.0.0.0', key: 'k', transport: 'tcp', signature_scheme: 'hmac-sha256', kernel_name: '',
    comm_port: 1006, pid: 1, pgid: 1, kernel_id: kernelId, ...extra,
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

describe('ResponseListener under attack', () => {
  it('lets a launch through while another address holds 300 idle connections (cap 256), and acknowledges it', async () => {
    const { l } = await start();
    idle.push(...(await openIdle(l.responseAddress, 300, '127.0.0.2')));
    // The attacker's address holds its per-source share; the rest were refused.
    await until(() => l.connectionCount >= 16);
    const reg = await l.register('k1');
    const sent = encodeResponse(info('k1', { comm_secret: 'A'.repeat(44) }), reg.publicKey, { version: 2, kernelId: 'k1' });
    const result = await exchange(l.responseAddress, sent.payload, '127.0.0.1');
    expect(result).toEqual({ reply: sent.ack, ended: 'end' });
    await expect(reg.connectionInfo).resolves.toMatchObject({ kernel_id: 'k1', response_from: '127.0.0.1' });
  });

  it('lets a launch through from the same address as 300 idle connections: the oldest idle one makes room', async () => {
    const { l } = await start();
    idle.push(...(await openIdle(l.responseAddress, 300, '127.0.0.1')));
    await until(() => l.connectionCount >= 16);
    const reg = await l.register('k1');
    const sent = encodeResponse(info('k1'), reg.publicKey, { version: 1, kernelId: 'k1' });
    const result = await exchange(l.responseAddress, sent.payload, '127.0.0.1');
    expect(result).toEqual({ reply: sent.ack, ended: 'end' });
    await expect(reg.connectionInfo).resolves.toMatchObject({ kernel_id: 'k1', response_version: 1 });
    expect(l.connectionCount).toBeLessThanOrEqual(16);
  });

  it('closes a connection that sends nothing within the idle timeout', async () => {
    const { l } = await start({ idleTimeoutMs: 200, readTimeoutMs: 600_000 });
    const [s] = await openIdle(l.responseAddress, 1);
    idle.push(s!);
    await new Promise<void>((resolve) => s!.on('close', () => resolve()));
    await until(() => l.connectionCount === 0);
  });

  it('acknowledges only an accepted payload, and a repeated one again without delivering it twice', async () => {
    const { l, logger } = await start();
    const reg = await l.register('k1');
    const stranger = await l.register('k2');
    // Rejected (encrypted for k1's key, claiming k2): a clean close without a word, as a reference host would.
    const wrong = encodeResponse(info('k3'), reg.publicKey, { version: 1, kernelId: 'k3' });
    expect(await exchange(l.responseAddress, wrong.payload)).toEqual({ reply: '', ended: 'end' });
    const sent = encodeResponse(info('k1', { comm_secret: 'B'.repeat(44) }), reg.publicKey, { version: 2, kernelId: 'k1' });
    expect((await exchange(l.responseAddress, sent.payload)).reply).toBe(sent.ack);
    await expect(reg.connectionInfo).resolves.toMatchObject({ kernel_id: 'k1' });
    // The launcher's retry after a lost acknowledgement: the same bytes get the same answer.
    expect((await exchange(l.responseAddress, sent.payload)).reply).toBe(sent.ack);
    expect(logger.records.filter((r) => r.message === 'Received kernel connection information')).toHaveLength(1);
    expect(l.waiting).toEqual(['k2']);
    stranger.cancel();
  });
});
