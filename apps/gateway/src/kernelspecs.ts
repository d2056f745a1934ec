/**
 * The kernelspecs the gateway offers: `<dir>/<name>/kernel.json` in the configured directories, or in
 * Jupyter's data path (first directory wins for a name, as jupyter_client does). Read on each request,
 * so `k8s-spec install` while the gateway runs is picked up.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { GpError, jupyterDataDir, systemJupyterPaths } from '@gp/core';
import type { KernelSpecLike } from '@gp/launcher';

export interface KernelSpecEntry {
  name: string;
  /** The kernelspec's directory. */
  resourceDir: string;
  spec: KernelSpecLike & { display_name: string; language: string };
  /** Resource file names in the directory (logos, kernel.js, kernel.css). */
  resources: string[];
}

export class NotFoundError extends GpError {
  constructor(code: 'GP_NO_SUCH_KERNEL' | 'GP_NO_SUCH_KERNELSPEC' | 'GP_NO_SUCH_RESOURCE', message: string, details: Record<string, unknown>) {
    super(code, message, { httpStatus: 404, details });
  }
}

const RESOURCE_FILE = /^(logo-[^/]+\.(png|svg)|kernel\.js|kernel\.css)$/;
const NAME = /^[a-zA-Z0-9._-]+$/;

/** Jupyter's data path `kernels/` directories: JUPYTER_PATH, the user data dir, then the system dirs. */
export function defaultKernelspecDirs(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const fromEnv = (env.JUPYTER_PATH ?? '').split(delimiter).filter((d) => d !== '');
  return [...fromEnv, jupyterDataDir(env), ...systemJupyterPaths(env)].map((d) => join(d, 'kernels'));
}

export class KernelSpecCatalog {
  constructor(
    private readonly dirs: readonly string[],
    private readonly defaultName: string,
  ) {}

  list(): KernelSpecEntry[] {
    const found = new Map<string, KernelSpecEntry>();
    for (const dir of this.dirs) {
      if (!existsSync(dir)) continue;
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        if (found.has(name) || !NAME.test(name)) continue;
        const entry = this.read(dir, name);
        if (entry) found.set(name, entry);
      }
    }
    return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The default kernelspec's name: the configured one, else the first. */
  defaultKernelName(specs: KernelSpecEntry[] = this.list()): string {
    return this.defaultName || specs[0]?.name || '';
  }

  get(name: string): KernelSpecEntry {
    const entry = NAME.test(name) ? this.list().find((e) => e.name === name) : undefined;
    if (!entry) {
      throw new NotFoundError('GP_NO_SUCH_KERNELSPEC', `No such kernelspec: ${name}. Available: ${this.list().map((e) => e.name).join(', ') || '(none)'}.`, {
        name,
      });
    }
    return entry;
  }

  /** A resource file's bytes; 404 unless the file is one of the kernelspec's resources. */
  resource(name: string, file: string): { data: Buffer; contentType: string } {
    const entry = this.get(name);
    if (!entry.resources.includes(file)) {
      throw new NotFoundError('GP_NO_SUCH_RESOURCE', `Kernelspec ${name} has no resource ${file}.`, { name, file });
    }
    return { data: readFileSync(join(entry.resourceDir, file)), contentType: contentTypeOf(file) };
  }

  private read(dir: string, name: string): KernelSpecEntry | undefined {
    const resourceDir = join(dir, name);
    try {
      if (!statSync(resourceDir).isDirectory()) return undefined;
      const spec = JSON.parse(readFileSync(join(resourceDir, 'kernel.json'), 'utf8')) as KernelSpecEntry['spec'];
      if (!Array.isArray(spec.argv)) return undefined;
      const resources = readdirSync(resourceDir).filter((f) => RESOURCE_FILE.test(f)).sort();
      return { name, resourceDir, spec: { ...spec, display_name: spec.display_name ?? name, language: spec.language ?? '' }, resources };
    } catch {
      return undefined; // not a kernelspec (or unreadable): skip, as jupyter_client does
    }
  }
}

export function contentTypeOf(file: string): string {
  if (file.endsWith('.png')) return 'image/png';
  if (file.endsWith('.svg')) return 'image/svg+xml';
  if (file.endsWith('.js')) return 'application/javascript';
  if (file.endsWith('.css')) return 'text/css';
  return 'application/octet-stream';
}

/** The kernelspec model as Jupyter Server's /api/kernelspecs returns it. */
export function kernelspecModel(entry: KernelSpecEntry, baseUrl: string): Record<string, unknown> {
  const resources: Record<string, string> = {};
  for (const file of entry.resources) {
    const key = file.replace(/\.(png|svg|js|css)$/, '').replace(/^kernel$/, file);
    resources[key] = `${baseUrl}/kernelspecs/${encodeURIComponent(entry.name)}/${encodeURIComponent(file)}`;
  }
  return { name: entry.name, spec: entry.spec, resources };
}
