/**
 * Config files: JSON or YAML, flat (`port_range: 40000..41000`) or sectioned
 * (`{"BaseSpecApp": {"port_range": "40000..41000"}}`, the traitlets JSON layout).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { ConfigError, type ValueSource } from '../errors.js';

export const CONFIG_FILE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/**
 * What to do instead of a Python config file: gp does not execute traitlets' Python config (the reference
 * does), it reads the same settings from JSON or YAML.
 */
export const PYTHON_CONFIG_ADVICE =
  'a JSON or YAML config file (.json, .yaml, .yml): gp does not run Python config files; write the same settings as JSON, e.g. {"BaseSpecApp": {"port_range": "40000..41000"}}, or YAML';

/**
 * Reads and parses a config file (by extension: `.json`, `.yaml`, `.yml`). Throws `ConfigError` naming the
 * file for a missing file, an unknown extension or a syntax error. `via` says how the file was chosen.
 */
export async function loadConfigFile(path: string, via: ValueSource = { kind: 'flag', name: 'config' }): Promise<{ path: string; data: unknown }> {
  const ext = extname(path).toLowerCase();
  if (ext === '.py') {
    throw new ConfigError('config', via, path, PYTHON_CONFIG_ADVICE);
  }
  if (!(CONFIG_FILE_EXTENSIONS as readonly string[]).includes(ext)) {
    throw new ConfigError('config', via, path, 'a config file ending in .json, .yaml or .yml');
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError('config', via, path, `a readable config file (${code === 'ENOENT' ? 'no such file' : String(code ?? error)})`, {
      cause: error,
    });
  }
  const source: ValueSource = { kind: 'file', path };
  try {
    if (ext === '.json') return { path, data: text.trim() === '' ? {} : (JSON.parse(text) as unknown) };
    // YAML support is loaded only when a YAML file is used, to keep CLI startup fast.
    const mod = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
    // Bundlers may expose the CommonJS build only as `default`.
    const parse = typeof mod.parse === 'function' ? mod.parse : mod.default!.parse;
    return { path, data: (parse(text) as unknown) ?? {} };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new ConfigError('config', source, path, `valid ${ext === '.json' ? 'JSON' : 'YAML'} (${message})`, { cause: error });
  }
}

/** Jupyter's user config directory: `JUPYTER_CONFIG_DIR`, else `~/.jupyter`. */
export function jupyterConfigDir(env: Readonly<Record<string, string | undefined>> = process.env, home: string = homedir()): string {
  return env.JUPYTER_CONFIG_DIR || join(home, '.jupyter');
}

/**
 * The directories searched for a default config file, in Jupyter's order (`jupyter --paths`, config):
 * `JUPYTER_CONFIG_DIR` (or `~/.jupyter`), the entries of `JUPYTER_CONFIG_PATH`, the active Python
 * environment's `<prefix>/etc/jupyter` (`VIRTUAL_ENV`, else `CONDA_PREFIX`), then `/usr/local/etc/jupyter` and
 * `/etc/jupyter`. Duplicates are searched once.
 */
export function configSearchPath(env: Readonly<Record<string, string | undefined>> = process.env, home: string = homedir()): string[] {
  const dirs = [jupyterConfigDir(env, home)];
  for (const d of (env.JUPYTER_CONFIG_PATH ?? '').split(process.platform === 'win32' ? ';' : ':')) if (d) dirs.push(d);
  const prefix = env.VIRTUAL_ENV || env.CONDA_PREFIX;
  if (prefix) dirs.push(join(prefix, 'etc', 'jupyter'));
  if (process.platform !== 'win32') dirs.push('/usr/local/etc/jupyter', '/etc/jupyter');
  return [...new Set(dirs)];
}

/**
 * Python config files of program `baseName` (`<dir>/<baseName>.py`) along `configSearchPath`: the reference
 * reads them, gp does not, so callers say which ones they skipped.
 */
export function pythonConfigFiles(
  baseName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string[] {
  return configSearchPath(env, home)
    .map((dir) => join(dir, `${baseName}.py`))
    .filter((path) => existsSync(path));
}

/**
 * The default config file of program `baseName` (e.g. `jupyter_k8s_spec_config`): the first existing
 * `<dir>/<baseName>.{json,yaml,yml}` along `configSearchPath`, or undefined.
 */
export function findDefaultConfigFile(
  baseName: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  home: string = homedir(),
): string | undefined {
  for (const dir of configSearchPath(env, home)) {
    for (const ext of CONFIG_FILE_EXTENSIONS) {
      const path = join(dir, baseName + ext);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}
