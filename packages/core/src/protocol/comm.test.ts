import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CommRequestError } from './errors.js';
import { commMac, sendCommRequest } from './comm.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
  return (server.address() as { port: number }).port;
}

/** Like the reference launcher: read one JSON object until EOF, answer nothing. */
function referenceLike(received: unknown[]): Server {
  return createServer((s) => {
    let data = '';
    s.on('data', (c) => (data += c.toString()));
    s.on('end', () => {
      if (data) received.push(JSON.parse(data));
      s.end();
    });
  });
}

/** The gp launcher's side of the exchange, in TypeScript, checking the MAC with `commMac`. */
function gpLike(secret: Buffer, received: unknown[]): Server {
  return createServer((s) => {
    const nonce = randomBytes(32).toString('base64');
    s.write(JSON.stringify({ gp_comm: 2, nonce }) + '\n');
    let data = '';
    s.on('data', (c) => (data += c.toString()));
    s.on('end', () => {
      let ok = false;
      try {
        const msg = JSON.parse(data) as { body: string; mac: string };
        const want = Buffer.from(commMac(secret, nonce, msg.body), 'hex');
        const got = Buffer.from(msg.mac, 'hex');
        ok = got.length === want.length && timingSafeEqual(got, want);
        if (ok) received.push(JSON.parse(msg.body));
      } catch {
        ok = false;
      }
      s.end(JSON.stringify(ok ? { ok: true } : { ok: false, error: 'authentication failed' }));
    });
  });
}

describe('sendCommRequest', () => {
  it('sends plain JSON to a reference launcher', async () => {
    const received: unknown[] = [];
    const port = await listen(referenceLike(received));
    await expect(sendCommRequest({ host: '127.0.0.1', port }, { signum: 2 })).resolves.toEqual({ delivered: true, authenticated: false });
    await sendCommRequest({ host: '127.0.0.1', port }, { shutdown: 1 });
    expect(received).toEqual([{ signum: 2 }, { shutdown: 1 }]);
  });

  it('is quiet when nobody listens', async () => {
    const port = await listen(createServer());
    await new Promise((r) => servers.pop()!.close(r));
    await expect(sendCommRequest({ host: '127.0.0.1', port }, { signum: 2 })).resolves.toEqual({ delivered: false, authenticated: false });
  });

  it('authenticates to a gp launcher and is refused with the wrong secret or none', async () => {
    const secret = randomBytes(32);
    const received: unknown[] = [];
    const port = await listen(gpLike(secret, received));
    const target = { host: '127.0.0.1', port };
    await expect(sendCommRequest(target, { signum: 2 }, { secret: secret.toString('base64') })).resolves.toEqual({ delivered: true, authenticated: true });
    await expect(sendCommRequest(target, { signum: 9 }, { secret: randomBytes(32).toString('base64') })).rejects.toBeInstanceOf(CommRequestError);
    await expect(sendCommRequest(target, { signum: 9 })).rejects.toThrow(/unauthenticated/);
    expect(received).toEqual([{ signum: 2 }]);
  });

  it('fails clearly when a secret is given but the launcher sends no challenge', async () => {
    const port = await listen(referenceLike([]));
    await expect(
      sendCommRequest({ host: '127.0.0.1', port }, { signum: 2 }, { secret: randomBytes(32).toString('base64'), timeoutMs: 300 }),
    ).rejects.toBeInstanceOf(CommRequestError);
  });

  it('validates the signal number', async () => {
    await expect(sendCommRequest({ host: '127.0.0.1', port: 1 }, { signum: -3 })).rejects.toThrow(/Invalid signal number/);
  });
});
