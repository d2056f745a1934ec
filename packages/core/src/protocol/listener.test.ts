import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { ResponseWaitError } from './errors.js';
import {
  ResponseListener,
  candidateResponsePorts,
  defaultResponseIp,
  responseListenerOptionsFromEnv,
  sharedResponseListener,
} from './listener.js';
import { encodeResponsePayload } from './payload.js';
import { createMemoryLogger } from '../logging.js';
import { sendRaw } from './sockets.test-helper.js';

const listeners: ResponseListener[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function start(opts: Parameters<typeof ResponseListener.start>[0] = {}) {
  const logger = createMemoryLogger();
  const l = await ResponseListener.start({ ip: '127.0.0.1', port: 0, keyBits: 1024, logger, ...opts });
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

const dropped = (reason: string) => (r: { message: string; fields: Record<string, unknown> }) =>
  r.message === 'Dropped kernel response payload' && r.fields.reason === reason;

describe('ResponseListener', () => {
  it('delivers a version 1 payload to the registered kernel', async () => {
    const { l } = await start();
    expect(l.responseAddress).toBe(`127.0.0.1:${l.port}`);
    const reg = await l.register('k1');
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k1'), reg.publicKey, { version: 1, kernelId: 'k1' }));
    const ci = await reg.connectionInfo;
    expect(ci).toMatchObject({ kernel_id: 'k1', shell_port: 1001, response_version: 1, response_from: '127.0.0.1' });
    expect(l.waiting).toEqual([]);
  });

  it('drops garbage, oversized, unknown-kernel and tampered payloads and keeps serving', async () => {
    const { l, logger } = await start({ maxPayloadBytes: 4096 });
    const reg = await l.register('k1');
    const other = await l.register('k2');
    const good = encodeResponsePayload(info('k1'), reg.publicKey, { version: 1, kernelId: 'k1' });

    await sendRaw(l.responseAddress, 'definitely not a payload');
    await logger.waitFor(dropped('malformed'));
    await sendRaw(l.responseAddress, Buffer.alloc(10_000, 0x41));
    await logger.waitFor(dropped('oversized'));
    // Encrypted for k1's key but claiming to be k2 inside: neither key accepts it.
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k2'), reg.publicKey, { version: 1, kernelId: 'k2' }));
    await logger.waitFor(dropped('rejected'));
    // Version 2 for a kernel nobody waits for.
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k9', { comm_secret: 'A'.repeat(44) }), reg.publicKey, { version: 2, kernelId: 'k9' }));
    await logger.waitFor((r) => dropped('rejected')(r) && r.fields.claimedKernelId === 'k9');
    // Tampered.
    const t = Buffer.from(good, 'base64').toString('utf8');
    const env = JSON.parse(t) as Record<string, string>;
    env.conn_info = Buffer.from(Buffer.from(env.conn_info!, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64');
    await sendRaw(l.responseAddress, Buffer.from(JSON.stringify(env)).toString('base64'));
    await logger.waitFor((r) => dropped('rejected')(r) && r.fields.version === 1 && logger.records.filter(dropped('rejected')).length >= 3);

    expect(l.waiting.sort()).toEqual(['k1', 'k2']);
    await sendRaw(l.responseAddress, good);
    await expect(reg.connectionInfo).resolves.toMatchObject({ kernel_id: 'k1' });
    other.cancel();
    await expect(other.connectionInfo).rejects.toBeInstanceOf(ResponseWaitError);
    // No log line carries the connection key.
    expect(JSON.stringify(logger.records)).not.toContain('"key":"k"');
  });

  it('routes version 1 payloads of concurrent launches to the right kernels', async () => {
    const { l } = await start();
    const regs = await Promise.all(['a', 'b', 'c'].map((id) => l.register(id)));
    for (const reg of [...regs].reverse()) {
      await sendRaw(l.responseAddress, encodeResponsePayload(info(reg.kernelId, { shell_port: 2000 + reg.kernelId.charCodeAt(0) }), reg.publicKey, { version: 1, kernelId: reg.kernelId }));
    }
    const infos = await Promise.all(regs.map((r) => r.connectionInfo));
    expect(infos.map((i) => [i.kernel_id, i.shell_port])).toEqual([['a', 2097], ['b', 2098], ['c', 2099]]);
  });

  it('uses a fresh key per registration, so a payload cannot be replayed into a later launch', async () => {
    const { l, logger } = await start();
    const first = await l.register('k1');
    const payload = encodeResponsePayload(info('k1'), first.publicKey, { version: 1, kernelId: 'k1' });
    await sendRaw(l.responseAddress, payload);
    await first.connectionInfo;
    const second = await l.register('k1');
    expect(second.publicKey).not.toBe(first.publicKey);
    await sendRaw(l.responseAddress, payload);
    await logger.waitFor(dropped('rejected'));
    expect(l.waiting).toEqual(['k1']);
  });

  it.each([0, 3])('hands each registration its own key with a spare pool of %i, and refills the pool', async (keyPoolSize) => {
    const { l } = await start({ keyPoolSize });
    expect(l.spareKeyPairCount).toBe(keyPoolSize);
    const registrations = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => l.register(id)));
    expect(new Set(registrations.map((r) => r.publicKey)).size).toBe(5);
    expect(l.spareKeyPairCount).toBe(keyPoolSize);
    for (const r of registrations) {
      await sendRaw(l.responseAddress, encodeResponsePayload(info(r.kernelId), r.publicKey, { version: 1, kernelId: r.kernelId }));
      await expect(r.connectionInfo).resolves.toMatchObject({ kernel_id: r.kernelId });
    }
    await l.close();
    expect(l.spareKeyPairCount).toBe(0);
  });

  it('delivers version 2 and refuses version 1 when version 2 is required', async () => {
    const { l, logger } = await start({ minVersion: 2 });
    const reg = await l.register('k1');
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k1'), reg.publicKey, { version: 1, kernelId: 'k1' }));
    await logger.waitFor(dropped('version'));
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k1', { comm_secret: Buffer.alloc(32, 7).toString('base64') }), reg.publicKey, { version: 2, kernelId: 'k1' }));
    await expect(reg.connectionInfo).resolves.toMatchObject({ response_version: 2, comm_secret: Buffer.alloc(32, 7).toString('base64') });
  });

  it('announces the payload versions it reads, for the pod\'s GP_RESPONSE_VERSIONS', async () => {
    const both = await start();
    expect((await both.l.register('k1')).responseVersions).toBe('2,1');
    const only2 = await start({ minVersion: 2 });
    expect((await only2.l.register('k1')).responseVersions).toBe('2');
  });

  it('tells a registration when a payload from its address was refused for its version', async () => {
    const { l, logger } = await start({ minVersion: 2 });
    const before = await l.register('k0');
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k0'), before.publicKey, { version: 1, kernelId: 'k0' }));
    await logger.waitFor(dropped('version'));
    // Only refusals after a registration began count for it; ones from another address never do.
    const reg = await l.register('k1');
    let refusedElsewhere = false;
    void reg.whenVersionRefused('10.9.9.9').then(() => (refusedElsewhere = true));
    const refused = reg.whenVersionRefused('127.0.0.1');
    await sendRaw(l.responseAddress, encodeResponsePayload(info('k1'), reg.publicKey, { version: 1, kernelId: 'k1' }));
    await expect(refused).resolves.toMatchObject({ from: '127.0.0.1', version: 1, accepted: '2' });
    // A registration asking after the fact still learns of it.
    await expect(reg.whenVersionRefused('127.0.0.1')).resolves.toMatchObject({ version: 1 });
    expect(refusedElsewhere).toBe(false);
  });

  it('accepts legacy version 0 only when configured, with a warning', async () => {
    const { kernel_id: _k, ...legacy } = info('0123456789abcdef-rest');
    const plain = await start();
    const r1 = await plain.l.register('0123456789abcdef-rest');
    await sendRaw(plain.l.responseAddress, encodeResponsePayload(legacy, r1.publicKey, { version: 0, kernelId: '0123456789abcdef-rest' }));
    await plain.logger.waitFor(dropped('version'));

    const { l, logger } = await start({ allowLegacyV0: true });
    const reg = await l.register('0123456789abcdef-rest');
    await sendRaw(l.responseAddress, encodeResponsePayload(legacy, reg.publicKey, { version: 0, kernelId: '0123456789abcdef-rest' }));
    await expect(reg.connectionInfo).resolves.toMatchObject({ response_version: 0, kernel_id: '0123456789abcdef-rest' });
    expect(logger.records.some((r) => r.level === 'warn' && r.message.includes('Legacy'))).toBe(true);
  });

  it('drops a sender that never finishes, even one that keeps trickling bytes', async () => {
    const { l, logger } = await start({ readTimeoutMs: 300 });
    const [host, port] = l.responseAddress.split(':') as [string, string];
    const trickler = connect({ host, port: Number(port) });
    trickler.on('error', () => {});
    const drip = setInterval(() => trickler.write('A'), 50);
    const closed = new Promise((r) => trickler.on('close', r));
    const rec = await logger.waitFor((r) => r.message.includes('did not finish'));
    expect(rec.level).toBe('warn');
    await closed; // the listener hung up on it
    clearInterval(drip);
  });

  it('ends waits on abort, re-registration and close', async () => {
    const { l } = await start();
    const ac = new AbortController();
    const a = await l.register('a', { signal: ac.signal });
    ac.abort();
    await expect(a.connectionInfo).rejects.toMatchObject({ why: 'aborted' });
    const b1 = await l.register('b');
    const b2 = await l.register('b');
    await expect(b1.connectionInfo).rejects.toMatchObject({ why: 'superseded' });
    await l.close();
    await expect(b2.connectionInfo).rejects.toMatchObject({ why: 'closed' });
    await expect(l.register('c')).rejects.toBeInstanceOf(ResponseWaitError);
  });

  it('binds only the advertised address unless GP_RESPONSE_ADDR_ANY', async () => {
    const only = await start();
    await expect(sendRaw(`127.0.0.2:${only.l.port}`, 'x')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const any = await start({ addrAny: true });
    expect(any.l.responseAddress).toBe(`127.0.0.1:${any.l.port}`);
    const reg = await any.l.register('k1');
    await sendRaw(`127.0.0.2:${any.l.port}`, encodeResponsePayload(info('k1'), reg.publicKey, { version: 1, kernelId: 'k1' }));
    await expect(reg.connectionInfo).resolves.toMatchObject({ kernel_id: 'k1' });
  });

  it('never picks a prohibited local address by default', () => {
    const first = defaultResponseIp();
    const escaped = first.replace(/\./g, '\\.');
    const next = defaultResponseIp([escaped]);
    // Only the 127.0.0.1 fallback may come back again.
    expect(next === first).toBe(first === '127.0.0.1');
    expect(defaultResponseIp(['.*'])).toBe('127.0.0.1');
  });

  it('moves on to another port when the configured one is taken', async () => {
    const blocker = createServer();
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, r));
    const taken = (blocker.address() as { port: number }).port;
    const { l, logger } = await start({ port: taken, portRetries: 10 });
    expect(l.port).not.toBe(taken);
    expect(logger.records.some((r) => r.message.includes(`${taken} is not available`))).toBe(true);
    await expect(ResponseListener.start({ ip: '127.0.0.1', port: taken, portRetries: 0 })).rejects.toMatchObject({ code: 'GP_RESPONSE_LISTENER' });
  });
});

describe('sharedResponseListener', () => {
  it('is one listener per process until closed', async () => {
    const a = await sharedResponseListener({ ip: '127.0.0.1', port: 0 });
    const b = await sharedResponseListener({ ip: '127.0.0.2', port: 0 });
    expect(b).toBe(a);
    await a.close();
    const c = await sharedResponseListener({ ip: '127.0.0.1', port: 0 });
    listeners.push(c);
    expect(c).not.toBe(a);
    expect(c.isClosed).toBe(false);
  });
});

describe('responseListenerOptionsFromEnv', () => {
  it('reads the GP_RESPONSE_* variables and lets overrides win', () => {
    const opts = responseListenerOptionsFromEnv(
      {
        GP_RESPONSE_IP: '10.1.2.3',
        GP_RESPONSE_PORT: '9999',
        GP_RESPONSE_PORT_RETRIES: '3',
        GP_RESPONSE_ADDR_ANY: 'True',
        GP_PROHIBITED_LOCAL_IPS: '10\\..*, 192\\.168\\..*',
        GP_RESPONSE_ALLOW_LEGACY: 'false',
        GP_RESPONSE_MIN_VERSION: '2',
        GP_RESPONSE_KEY_POOL: '4',
      },
      { port: 0 },
    );
    expect(opts).toEqual({
      ip: '10.1.2.3', port: 0, portRetries: 3, addrAny: true,
      prohibitedLocalIps: ['10\\..*', '192\\.168\\..*'], allowLegacyV0: false, minVersion: 2, keyPoolSize: 4,
    });
    expect(responseListenerOptionsFromEnv({})).toEqual({});
  });

  it.each([
    ['GP_RESPONSE_PORT', 'eighty'],
    ['GP_RESPONSE_PORT', '70000'],
    ['GP_RESPONSE_ADDR_ANY', 'maybe'],
    ['GP_RESPONSE_MIN_VERSION', '3'],
    ['GP_RESPONSE_KEY_POOL', '-1'],
    ['GP_PROHIBITED_LOCAL_IPS', '(unclosed'],
  ])('rejects %s=%s with a ConfigError naming the variable', (name, value) => {
    let err: unknown;
    try {
      responseListenerOptionsFromEnv({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(name);
  });

  it('tries 5 sequential ports, then random ones nearby', () => {
    const ports = [...candidateResponsePorts(8877, 10)];
    expect(ports.slice(0, 5)).toEqual([8877, 8878, 8879, 8880, 8881]);
    expect(ports).toHaveLength(11);
    for (const p of ports.slice(5)) expect(Math.abs(p - 8877)).toBeLessThanOrEqual(22);
    expect([...candidateResponsePorts(0, 10)]).toEqual([0]);
  });
});
