// Helpers shared by this folder's tests (not exported from the package).
import { connect, type Socket } from 'node:net';

/** Sends bytes to host:port, half-closes, and resolves when the peer closes. */
export function sendRaw(address: string, data: Buffer | string, end = true): Promise<void> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port) }, () => {
      if (end) s.end(data);
      else s.write(data);
    });
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve() : reject(err)));
    s.on('close', () => resolve());
    s.resume();
  });
}

/** How a connection ended and what the peer wrote: `end` is a clean close (FIN), `reset` an RST. */
export interface ExchangeResult {
  reply: string;
  ended: 'end' | 'reset';
}

/** Sends `data`, half-closes, and collects the reply until the peer closes (as gp's launcher does). */
export function exchange(address: string, data: Buffer | string, localAddress?: string): Promise<ExchangeResult> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) }, () => s.end(data));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve({ reply: Buffer.concat(chunks).toString('utf8'), ended: 'reset' }) : reject(err),
    );
    s.on('end', () => resolve({ reply: Buffer.concat(chunks).toString('utf8'), ended: 'end' }));
  });
}

/** Opens `count` connections that never send anything; resolves once all are connected. */
export async function openIdle(address: string, count: number, localAddress?: string): Promise<Socket[]> {
  const [host, port] = address.split(':') as [string, string];
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const s = connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) }, () => resolve(s));
          s.on('error', () => resolve(s)); // refused or reset: the attacker does not care
        }),
    ),
  );
}
