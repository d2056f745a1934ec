import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ConfigError } from '@gp/core';
import { repoRoot } from '@gp/testkit';
import yargs from 'yargs';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageBootstrapError, createImageBootstrapCommand, installImageLaunchers, parseLanguages, shippedLaunchersDir } from './image-bootstrap.js';
import { runScript } from '../install/spec.js';

const work = mkdtempSync(join(tmpdir(), 'gp-image-bootstrap-'));
let counter = 0;
const freshDir = (): string => join(work, `t${++counter}`);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every file under `dir`: relative path → [mode, contents]. */
function tree(dir: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[relative(dir, path)] = [(statSync(path).mode & 0o777).toString(8), readFileSync(path, 'utf8')];
    }
  };
  walk(dir);
  return out;
}

/** Runs `k8s-spec image-bootstrap <args>` through yargs, as the CLI does; resolves to the error, if any. */
async function runCli(args: string[]): Promise<Error | undefined> {
  try {
    await yargs(args)
      .scriptName('k8s-spec')
      .command(createImageBootstrapCommand())
      .demandCommand(1)
      .strict()
      .exitProcess(false)
      .fail((message, err) => {
        throw err ?? new Error(message);
      })
      .parseAsync();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

const options = (prefix: string, extra: Partial<Parameters<typeof installImageLaunchers>[0]> = {}) => ({
  languages: ['Python'],
  launchersOnly: false,
  prefix,
  overwrite: false,
  ...extra,
});

describe('k8s-spec image-bootstrap install', () => {
  it('finds the launchers shipped in @gp/launcher', () => {
    expect(shippedLaunchersDir()).toBe(join(repoRoot, 'packages', 'launcher', 'kernel-launchers'));
  });

  it.each([
    [['python', 'R'], []],
    [['python'], []],
    [['R'], ['--launchers-only']],
    [['scala'], []],
    [['python', 'R', 'scala'], ['--launchers-only']],
  ])('produces exactly what kernel-launchers/install.sh produces (languages %j %j)', (languages, extra) => {
    const viaScript = freshDir();
    const viaCli = freshDir();
    execFileSync('sh', [join(shippedLaunchersDir(), 'install.sh'), '--prefix', viaScript, '--languages', languages.join(','), ...extra], { stdio: 'pipe' });
    installImageLaunchers(options(viaCli, { languages, launchersOnly: extra.includes('--launchers-only') }));
    expect(tree(viaCli)).toEqual(tree(viaScript));
    expect(Object.keys(tree(viaCli)).includes('bootstrap-kernel.sh')).toBe(!extra.includes('--launchers-only'));
  });

  it('installs Python by default, with the modes the image needs', async () => {
    const prefix = freshDir();
    expect(await runCli(['image-bootstrap', 'install', '--prefix', prefix, '--log-level', 'error'])).toBeUndefined();
    expect(tree(prefix)).toMatchObject({
      'bootstrap-kernel.sh': ['755', expect.stringContaining('KERNEL_LANGUAGE')],
      'kernel-launchers/python/scripts/launch_ipykernel.py': ['755', expect.any(String)],
      'kernel-launchers/python/scripts/gp_launcher.py': ['644', expect.any(String)],
      'kernel-launchers/python/scripts/gp_pool.py': ['644', expect.stringContaining('gp-claim-v1')],
    });
    expect(existsSync(join(prefix, 'kernel-launchers', 'R'))).toBe(false);
  });

  it('accepts --languages comma-separated, repeated and in any case', async () => {
    const prefix = freshDir();
    expect(await runCli(['image-bootstrap', 'install', '--prefix', prefix, '--languages', 'PYTHON', '--languages', 'r', '--log-level', 'error'])).toBeUndefined();
    expect(existsSync(join(prefix, 'kernel-launchers', 'R', 'scripts', 'launch_IRkernel.py'))).toBe(true);
    expect(parseLanguages(['python,R', 'Python'])).toEqual(['python', 'R']);
  });

  it('refuses unknown languages, naming the value and what is valid', () => {
    expect(() => parseLanguages(['cobol'])).toThrow(ConfigError);
    expect(() => parseLanguages(['cobol'])).toThrow(/"cobol".*python, R, scala/);
    expect(() => parseLanguages([''])).toThrow(/one or more of python, R, scala/);
  });

  it("installs every launcher file an R --spark kernelspec's bin/run.sh calls", () => {
    const prefix = freshDir();
    installImageLaunchers(options(prefix, { languages: ['R'] }));
    const called = [...runScript('R').matchAll(/\$\{KERNEL_LAUNCHERS_DIR\}\/([\w./-]+)/g)].map((m) => m[1]!);
    expect(called).toEqual(['R/scripts/launch_IRkernel.R']);
    for (const file of called) expect(statSync(join(prefix, 'kernel-launchers', file)).mode & 0o777).toBe(0o755);
  });

  it('installs the Scala (Apache Toree) launcher with --languages scala', async () => {
    const prefix = freshDir();
    expect(await runCli(['image-bootstrap', 'install', '--prefix', prefix, '--languages', 'Scala', '--log-level', 'error'])).toBeUndefined();
    expect(tree(prefix)).toMatchObject({
      'bootstrap-kernel.sh': ['755', expect.stringContaining('scala/scripts/launch_toree.py')],
      'kernel-launchers/scala/scripts/launch_toree.py': ['755', expect.stringContaining('org.apache.toree.Main')],
      'kernel-launchers/scala/scripts/gp_launcher.py': ['644', expect.any(String)],
    });
    expect(parseLanguages(['SCALA', 'python'])).toEqual(['scala', 'python']);
  });

  it('is idempotent: a second run over identical files succeeds and changes nothing', () => {
    const prefix = freshDir();
    installImageLaunchers(options(prefix, { languages: ['python', 'R'] }));
    const before = tree(prefix);
    const result = installImageLaunchers(options(prefix, { languages: ['python', 'R'] }));
    expect(result.unchanged).toHaveLength(result.files.length);
    expect(tree(prefix)).toEqual(before);
  });

  it('refuses to replace a file with other contents and writes nothing at all; --overwrite replaces it', () => {
    const prefix = freshDir();
    mkdirSync(prefix, { recursive: true });
    writeFileSync(join(prefix, 'bootstrap-kernel.sh'), '#!/bin/sh\necho mine\n');
    let error: unknown;
    try {
      installImageLaunchers(options(prefix));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImageBootstrapError);
    expect(error).toMatchObject({ code: 'GP_TARGET_EXISTS', details: { conflicts: [join(prefix, 'bootstrap-kernel.sh')] } });
    expect((error as Error).message).toMatch(/--overwrite/);
    expect(existsSync(join(prefix, 'kernel-launchers'))).toBe(false);
    expect(readFileSync(join(prefix, 'bootstrap-kernel.sh'), 'utf8')).toContain('echo mine');

    installImageLaunchers(options(prefix, { overwrite: true }));
    expect(readFileSync(join(prefix, 'bootstrap-kernel.sh'), 'utf8')).toBe(readFileSync(join(shippedLaunchersDir(), 'bootstrap', 'bootstrap-kernel.sh'), 'utf8'));
    expect(readdirSync(prefix).filter((n) => n.includes('gp-tmp'))).toEqual([]);
  });

  it('refuses a prefix below a regular file before writing anything', () => {
    const file = join(freshDir());
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'not a directory');
    expect(() => installImageLaunchers(options(join(file, 'bin')))).toThrow(/is not a directory/);
  });

  it('reports a missing source tree as GP_MISSING_RESOURCE', () => {
    expect(() => installImageLaunchers(options(freshDir(), { sourceDir: join(work, 'nowhere') }))).toThrow(
      expect.objectContaining({ code: 'GP_MISSING_RESOURCE' }),
    );
  });

  it('needs the install subcommand and rejects unknown flags', async () => {
    expect((await runCli(['image-bootstrap']))?.message).toMatch(/Must specify one of: \['install'\]/);
    expect((await runCli(['image-bootstrap', 'install', '--bogus']))?.message).toMatch(/Unknown argument: bogus/);
  });
});
