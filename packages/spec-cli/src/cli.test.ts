import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import { main } from './cli.js';
import { installCommand, parseInstallArgs } from './commands/install.js';
import { UsageError } from './commands/command.js';

async function run(args: string[]) {
  let out = '';
  const err: string[] = [];
  const code = await main(args, { stdout: (t) => (out += t), stderr: (l) => err.push(l) });
  return { code, out, err };
}

describe('main', () => {
  it('lists subcommands on --help (exit 0) and without a subcommand (exit 1)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('install\n    Creates a Jupyter kernel specification');
    expect(help.out).toContain('rbac\n');
    const none = await run([]);
    expect(none.code).toBe(1);
    expect(none.err[0]).toBe("No subcommand specified. Must specify one of: ['install', 'rbac', 'image-bootstrap']");
  });
  it('prints its version from package.json on --version and -V', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      expect(r).toEqual({ code: 0, out: `${version}\n`, err: [] });
    }
    expect((await run(['--help'])).out).toContain('k8s-spec --version');
  });
  it('rejects unknown subcommands in one line', async () => {
    const r = await run(['nope']);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/\[E .* K8sSpecApp\] Unknown subcommand 'nope': must be one of install, rbac/);
  });
  it('renders install help without touching the file system', async () => {
    const r = await run(['install', '--kernel-name', 'x', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Creates a Jupyter kernel specification/);
  });
  it('reports install errors as one logged line', async () => {
    const r = await run(['install', '--port-range', '5..6']);
    expect(r.code).toBe(1);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/\[E .* K8sSpecInstaller\] Invalid value "5\.\.6" for --port-range/);
  });
});

describe('parseInstallArgs', () => {
  it('parses flags as declared and rejects unknown ones', () => {
    const p = parseInstallArgs(['--spark', '--no-user', '--launch-timeout', '10', '--authorized-users', 'a', '--authorized-users=b']);
    expect(p.spark).toBe(true);
    expect(p.user).toBe(false);
    expect(p['launch-timeout']).toBe('10');
    expect(p['authorized-users']).toEqual(['a', 'b']);
    expect(() => parseInstallArgs(['--nope'])).toThrow(UsageError);
    expect(() => parseInstallArgs(['positional'])).toThrow(/Unknown argument: positional/);
  });
});

describe('installCommand (yargs module)', () => {
  it('mounts in a yargs program and validates through the same option table', async () => {
    const prefix = join(mkdtempSync(join(tmpdir(), 'gp-yargs-')), 'p');
    await expect(
      yargs(['install', '--prefix', prefix, '--port-range', 'abc'])
        .command(installCommand)
        .strict()
        .exitProcess(false)
        .fail((msg, err) => {
          throw err ?? new Error(msg);
        })
        .parseAsync(),
    ).rejects.toThrow(/Invalid value "abc" for --port-range \(from command-line flag --port-range\)/);
    await expect(
      (async () =>
        yargs(['install', '--frobnicate']).command(installCommand).strict().exitProcess(false).fail((msg, err) => {
          throw err ?? new Error(msg);
        }).parseAsync())(),
    ).rejects.toThrow(/Unknown argument/);
  });
});
