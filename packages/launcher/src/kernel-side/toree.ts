// Where the Scala kernel toolchain is for the tests: the venv scripts/toree-env.sh makes (Apache Toree 0.5.0 +
// pyspark 3.5.x, Scala 2.12), GP_TOREE_VENV (set by scripts/test.sh) or the repository's .venv-toree.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type JupyterKernelClient, repoRoot } from '@gp/testkit';

export interface ToreeToolchain {
  venv: string;
  sparkHome: string;
  assembly: string;
}

export function toreeToolchain(): ToreeToolchain {
  const venv = process.env.GP_TOREE_VENV ?? join(repoRoot, '.venv-toree');
  const lib = join(venv, 'lib');
  const python = existsSync(lib) ? readdirSync(lib).find((d) => d.startsWith('python3')) : undefined;
  const site = python ? join(lib, python, 'site-packages') : '';
  const sparkHome = join(site, 'pyspark');
  const toreeLib = join(site, 'toree', 'lib');
  const assembly = existsSync(toreeLib) ? readdirSync(toreeLib).find((f) => /^toree-assembly-.*\.jar$/.test(f)) : undefined;
  if (!python || !existsSync(join(sparkHome, 'bin', 'spark-submit')) || !assembly) {
    throw new Error(`The Scala kernel toolchain is missing from ${venv}: run 'bash scripts/toree-env.sh' (scripts/test.sh does).`);
  }
  return { venv, sparkHome, assembly: join(toreeLib, assembly) };
}

/** `Thread.sleep(60000)` after printing "sleeping": resolves `sleeping` once it runs. */
export function startSleepingScalaCell(client: JupyterKernelClient): { sleeping: Promise<void>; result: ReturnType<JupyterKernelClient['execute']> } {
  let started!: () => void;
  const sleeping = new Promise<void>((resolve) => (started = resolve));
  const result = client.execute('println("sleeping"); Thread.sleep(60000); "finished"', {
    timeoutMs: 90_000,
    onMessage: (m) => {
      if (m.header.msg_type === 'stream' && String((m.content as { text?: string }).text).includes('sleeping')) started();
    },
  });
  void result.then(started, started);
  return { sleeping, result };
}

let valueCounter = 0;

/**
 * Runs `code` as `val gpvN = { code }` and returns a result with its value. Toree 0.5 may publish `idle` before
 * the `execute_result` (its iopub messages are not ordered), so a result can miss the cell that made it; the value
 * is then read back by evaluating `gpvN` (at most 3 times: only the message order is retried, never the work).
 */
export async function scalaValue(client: JupyterKernelClient, code: string, timeoutMs = 120_000): ReturnType<JupyterKernelClient['execute']> {
  const name = `gpv${valueCounter++}`;
  let out = await client.execute(`val ${name} = { ${code} }`, { timeoutMs });
  for (let i = 0; i < 3 && out.status === 'ok' && out.result === undefined; i++) out = await client.execute(name, { timeoutMs });
  return out;
}
