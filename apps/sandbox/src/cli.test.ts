import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@gp/core';
import { afterEach, describe, expect, it } from 'vitest';
import { helpText, optionsMarkdown, parseArgs, settingsFromCommandLine, TRY_OUT_NOTICE } from './cli.js';
import { PortInUseError } from './errors.js';
import { DEFAULT_LAB_PORT, sandboxOptionTable } from './options.js';
import { choosePort, tryPort } from './ports.js';
import { buildProgress } from './sandbox.js';

describe('gp-sandbox options', () => {
  it('defaults: JupyterLab on 8888, any gateway port, python and r, no kubeconfig', () => {
    const r = settingsFromCommandLine([], {});
    expect(r.help).toBe(false);
    if (r.help) return;
    expect(r.settings).toMatchObject({ port: DEFAULT_LAB_PORT, gateway_port: 0, languages: ['python', 'r'], kubeconfig: false, launch_timeout: 120 });
    expect(Object.values(r.given).some(Boolean)).toBe(false);
  });

  it('flags beat GP_SANDBOX_* env, and record what was given', () => {
    const r = settingsFromCommandLine(['--port=9000', '--kubeconfig', '--languages', 'Python'], { GP_SANDBOX_PORT: '9100', GP_SANDBOX_GATEWAY_PORT: '9200' });
    if (r.help) throw new Error('help');
    expect(r.settings).toMatchObject({ port: 9000, gateway_port: 9200, kubeconfig: true, languages: ['python'] });
    expect(r.given).toMatchObject({ port: true, gateway_port: true, kubeconfig: true, languages: true, python: false });
  });

  it.each([
    [['--port=70000'], /"70000" for --port .*expected a port number in 0..65535/],
    [['--languages=python,scala'], /for --languages .*expected a comma-separated list of python, r/],
    [['--launch-timeout=0'], /for --launch-timeout .*a positive number of seconds/],
    [['--bogus'], /for --bogus .*a known flag: --port, --gateway-port/],
    [['start'], /"start" for start .*a known flag/],
    [['--port'], /--port .*expected a value/],
  ])('refuses %j with a ConfigError naming the value and what is valid', (argv, message) => {
    const error = (() => {
      try {
        settingsFromCommandLine(argv, {});
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('--help lists every option with its default and environment variable, and says it is for trying out', () => {
    expect(parseArgs(['--help']).help).toBe(true);
    const help = helpText();
    expect(help).toContain(TRY_OUT_NOTICE);
    for (const def of sandboxOptionTable.list) {
      expect(help).toContain(`--${def.flag}`);
      expect(help).toContain(def.env[0]!);
    }
  });
});

describe('choosePort', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const occupy = async (): Promise<number> => {
    const s = createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as { port: number }).port;
  };

  it('a port given explicitly and taken is a PortInUseError naming the port and the flag', async () => {
    const taken = await occupy();
    const error = await choosePort(taken, 'port', true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PortInUseError);
    expect((error as PortInUseError).message).toContain(`Port ${taken} on 127.0.0.1 (--port) is already in use`);
    expect((error as PortInUseError).code).toBe('GP_SANDBOX_PORT_IN_USE');
  });

  it('the default port, taken, gives way to another free port (a second sandbox beside the first)', async () => {
    const taken = await occupy();
    const chosen = await choosePort(taken, 'port', false);
    expect(chosen).not.toBe(taken);
    expect(await tryPort(chosen)).toBe(chosen);
  });

  it('0 picks a free port, never one to avoid', async () => {
    const avoid = await occupy();
    const chosen = await choosePort(0, 'gateway-port', false, [avoid]);
    expect(chosen).toBeGreaterThan(0);
    expect(chosen).not.toBe(avoid);
  });
});

describe('buildProgress', () => {
  it('tells a first-time user the build happens once and how long it takes', () => {
    expect(buildProgress('building gp-testcluster (Kubernetes v1.36.3) into /c/v1.36.3-abc; a cold build takes many minutes')).toBe(
      'building the control plane (Kubernetes v1.36.3) from its Go sources, once: about 15 minutes on 2 cores; later starts take seconds (cached in /c/v1.36.3-abc)',
    );
    expect(buildProgress('  go build: 300 packages compiled (120s)')).toBe('control plane build: 300 packages compiled (120s)');
  });
});

describe('README', () => {
  it("the option table is the one the definitions give (optionsMarkdown)", () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
    const table = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(readme)?.[1];
    expect(table).toBe(optionsMarkdown());
  });
});
