/**
 * Threat model, connections (see README.md here), without a cluster: the `gp-gateway` command in its own
 * process, attacked on its connection side. Whatever a client does to a socket ends that socket, never the
 * process; refusals are HTTP answers naming the rule; start-up mistakes are one line naming the option.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESET_STAGES, rawRequest, rawUpgrade, upgradeRequest, upgradeThenReset } from './attacker.js';
import { GatewayProcess } from './gateway-process.js';
import { makeTestCerts, type TestCerts } from '../e2e/test-certs.js';

const token = randomUUID();
const dir = mkdtempSync(join(tmpdir(), 'gp-threat-unit-'));
let gateway: GatewayProcess;
let url: string;
let port: number;

beforeAll(async () => {
  // The token on the command line on purpose: the warning is one of the things checked.
  gateway = GatewayProcess.spawn({ args: [`--token=${token}`, '--allow-origin=https://lab.example.com'] });
  url = await gateway.url();
  port = Number(new URL(url).port);
});

afterAll(async () => {
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function serves(): Promise<boolean> {
  const res = await fetch(`${url}/api`, { headers: { Authorization: `token ${token}` } });
  return res.status === 200;
}

describe('threat: a client resets its connection during a WebSocket upgrade', () => {
  const cases: Array<[string, string, Record<string, string>]> = [
    ['unauthenticated (refused 403)', '/api/kernels/x/channels', {}],
    ['to no endpoint (refused 404)', '/api/nothing', {}],
    ['from a refused Origin (403)', '/api/kernels/x/channels', { Origin: 'https://evil.example.com', Authorization: `token ${token}` }],
    ['authorized, during the kernel lookup (404)', `/api/kernels/${randomUUID()}/channels`, { Authorization: `token ${token}` }],
  ];
  for (const [what, path, headers] of cases) {
    it(`${what}: at every stage, 10 times each, the gateway lives and serves`, async () => {
      for (let round = 0; round < 10; round++) {
        for (const at of RESET_STAGES) await upgradeThenReset(port, path, at, headers);
      }
      expect(gateway.alive, gateway.stderr.slice(-2000)).toBe(true);
      expect(await serves()).toBe(true);
      expect(gateway.stderr).not.toMatch(/Unhandled|ECONNRESET/);
    });
  }
});

describe('threat: a request target that is not a valid URL', () => {
  it('gets 400, as a plain request and as an upgrade, from an unauthenticated client; the gateway lives', async () => {
    for (const target of ['http://[', 'http://x:99999/', 'http://u:p@[::1']) {
      expect(await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`)).toBe(400);
      expect(await rawRequest(port, upgradeRequest(target))).toBe(400);
    }
    expect(gateway.alive, gateway.stderr.slice(-2000)).toBe(true);
    expect(await serves()).toBe(true);
  });
});

describe('threat: a web page opens a kernel WebSocket from another origin', () => {
  const path = `/api/kernels/${randomUUID()}/channels`;
  const auth = { Authorization: `token ${token}` };

  it('an Origin outside --allow-origin is refused with 403 naming it, before the token or the kernel is looked at', async () => {
    const refused = await rawUpgrade(port, path, { ...auth, Origin: 'https://evil.example.com' });
    refused.socket.destroy();
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'GP_ORIGIN_NOT_ALLOWED', message: expect.stringContaining('https://evil.example.com') });
  });

  it('no Origin (server-side clients such as Jupyter Server), the same origin, or an allowed one get through to the kernel lookup', async () => {
    for (const origin of [undefined, 'http://127.0.0.1', 'https://lab.example.com', 'HTTPS://LAB.EXAMPLE.COM']) {
      const res = await rawUpgrade(port, path, { ...auth, ...(origin ? { Origin: origin } : {}) });
      res.socket.destroy();
      expect({ origin, status: res.status, code: JSON.parse(res.body).code }).toEqual({ origin, status: 404, code: 'GP_NO_SUCH_KERNEL' });
    }
  });
});

describe('threat: the token is read off the command line', () => {
  it('a token given with --token gets a warning in the log, which never prints the token', () => {
    const warnings = gateway.logs().filter((l) => l.level === 'warn' && /command line \(--token\)/.test(String(l.msg)));
    expect(warnings).toHaveLength(1);
    expect(gateway.stderr).not.toContain(token);
    expect(gateway.stdout).not.toContain(token);
  });

  it('--token-file (GP_GATEWAY_TOKEN_FILE) supplies the token, without a warning', async () => {
    const file = join(dir, 'token');
    const fileToken = randomUUID();
    writeFileSync(file, `${fileToken}\n`, { mode: 0o600 });
    const g = GatewayProcess.spawn({ env: { GP_GATEWAY_TOKEN_FILE: file } });
    try {
      const u = await g.url();
      expect((await fetch(`${u}/api`, { headers: { Authorization: `token ${fileToken}` } })).status).toBe(200);
      expect((await fetch(`${u}/api`, { headers: { Authorization: `token ${token}` } })).status).toBe(403);
      expect(g.stderr).not.toMatch(/generated token|command line/);
      expect(g.stderr).not.toContain(fileToken);
    } finally {
      await g.stop();
    }
  });

  it('a token given two ways, or a token file that cannot be read, stops the start (exit 2) naming the option', async () => {
    const both = GatewayProcess.spawn({ env: { GP_GATEWAY_TOKEN: 'x', GP_GATEWAY_TOKEN_FILE: join(dir, 'token') } });
    const missing = GatewayProcess.spawn({ args: [`--token-file=${join(dir, 'no-such-file')}`] });
    try {
      expect(await both.exited).toBe(2);
      expect(both.stderr).toMatch(/^gp-gateway: Both --token and --token-file .* are set.*\[GP_INVALID_CONFIG\]$/m);
      expect(await missing.exited).toBe(2);
      expect(missing.stderr).toMatch(/^gp-gateway: Cannot read the token file .*no-such-file \(--token-file\): ENOENT.*\[GP_INVALID_CONFIG\]$/m);
    } finally {
      await both.stop();
      await missing.stop();
    }
  });
});

describe('fault: the port is already in use', () => {
  let squatter: Server;
  let taken: number;

  beforeAll(async () => {
    squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    taken = (squatter.address() as { port: number }).port;
  });

  afterAll(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

  it('gp-gateway exits 1 with one line naming --ip and --port and the value, no stack trace', async () => {
    const g = GatewayProcess.spawn({ args: [`--port=${taken}`, '--ip=127.0.0.1'] });
    try {
      expect(await g.exited).toBe(1);
      const lines = g.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      expect(lines).toEqual([
        `gp-gateway: Cannot listen on --ip=127.0.0.1 --port=${taken}: the address is already in use: choose another --port (or 0 for a free one), or stop what listens on ${taken} (EADDRINUSE). [GP_LISTEN_FAILED]`,
      ]);
    } finally {
      await g.stop();
    }
  });
});

describe('the gp-gateway --help', () => {
  it('documents the connection options', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=@gp/source', '--import', 'tsx', join(repoRoot, 'apps', 'gateway', 'src', 'bin', 'gp-gateway.ts'), '--help'], {
      cwd: join(repoRoot, 'apps', 'gateway'),
    });
    for (const flag of ['--token-file', '--allow-origin', '--ws-max-message-size', '--ws-max-connections-per-kernel', '--ws-max-connections']) expect(stdout).toContain(flag);
  });
});

describe('threat: gp-gateway starts with TLS files it cannot use (C14)', () => {
  let certDir: string;
  let certs: TestCerts;
  beforeAll(() => {
    certDir = mkdtempSync(join(tmpdir(), 'gp-gateway-certs-'));
    certs = makeTestCerts(certDir);
  });
  afterAll(() => rmSync(certDir, { recursive: true, force: true }));

  it('a key that is not the certificate\'s: exit 1 with one line naming both files, never the key, no plain listener', async () => {
    const g = GatewayProcess.spawn({ args: ['--port=0', '--ip=127.0.0.1', `--certfile=${certs.serverCert}`, `--keyfile=${certs.clientKey}`] });
    try {
      expect(await g.exited).toBe(1);
      const lines = g.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^gp-gateway: Cannot use the TLS files: --keyfile=${certs.clientKey} is not the key of --certfile=${certs.serverCert} \\(.*\\)\\. \\[GP_TLS_CONFIG\\]$`));
      expect(g.stderr).not.toContain('PRIVATE KEY');
    } finally {
      await g.stop();
    }
  });
});
