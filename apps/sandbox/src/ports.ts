/** Port choice: the sandbox checks its ports before starting anything, so a taken one is a clear error up front. */
import { createServer } from 'node:net';
import { PortInUseError } from './errors.js';

/** Binds 127.0.0.1:`port` for a moment; resolves with the bound port (the free one picked for 0), or undefined when taken. */
export function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') resolve(undefined);
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * The port to use: `wanted` when free; taken and given explicitly, a `PortInUseError`; taken and only the
 * default, the next free port after it (as Jupyter's port_retries), else any free port. 0 is any free port.
 */
export async function choosePort(wanted: number, flag: string, explicit: boolean, avoid: readonly number[] = []): Promise<number> {
  if (wanted !== 0 && !avoid.includes(wanted)) {
    const got = await tryPort(wanted);
    if (got !== undefined) return got;
  }
  if (wanted !== 0 && explicit) throw new PortInUseError(wanted, flag);
  if (wanted !== 0) {
    for (let p = wanted + 1; p <= Math.min(wanted + 50, 65535); p++) {
      if (avoid.includes(p)) continue;
      const got = await tryPort(p);
      if (got !== undefined) return got;
    }
  }
  for (;;) {
    const got = await tryPort(0);
    if (got !== undefined && !avoid.includes(got)) return got;
  }
}
