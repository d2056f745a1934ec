import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { helpText, parseArgs, settingsFromCommandLine } from './cli.js';
import { settingsFromOptions } from './options.js';

const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gateway settings', () => {
  it('resolves default < file < env < flag', async () => {
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, 'GatewayApp:\n  port: 9001\n  cull_idle_timeout: 60\n  token: from-file\n');
    const env = { GP_GATEWAY_PORT: '9002', GP_GATEWAY_TOKEN: 'from-env' };
    const { settings } = await settingsFromCommandLine(['--config', file, '--port=9003'], env);
    expect(settings).toMatchObject({ port: 9003, token: 'from-env', cull_idle_timeout: 60, cull_interval: 300, shutdown_policy: 'leave' });
  });

  it('lists accumulate and accept commas', () => {
    const args = parseArgs(['--allowed-env', 'KERNEL_USERNAME', '--allowed-env=KERNEL_UID,KERNEL_GID']);
    expect(args.flags.allowed_env?.value).toBe('KERNEL_USERNAME,KERNEL_UID,KERNEL_GID');
  });

  it('bad values and unknown flags are ConfigErrors naming them', async () => {
    await expect(settingsFromCommandLine(['--port=http'], {})).rejects.toThrow(/Invalid value "http" for --port \(from command-line flag --port\)/);
    await expect(settingsFromCommandLine([], { GP_GATEWAY_SHUTDOWN_POLICY: 'explode' })).rejects.toThrow(/GP_GATEWAY_SHUTDOWN_POLICY.*'leave', 'stop'/);
    expect(() => parseArgs(['--no-such-flag=1'])).toThrow(/--no-such-flag.*expected a known flag: --ip, --port/);
  });

  it('programmatic options are checked by the same definitions', () => {
    expect(settingsFromOptions({ port: 0, token: 't' })).toMatchObject({ port: 0, token: 't', ip: '127.0.0.1', allowed_env: expect.arrayContaining(['KERNEL_USERNAME']) });
    expect(() => settingsFromOptions({ port: 70000 })).toThrow(/a port number in 0..65535/);
  });

  it('the WebSocket heartbeat: every 30 s by default, 0 disables, negative is refused', async () => {
    expect(settingsFromOptions({}).ws_ping_interval).toBe(30);
    expect((await settingsFromCommandLine(['--ws-ping-interval=0'], {})).settings?.ws_ping_interval).toBe(0);
    await expect(settingsFromCommandLine([], { GP_GATEWAY_WS_PING_INTERVAL: '-1' })).rejects.toThrow(/GP_GATEWAY_WS_PING_INTERVAL.*non-negative/);
  });

  it('connection limits: defaults, and a non-positive value is refused naming the option', async () => {
    expect(settingsFromOptions({})).toMatchObject({ ws_max_message_size: 10 * 1024 * 1024, ws_max_connections_per_kernel: 256, ws_max_connections: 4096, allow_origin: [] });
    expect((await settingsFromCommandLine(['--allow-origin=https://a.example,https://b.example'], {})).settings?.allow_origin).toEqual(['https://a.example', 'https://b.example']);
    await expect(settingsFromCommandLine(['--ws-max-connections=0'], {})).rejects.toThrow(/--ws-max-connections.*a positive integer/);
  });

  it('a token on the command line (visible in ps) is a warning that does not quote it; from env or file it is not', async () => {
    const flagged = await settingsFromCommandLine(['--token=s3cret-value'], {});
    expect(flagged.warnings).toHaveLength(1);
    expect(flagged.warnings[0]).toMatch(/--token-file/);
    expect(flagged.warnings[0]).not.toContain('s3cret-value');
    expect((await settingsFromCommandLine([], { GP_GATEWAY_TOKEN: 's3cret-value' })).warnings).toEqual([]);
    expect((await settingsFromCommandLine(['--token-file=/run/secrets/token'], {})).warnings).toEqual([]);
  });

  it('--help lists every option with its env var', () => {
    const text = helpText();
    for (const flag of ['--port', '--token', '--kernelspec-dirs', '--state-file', '--allowed-env', '--cull-idle-timeout', '--shutdown-policy', '--orphan-policy']) {
      expect(text).toContain(flag);
    }
    expect(text).toContain('GP_GATEWAY_CULL_INTERVAL');
  });
});
