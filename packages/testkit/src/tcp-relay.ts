/**
 * A TCP relay on loopback that records every byte it forwards: put between a client and a kernel's ZeroMQ
 * ports, it shows what an observer on the path (the pod network) reads.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  /** The loopback port that forwards to the target. */
  readonly port: number;
  /** Every byte seen so far, both directions, concatenated. */
  captured(): Buffer;
  close(): Promise<void>;
}

/** Starts a relay from an ephemeral loopback port to `host:port`. */
export async function startTcpRelay(host: string, port: number): Promise<TcpRelay> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect({ host, port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      outbound.write(d);
    });
    outbound.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      inbound.write(d);
    });
    inbound.on('end', () => outbound.end());
    outbound.on('end', () => inbound.end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('relay: no port');
  return {
    port: address.port,
    captured: () => Buffer.concat(chunks),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Relays for a kernel's five ZeroMQ ports; `info` with the relays' ports in place of the kernel's. */
export async function relayKernelPorts<T extends { ip: string; shell_port: number; iopub_port: number; stdin_port: number; control_port: number; hb_port: number }>(
  info: T,
): Promise<{ info: T; captured(): Buffer; close(): Promise<void> }> {
  const host = info.ip === '0.0.0.0' || info.ip === '' ? '127.0.0.1' : info.ip;
  const names = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;
  const relays = await Promise.all(names.map((n) => startTcpRelay(host, info[n])));
  const relayed = { ...info, ip: '127.0.0.1' };
  names.forEach((n, i) => (relayed[n] = relays[i]!.port));
  return {
    info: relayed,
    captured: () => Buffer.concat(relays.map((r) => r.captured())),
    close: async () => {
      await Promise.all(relays.map((r) => r.close()));
    },
  };
}
