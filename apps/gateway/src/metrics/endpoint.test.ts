import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@gp/core';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../gateway.js';
import { createMetricsServer } from './endpoint.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listening(s: Server, port = 0): Promise<number> {
  servers.push(s);
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve());
  });
  return (s.address() as AddressInfo).port;
}

describe('the --metrics-port listener', () => {
  it('serves GET /metrics only: other paths 404, other methods 405, a failing exposition 500 (the listener lives)', async () => {
    let fail = false;
    const port = await listening(
      createMetricsServer(() => {
        if (fail) throw new Error('boom');
        return 'x 1\n';
      }, silentLogger),
    );
    const base = `http://127.0.0.1:${port}`;
    const ok = await fetch(`${base}/metrics`);
    expect([ok.status, ok.headers.get('content-type'), await ok.text()]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8', 'x 1\n']);
    expect((await fetch(`${base}/api/kernels`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'DELETE' })).status).toBe(405);
    fail = true;
    expect((await fetch(`${base}/metrics`)).status).toBe(500);
    fail = false;
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('a --metrics-port in use stops the start with GP_LISTEN_FAILED naming --metrics-port, and frees the main port', async () => {
    const busy = await listening(createServer());
    const kc = new KubeConfig();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
    const main = await listening(createServer());
    await new Promise((r) => servers.pop()!.close(r)); // a port that is free now
    const started = startGateway({ ip: '127.0.0.1', port: main, metrics_port: busy, token: 't', state_file: '', kubeConfig: kc, logger: silentLogger, responseListener: { ip: '127.0.0.1', port: 0 } });
    await expect(started).rejects.toMatchObject({ code: 'GP_LISTEN_FAILED', message: expect.stringContaining(`--metrics-port=${busy}`) });
    expect(await listening(createServer(), main)).toBe(main);
  });
});
