/** Jupyter's data-directory rules (as jupyter_core computes them), for installing kernel specs. */
import { homedir } from 'node:os';
import { join } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The per-user Jupyter data directory: `JUPYTER_DATA_DIR`; else on Linux `$XDG_DATA_HOME/jupyter`
 * (default `~/.local/share/jupyter`), on macOS `~/Library/Jupyter`, on Windows `%APPDATA%\jupyter`.
 */
export function jupyterDataDir(env: Env = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (platform === 'darwin') return join(home, 'Library', 'Jupyter');
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'jupyter');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'jupyter');
}

/** Jupyter's system-wide data directories; the first is where system installs go. */
export function systemJupyterPaths(env: Env = process.env, platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'win32') return [join(env.PROGRAMDATA || 'C:\\ProgramData', 'jupyter')];
  return ['/usr/local/share/jupyter', '/usr/share/jupyter'];
}

/** `<prefix>/share/jupyter`: the data directory of an environment (`--prefix`, `--sys-prefix`). */
export function prefixJupyterPath(prefix: string): string {
  return join(prefix, 'share', 'jupyter');
}

export type KernelsDestination = { kind: 'system' } | { kind: 'user' } | { kind: 'prefix'; prefix: string };

/** The `kernels/` directory a kernel spec is installed into, by destination. */
export function kernelsDir(destination: KernelsDestination, env: Env = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  switch (destination.kind) {
    case 'user':
      return join(jupyterDataDir(env, platform, home), 'kernels');
    case 'prefix':
      return join(prefixJupyterPath(destination.prefix), 'kernels');
    case 'system':
      return join(systemJupyterPaths(env, platform)[0]!, 'kernels');
  }
}
