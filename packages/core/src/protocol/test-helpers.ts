// Helpers shared by this folder's tests (not exported from the package).
import { connect } from 'node:net';

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
