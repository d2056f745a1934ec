/**
 * Where the files copied into a spec come from: the launcher bundles of @gp/launcher, the templates of
 * @gp/templates, and this package's logos. Resolved as files only (nothing is imported), to keep startup fast.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GpError } from '@gp/core';
import type { LogoKind, ScriptName, SpecFile, TemplateName } from './spec.js';

/** A file the spec needs is missing (an unbuilt launcher bundle, an incomplete install). */
export class MissingResourceError extends GpError {
  constructor(message: string, details: Record<string, unknown>) {
    super('GP_MISSING_RESOURCE', message, { details });
  }
}

const resolver = createRequire(import.meta.url);

export function launcherScriptPath(name: ScriptName): string {
  const specifier = `@gp/launcher/scripts/${name}`;
  let path: string | undefined;
  try {
    path = resolver.resolve(specifier);
  } catch {
    path = undefined;
  }
  if (!path || !existsSync(path)) {
    throw new MissingResourceError(
      `The launcher bundle ${specifier} is missing${path ? ` (${path})` : ''}: build it with 'pnpm --filter @gp/launcher build' (or reinstall @gp/spec-cli).`,
      { specifier, path },
    );
  }
  return path;
}

export function templatePath(name: TemplateName): string {
  let root: string | undefined;
  try {
    root = dirname(resolver.resolve('@gp/templates/package.json'));
  } catch {
    root = undefined;
  }
  const path = root && join(root, 'templates', name);
  if (!path || !existsSync(path)) {
    throw new MissingResourceError(`The template ${name} is missing${path ? ` (${path})` : ''}: @gp/templates is not installed completely.`, {
      template: name,
      path,
    });
  }
  return path;
}

/** This package's root (where `assets/` is), from `src/install` or from `dist/`. */
function packageRoot(): string {
  return dirname(resolver.resolve('@gp/spec-cli/package.json'));
}

export function logoPath(kind: LogoKind): string {
  const path = join(packageRoot(), 'assets', 'logos', `${kind}-64x64.png`);
  if (!existsSync(path)) throw new MissingResourceError(`The logo ${path} is missing: @gp/spec-cli is not installed completely.`, { path });
  return path;
}

/** Resolves where each copied file of a plan comes from; throws before anything is written. */
export function resolveSources(files: readonly SpecFile[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files) {
    if (!('from' in f)) continue;
    const src = f.from.kind === 'launcher' ? launcherScriptPath(f.from.name) : f.from.kind === 'template' ? templatePath(f.from.name) : logoPath(f.from.name);
    out.set(f.path, src);
  }
  return out;
}
