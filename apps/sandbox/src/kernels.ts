/**
 * Kernel images backed by this machine's interpreters (the process node runs an image as a local command), and
 * gp's kernelspecs for them, written by `k8s-spec install` into the sandbox's own Jupyter directory.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageSpec } from '@gp/testkit/host';
import { MissingToolError } from './errors.js';
import type { SandboxLanguage } from './options.js';

const execFileAsync = promisify(execFile);

export interface KernelOffer {
  language: SandboxLanguage;
  image: string;
  /** The kernelspec's name and display name, as `k8s-spec install` makes them. */
  specName: string;
  displayName: string;
}

const OFFERS: Record<SandboxLanguage, Omit<KernelOffer, 'language'>> = {
  python: { image: 'gp-sandbox/kernel-py:local', specName: 'k8s_python', displayName: 'Kubernetes Python' },
  r: { image: 'gp-sandbox/kernel-r:local', specName: 'k8s_r', displayName: 'Kubernetes R' },
};

/** The Python with JupyterLab and ipykernel: the option, else $GP_VENV's, else the checkout's .venv. */
export function resolvePython(option: string, repoRoot: string, env: Readonly<Record<string, string | undefined>>): string {
  const python = option || (env.GP_VENV ? join(env.GP_VENV, 'bin', 'python') : join(repoRoot, '.venv', 'bin', 'python'));
  if (!existsSync(python)) {
    throw new MissingToolError(
      'python',
      `No Python at ${python}: start the sandbox with ./gp-sandbox (it creates the project venv with scripts/python-env.sh), or point --python at a Python with jupyterlab and ipykernel installed.`,
    );
  }
  if (!existsSync(join(dirname(python), 'jupyter-lab'))) {
    throw new MissingToolError(
      'jupyterlab',
      `JupyterLab is not installed beside ${python} (no ${join(dirname(python), 'jupyter-lab')}): run 'bash scripts/python-env.sh' (./gp-sandbox does), or install jupyterlab and ipykernel into that environment.`,
    );
  }
  return python;
}

/** Whether R with the IRkernel package is on PATH. */
export function hasIRkernel(env: Readonly<Record<string, string | undefined>>): boolean {
  const probe = spawnSync('Rscript', ['-e', 'if (!requireNamespace("IRkernel", quietly = TRUE)) quit(status = 1)'], {
    stdio: 'ignore',
    env: env as NodeJS.ProcessEnv,
    timeout: 60_000,
  });
  return probe.status === 0;
}

/**
 * The kernels to offer. A language asked for explicitly must be available; by default R is left out (with a
 * note) when R or IRkernel is missing.
 */
export function chooseKernels(
  languages: readonly SandboxLanguage[],
  explicit: boolean,
  env: Readonly<Record<string, string | undefined>>,
  note: (line: string) => void,
): KernelOffer[] {
  const offers: KernelOffer[] = [];
  for (const language of languages) {
    if (language === 'r' && !hasIRkernel(env)) {
      const why = 'R with the IRkernel package is not installed (Debian: r-base-core r-cran-irkernel; scripts/debian-packages.sh as root installs them)';
      if (explicit) throw new MissingToolError('R', `--languages asks for r, but ${why}.`);
      note(`Kubernetes R is not offered: ${why}.`);
      continue;
    }
    offers.push({ language, ...OFFERS[language] });
  }
  return offers;
}

/** The image table entries: each image runs gp's kernel bootstrap script with the interpreters first on PATH. */
export function kernelImages(offers: readonly KernelOffer[], repoRoot: string, pythonBin: string, tmpDir: string, path: string): Record<string, ImageSpec> {
  const bootstrap = join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh');
  const images: Record<string, ImageSpec> = {};
  for (const offer of offers) {
    images[offer.image] = {
      command: ['bash', bootstrap],
      env: { PATH: `${pythonBin}:${path}`, PYTHONDONTWRITEBYTECODE: '1', TMPDIR: tmpDir },
    };
  }
  return images;
}

/** Runs the built `k8s-spec install` for each kernel into `<prefix>/share/jupyter/kernels`; returns that directory. */
export async function installKernelSpecs(
  offers: readonly KernelOffer[],
  options: { repoRoot: string; prefix: string; configDir: string; launchTimeout: number; env: Record<string, string> },
): Promise<string> {
  const cli = join(options.repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js');
  if (!existsSync(cli)) throw new MissingToolError('k8s-spec', `${cli} is not built: run ./gp-sandbox (it builds the workspace) or 'pnpm build'.`);
  for (const offer of offers) {
    await execFileAsync(
      process.execPath,
      [cli, 'install', '--prefix', options.prefix, `--language=${offer.language === 'r' ? 'R' : 'Python'}`, `--image-name=${offer.image}`, `--launch-timeout=${options.launchTimeout}`, '--log-level=WARN'],
      // Its own config dir: a jupyter_k8s_spec_config file of the machine must not change the sandbox's specs.
      { env: { ...options.env, JUPYTER_CONFIG_DIR: options.configDir } },
    );
  }
  return join(options.prefix, 'share', 'jupyter', 'kernels');
}
