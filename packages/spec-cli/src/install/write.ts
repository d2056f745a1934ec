/**
 * Writes a kernel spec directory atomically: everything is staged in a sibling directory of the target
 * (same file system) and renamed into place. With `replace`, the old spec is renamed aside, the new one
 * renamed in, and the old one removed; if anything fails the old spec is put back and no staging
 * directory is left behind. Staging names contain `~`, which Jupyter's kernel-name rule excludes, so
 * `jupyter kernelspec list` never sees a half-written spec.
 */
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GpError } from '@gp/core';

export class KernelSpecExistsError extends GpError {
  constructor(readonly dir: string) {
    super('GP_KERNELSPEC_EXISTS', `A kernel specification exists at '${dir}' and '--replace' has not been specified. Nothing was written.`, {
      details: { dir },
    });
  }
}

/** What a user can do about a file-system error code while installing. */
export function writeFailureHint(code: string | undefined): string | undefined {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'Run as a user who may write there (root in a Dockerfile RUN step), or install with --user or --prefix DIR.';
    case 'EROFS':
      return 'The file system is read-only: install with --user or --prefix DIR on a writable one.';
    case 'ENOTDIR':
      return 'A part of that path is a file, not a directory: choose another --prefix.';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'The disk (or quota) is full: free space or install elsewhere with --prefix DIR.';
    default:
      return undefined;
  }
}

export class KernelSpecWriteError extends GpError {
  constructor(dir: string, cause: unknown) {
    const hint = writeFailureHint((cause as NodeJS.ErrnoException | undefined)?.code);
    super('GP_KERNELSPEC_WRITE', `Could not install the kernel specification at '${dir}': ${(cause as Error)?.message ?? String(cause)}${hint ? `. ${hint}` : ''}`, {
      cause,
      details: { dir },
    });
  }
}

/**
 * Refuses a destination that cannot be written, before anything is logged or staged: the nearest existing
 * directory on the way to `kernelsDir` must be a directory this process may write into.
 */
export function checkWritableDestination(kernelsDir: string, name: string): void {
  let existing = kernelsDir;
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const target = join(kernelsDir, name);
  const fail = (code: string, message: string): never => {
    throw new KernelSpecWriteError(target, Object.assign(new Error(message), { code }));
  };
  if (!statSync(existing).isDirectory()) fail('ENOTDIR', `'${existing}' is not a directory`);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EACCES';
    fail(code, `no permission to write into '${existing}' (${code})`);
  }
}

export interface StagedFile {
  /** Path inside the spec directory, with `/` separators. */
  path: string;
  /** Copy from this file... */
  source?: string;
  /** ...or write this text. */
  content?: string;
  mode: number;
}

export interface WriteOptions {
  replace: boolean;
}

/** Installs `files` as `<kernelsDir>/<name>`; returns the spec directory. */
export function writeKernelSpec(kernelsDir: string, name: string, files: readonly StagedFile[], options: WriteOptions): string {
  const target = join(kernelsDir, name);
  if (existsSync(target) && !options.replace) throw new KernelSpecExistsError(target);
  try {
    mkdirSync(kernelsDir, { recursive: true });
  } catch (error) {
    throw new KernelSpecWriteError(target, error);
  }
  let staging: string | undefined;
  try {
    staging = mkdtempSync(join(kernelsDir, `.${name}~staging-`));
    for (const f of files) {
      const dest = join(staging, ...f.path.split('/'));
      mkdirSync(dirname(dest), { recursive: true, mode: 0o755 });
      if (f.source !== undefined) copyFileSync(f.source, dest);
      else writeFileSync(dest, f.content ?? '');
      chmodSync(dest, f.mode);
    }
    for (const sub of new Set(files.map((f) => f.path.split('/').slice(0, -1).join('/')).filter(Boolean))) {
      chmodSync(join(staging, ...sub.split('/')), 0o755);
    }
    chmodSync(staging, 0o755);
    swapInto(staging, target, kernelsDir, name, options.replace);
    staging = undefined;
    return target;
  } catch (error) {
    if (error instanceof KernelSpecExistsError) throw error;
    throw new KernelSpecWriteError(target, error);
  } finally {
    if (staging !== undefined) rmSync(staging, { recursive: true, force: true });
  }
}

function swapInto(staging: string, target: string, kernelsDir: string, name: string, replace: boolean): void {
  if (!existsSync(target)) {
    try {
      renameSync(staging, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'EEXIST' || code === 'ENOTEMPTY') && !replace) throw new KernelSpecExistsError(target);
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw error;
    }
  }
  const backup = mkdtempSync(join(kernelsDir, `.${name}~old-`));
  const aside = join(backup, name);
  renameSync(target, aside);
  try {
    renameSync(staging, target);
  } catch (error) {
    renameSync(aside, target);
    rmSync(backup, { recursive: true, force: true });
    throw error;
  }
  rmSync(backup, { recursive: true, force: true });
}
