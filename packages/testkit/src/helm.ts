/**
 * The upstream Helm CLI, built from its Go module (`packages/testkit/helm`, requiring helm.sh/helm/v4) into
 * the testkit's cache the way the control plane is: `${GP_TESTKIT_CACHE:-~/.cache/gp-testkit}/helm-<version>-
 * <hash>/helm`, content-keyed, one build at a time (lock file), progress lines on stderr. Tests of a Helm chart
 * call `ensureHelmBinary()` and run the real `helm lint` / `helm template`; nothing is downloaded but Go modules.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterBuildError, clusterCacheDir, ensureGoBinary, type BinaryOptions, type GoBinary } from './binary.js';
import { repoRoot } from './python.js';

/** The Go module whose `main` is Helm's root command. */
export const helmModuleDir: string = join(repoRoot, 'packages', 'testkit', 'helm');

export interface HelmBinary extends GoBinary {
  /** The helm.sh/helm/v4 release it is built from, e.g. `v4.3.2`. */
  helmVersion: string;
}

/** The helm.sh/helm/v4 version required by the module's go.mod. */
export function helmVersion(): string {
  const gomod = readFileSync(join(helmModuleDir, 'go.mod'), 'utf8');
  const m = /^\s*(?:require\s+)?helm\.sh\/helm\/v4\s+(v\S+)/m.exec(gomod);
  if (!m?.[1]) throw new ClusterBuildError(`${helmModuleDir}/go.mod does not require helm.sh/helm/v4`);
  return m[1];
}

/** Strip symbols and stamp the version, as Helm's Makefile does, so `helm version` reports it. */
export function helmLdflags(version: string = helmVersion()): string {
  return ['-s', '-w', `-X helm.sh/helm/v4/internal/version.version=${version}`, '-X helm.sh/helm/v4/internal/version.gitTreeState=clean'].join(' ');
}

/** Cache key: `helm-<version>-` plus a hash of go.mod, go.sum, the Go sources and the linker flags. */
export function helmBinaryKey(): string {
  const hash = createHash('sha256');
  hash.update(helmLdflags()).update('\0');
  const files = readdirSync(helmModuleDir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
  for (const f of files) hash.update(f).update('\0').update(readFileSync(join(helmModuleDir, f))).update('\0');
  return `helm-${helmVersion()}-${hash.digest('hex').slice(0, 12)}`;
}

/** Finds or builds the `helm` binary (a cold build compiles Helm and its k8s.io modules: minutes). */
export async function ensureHelmBinary(options: BinaryOptions = {}): Promise<HelmBinary> {
  const version = helmVersion();
  const built = await ensureGoBinary({ name: 'helm', moduleDir: helmModuleDir, key: helmBinaryKey(), ldflags: helmLdflags(version), what: `Helm ${version}` }, options);
  return { ...built, helmVersion: version };
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `helm <args>` with a private configuration (no user repositories or cache are read or written; no
 * kubeconfig unless `kubeconfig` is given) and collects its output. Never rejects for a non-zero exit: the caller asserts on `code`.
 */
export async function runHelm(
  args: readonly string[],
  options: BinaryOptions & { cwd?: string; input?: string; /** For commands that talk to a cluster (install...). */ kubeconfig?: string } = {},
): Promise<HelmResult> {
  const { path } = await ensureHelmBinary(options);
  const home = join(clusterCacheDir(options), 'helm-home');
  return new Promise((resolve, reject) => {
    const child = spawn(path, [...args], {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        // Helm's Kubernetes client keeps its discovery cache in $HOME/.kube: keep it in the cache too.
        HOME: home,
        HELM_CONFIG_HOME: join(home, 'config'),
        HELM_CACHE_HOME: join(home, 'cache'),
        HELM_DATA_HOME: join(home, 'data'),
        KUBECONFIG: options.kubeconfig ?? join(home, 'no-kubeconfig'),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
