import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelSpecExistsError, KernelSpecWriteError, checkWritableDestination, writeFailureHint, writeKernelSpec } from './write.js';

function kernels(): string {
  return join(mkdtempSync(join(tmpdir(), 'gp-write-')), 'share', 'jupyter', 'kernels');
}

describe('writeKernelSpec', () => {
  it('creates the spec with modes and leaves nothing else behind', () => {
    const dir = kernels();
    const src = join(dir, '..', 'src.txt');
    mkdirSync(dir, { recursive: true });
    writeFileSync(src, 'copied');
    const out = writeKernelSpec(dir, 'k', [
      { path: 'kernel.json', content: '{}\n', mode: 0o644 },
      { path: 'bin/run.sh', content: '#!/bin/sh\n', mode: 0o755 },
      { path: 'scripts/a.txt', source: src, mode: 0o644 },
    ], { replace: false });
    expect(out).toBe(join(dir, 'k'));
    expect(readdirSync(dir)).toEqual(['k']);
    expect(readFileSync(join(out, 'scripts', 'a.txt'), 'utf8')).toBe('copied');
    expect(statSync(join(out, 'bin', 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(out).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'kernel.json')).mode & 0o777).toBe(0o644);
  });

  it('refuses to overwrite without replace, and leaves the old spec alone', () => {
    const dir = kernels();
    writeKernelSpec(dir, 'k', [{ path: 'kernel.json', content: 'old', mode: 0o644 }], { replace: false });
    expect(() => writeKernelSpec(dir, 'k', [{ path: 'kernel.json', content: 'new', mode: 0o644 }], { replace: false })).toThrow(KernelSpecExistsError);
    expect(() => writeKernelSpec(dir, 'k', [], { replace: false })).toThrow(/exists at '.*k' and '--replace' has not been specified/);
    expect(readFileSync(join(dir, 'k', 'kernel.json'), 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['k']);
  });

  it('replaces the whole directory with replace (no stale files)', () => {
    const dir = kernels();
    writeKernelSpec(dir, 'k', [{ path: 'kernel.json', content: 'old', mode: 0o644 }, { path: 'bin/run.sh', content: 'x', mode: 0o755 }], { replace: false });
    writeKernelSpec(dir, 'k', [{ path: 'kernel.json', content: 'new', mode: 0o644 }], { replace: true });
    expect(readFileSync(join(dir, 'k', 'kernel.json'), 'utf8')).toBe('new');
    expect(existsSync(join(dir, 'k', 'bin'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['k']);
  });

  it('a failure while staging keeps the old spec intact and removes the staging directory', () => {
    const dir = kernels();
    writeKernelSpec(dir, 'k', [{ path: 'kernel.json', content: 'old', mode: 0o644 }], { replace: false });
    expect(() =>
      writeKernelSpec(dir, 'k', [
        { path: 'kernel.json', content: 'new', mode: 0o644 },
        { path: 'scripts/missing', source: join(dir, 'does-not-exist'), mode: 0o644 },
      ], { replace: true }),
    ).toThrow(KernelSpecWriteError);
    expect(readFileSync(join(dir, 'k', 'kernel.json'), 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['k']);
  });

  it('a failure on a fresh install leaves no spec and no staging directory', () => {
    const dir = kernels();
    expect(() => writeKernelSpec(dir, 'k', [{ path: 'x', source: '/nonexistent/file', mode: 0o644 }], { replace: false })).toThrow(
      /Could not install the kernel specification at .*k.*nonexistent/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('checkWritableDestination', () => {
  it('accepts a missing kernels dir under a writable directory, creating nothing', () => {
    const dir = kernels();
    expect(() => checkWritableDestination(dir, 'k')).not.toThrow();
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses a prefix under a regular file, saying what to do', () => {
    const root = mkdtempSync(join(tmpdir(), 'gp-write-'));
    writeFileSync(join(root, 'file'), '');
    const dir = join(root, 'file', 'share', 'jupyter', 'kernels');
    expect(() => checkWritableDestination(dir, 'k')).toThrow(KernelSpecWriteError);
    expect(() => checkWritableDestination(dir, 'k')).toThrow(/'.*\/file' is not a directory\. A part of that path is a file, not a directory: choose another --prefix\./);
  });

  it('gives an action for the file-system errors a user can fix', () => {
    expect(writeFailureHint('EACCES')).toMatch(/--user or --prefix DIR/);
    expect(writeFailureHint('EPERM')).toBe(writeFailureHint('EACCES'));
    expect(writeFailureHint('EROFS')).toMatch(/read-only/);
    expect(writeFailureHint('ENOSPC')).toMatch(/full/);
    expect(writeFailureHint('EIO')).toBeUndefined();
    const e = new KernelSpecWriteError('/usr/local/share/jupyter/kernels/k', Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
    expect(e.message).toBe(
      "Could not install the kernel specification at '/usr/local/share/jupyter/kernels/k': EACCES: permission denied. Run as a user who may write there (root in a Dockerfile RUN step), or install with --user or --prefix DIR.",
    );
  });
});
