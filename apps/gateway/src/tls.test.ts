import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@gp/core';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeTestCerts, type TestCerts } from './e2e/test-certs.js';
import { startGateway, type GatewayHandle } from './gateway.js';
import { loadTls, TlsConfigError } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-tls-'));
let certs: TestCerts;
const token = 'tls-test-token';

beforeAll(() => {
  certs = makeTestCerts(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('loadTls', () => {
  it('is off without files, and checks the files it is given', () => {
    expect(loadTls({ certfile: '', keyfile: '', client_ca: '' })).toBeUndefined();
    expect(loadTls({ certfile: certs.serverCert, keyfile: certs.serverKey, client_ca: '' })).toMatchObject({ requestCert: false });
    expect(loadTls({ certfile: certs.serverCert, keyfile: certs.serverKey, client_ca: certs.ca })).toMatchObject({ requestCert: true });
  });

  it('refuses half a configuration with a ConfigError naming the missing option', () => {
    expect(thrown(() => loadTls({ certfile: certs.serverCert, keyfile: '', client_ca: '' }))).toSatisfy((e: Error) => e instanceof ConfigError && /--keyfile is missing/.test(e.message));
    expect(thrown(() => loadTls({ certfile: '', keyfile: '', client_ca: certs.ca }))).toSatisfy((e: Error) => e instanceof ConfigError && /client certificates need TLS/.test(e.message));
  });

  it('names an unreadable file, a key that is not the certificate\'s, and a file that is not PEM, in one line', () => {
    const missing = thrown(() => loadTls({ certfile: join(dir, 'nope.pem'), keyfile: certs.serverKey, client_ca: '' }));
    expect(missing).toBeInstanceOf(TlsConfigError);
    expect(missing.message).toBe(`Cannot read --certfile=${join(dir, 'nope.pem')}: no such file (ENOENT).`);
    const mismatch = thrown(() => loadTls({ certfile: certs.serverCert, keyfile: certs.clientKey, client_ca: '' }));
    expect(mismatch).toBeInstanceOf(TlsConfigError);
    expect(mismatch.message).toContain(`--keyfile=${certs.clientKey} is not the key of --certfile=${certs.serverCert}`);
    const notPem = thrown(() => loadTls({ certfile: certs.serverKey, keyfile: certs.serverKey, client_ca: '' }));
    expect(notPem).toBeInstanceOf(TlsConfigError);
    for (const e of [missing, mismatch, notPem]) expect(e.message).not.toContain('\n');
    expect(mismatch.message).not.toContain(readFileSync(certs.clientKey, 'utf8').split('\n')[1]!);
  });
});

/** A gateway whose Kubernetes API does not answer: enough for what TLS decides (it starts, not ready). */
async function tlsGateway(clientCa: string): Promise<GatewayHandle> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });
  return startGateway({
    port: 0,
    token,
    state_file: '',
    kernelspec_dirs: [dir],
    certfile: certs.serverCert,
    keyfile: certs.serverKey,
    client_ca: clientCa,
    log_level: 'error',
    kubeConfig,
    hostEnv: {},
    responseListener: { ip: '127.0.0.1', port: 0 },
    kube_api_check_interval: 3600,
    orphan_sweep_interval: 0,
  });
}

interface Answer {
  status: number;
  body: any;
}

function get(url: string, tls: { cert?: string; key?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: readFileSync(certs.ca), headers: { Authorization: `token ${token}` }, ...(tls.cert ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key!) } : {}) }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

function wsStatus(url: string, tls: { cert?: string; key?: string } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca: readFileSync(certs.ca), headers: { Authorization: `token ${token}` }, ...(tls.cert ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key!) } : {}) });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode!);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('error', reject);
  });
}

describe('the gateway over TLS', () => {
  it('serves https:// only: the REST API with the CA, and no plain-HTTP answer on its port', async () => {
    const g = await tlsGateway('');
    try {
      expect(g.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      await expect(get(`${g.url}/api`)).resolves.toMatchObject({ status: 200, body: { gateway: 'gp-gateway' } });
      const plain = await new Promise<string>((resolve) => {
        const req = httpRequest(g.url.replace('https:', 'http:') + '/api', { headers: { Authorization: `token ${token}` } }, (res) => resolve(`answered ${res.statusCode}`));
        req.on('error', (e: NodeJS.ErrnoException) => resolve(`refused ${e.code ?? e.message}`));
        req.end();
      });
      expect(plain).toMatch(/^refused /);
    } finally {
      await g.close();
    }
  });

  describe('with --client-ca', () => {
    let g: GatewayHandle;
    beforeAll(async () => {
      g = await tlsGateway(certs.ca);
    });
    afterAll(() => g?.close());

    it('answers a client with a certificate the CA signed', async () => {
      await expect(get(`${g.url}/api`, { cert: certs.clientCert, key: certs.clientKey })).resolves.toMatchObject({ status: 200 });
      // The WebSocket endpoint too: past the certificate check, the kernel lookup answers.
      expect(await wsStatus(`${g.url.replace('https:', 'wss:')}/api/kernels/no-such-kernel/channels`, { cert: certs.clientCert, key: certs.clientKey })).toBe(404);
    });

    it('refuses REST and WebSocket requests without a certificate, or with one another CA signed (403 GP_CLIENT_CERT_REQUIRED)', async () => {
      for (const [tls, why] of [
        [{}, 'no client certificate was presented'],
        [{ cert: certs.strangerCert, key: certs.strangerKey }, 'the client certificate is not signed by it: UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      ] as const) {
        await expect(get(`${g.url}/api/kernels`, tls)).resolves.toMatchObject({ status: 403, body: { code: 'GP_CLIENT_CERT_REQUIRED', reason: 'GP_CLIENT_CERT_REQUIRED', message: expect.stringContaining(why) } });
        expect(await wsStatus(`${g.url.replace('https:', 'wss:')}/api/kernels/no-such-kernel/channels`, tls)).toBe(403);
      }
    });

    it('leaves /healthz open for probes (it tells nothing and needs no token either)', async () => {
      await expect(get(`${g.url}/healthz`)).resolves.toMatchObject({ status: 200 });
    });
  });
});
